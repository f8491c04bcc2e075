package radiod.tests.harness;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Cuts a byte stream, fed as it arrives, into MPEG-1 Layer III frames. It locks on where two headers chain (a
 * header where the previous frame said the next one would be), hands out every whole frame from there, and locks on
 * again after anything that breaks the chain (a frame cut short by a splice, bytes that are not MP3).
 */
public final class FrameReader {
    /** Receives each whole frame: {@code data[offset, offset + length)}, valid only during the call. */
    public interface Sink {
        void frame(byte[] data, int offset, int length);
    }

    private static final int[] BITRATES = {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0};
    private static final int[] RATES = {44100, 48000, 32000, 0};
    private final Sink sink;
    private byte[] buf = new byte[16384];
    private int fill;
    private boolean locked;
    private long breaks;

    public FrameReader(Sink sink) {
        this.sink = sink;
    }

    /** Times the chain broke after it had locked on (each is a cut frame or foreign bytes in the stream). */
    public long breaks() {
        return breaks;
    }

    public void feed(byte[] data, int offset, int length) {
        if (fill + length > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, fill + length));
        }
        System.arraycopy(data, offset, buf, fill, length);
        fill += length;
        int pos = 0;
        while (true) {
            if (!locked) {
                int start = findChain(pos);
                if (start < 0) {
                    pos = Math.max(pos, fill - 2 * 1500); // keep enough to find a chain once more arrives
                    break;
                }
                pos = start;
                locked = true;
            }
            int len = frameLength(buf, pos, fill);
            if (len < 0) {
                locked = false;
                breaks++;
                pos++;
                continue;
            }
            if (pos + len + 4 > fill) {
                break; // wait for the frame and the next header, which confirms this frame is whole
            }
            if (frameLength(buf, pos + len, fill) < 0) {
                locked = false;
                breaks++;
                pos++;
                continue;
            }
            sink.frame(buf, pos, len);
            pos += len;
        }
        System.arraycopy(buf, pos, buf, 0, fill - pos);
        fill -= pos;
    }

    /** The first position at or after {@code from} where a frame header is followed by another one; -1 if none yet. */
    private int findChain(int from) {
        for (int i = Math.max(from, 0); i + 4 <= fill; i++) {
            int len = frameLength(buf, i, fill);
            if (len > 0) {
                if (i + len + 4 > fill) {
                    return -1;
                }
                if (frameLength(buf, i + len, fill) > 0) {
                    return i;
                }
            }
        }
        return -1;
    }

    /** Length of the frame whose header is at {@code i}, or -1 when there is no MPEG-1 Layer III header there. */
    static int frameLength(byte[] d, int i, int end) {
        if (i + 4 > end) {
            return -1;
        }
        int b1 = d[i] & 0xff;
        int b2 = d[i + 1] & 0xff;
        int b3 = d[i + 2] & 0xff;
        if (b1 != 0xff || (b2 & 0xfe) != 0xfa) {
            return -1;
        }
        int bitrate = BITRATES[b3 >> 4];
        int rate = RATES[(b3 >> 2) & 3];
        if (bitrate == 0 || rate == 0) {
            return -1;
        }
        return 144_000 * bitrate / rate + ((b3 >> 1) & 1);
    }

    /** A whole file's frames, which must chain from its first byte to its last. */
    static List<byte[]> split(byte[] data) {
        List<byte[]> frames = new ArrayList<>();
        int i = 0;
        while (i < data.length) {
            int len = frameLength(data, i, data.length);
            if (len < 0 || i + len > data.length) {
                throw new IllegalStateException("not a chain of MP3 frames at byte " + i);
            }
            frames.add(Arrays.copyOfRange(data, i, i + len));
            i += len;
        }
        return frames;
    }
}
