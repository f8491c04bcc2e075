package radiod.tests.harness;

import java.util.Arrays;

import radiod.testkit.audio.Mp3Frames;

/**
 * Cuts a byte stream, fed as it arrives, into MPEG Layer III frames ({@link Mp3Frames}). It locks on where two headers chain (a
 * header where the previous frame said the next one would be), hands out every whole frame from there, and locks on
 * again after anything that breaks the chain (a frame cut short by a splice, bytes that are not MP3).
 */
public final class FrameReader {
    /** Receives each whole frame: {@code data[offset, offset + length)}, valid only during the call. */
    public interface Sink {
        void frame(byte[] data, int offset, int length);
    }

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

    private static int frameLength(byte[] d, int i, int end) {
        return i + 4 > end ? -1 : Mp3Frames.length(d, i, end);
    }
}
