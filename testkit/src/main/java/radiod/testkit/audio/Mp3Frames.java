package radiod.testkit.audio;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * MPEG audio Layer III frames (MPEG-1, 2 and 2.5) in a byte stream: a header's frame length, how many frames chain
 * (each header where the previous frame said the next would be), and a file cut into its frames.
 */
public final class Mp3Frames {
    private static final int[][] KBPS = {
        {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}, // MPEG-1 layer III
        {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}, // MPEG-2/2.5 layer III
    };
    private static final int[][] RATES = {{11025, 12000, 8000}, null, {22050, 24000, 16000}, {44100, 48000, 32000}};

    private Mp3Frames() {
    }

    /**
     * The length of the frame whose header starts at {@code i} in {@code b[0, end)}: 0 when {@code end} cuts the
     * header short and the bytes there could still begin one, -1 when there is no Layer III header at {@code i}.
     */
    public static int length(byte[] b, int i, int end) {
        if (i + 4 > end) {
            return i < end && (b[i] & 0xFF) != 0xFF ? -1 : 0;
        }
        int b1 = b[i + 1] & 0xFF;
        int b2 = b[i + 2] & 0xFF;
        int version = (b1 >> 3) & 3;
        int kbpsIndex = b2 >> 4;
        int rateIndex = (b2 >> 2) & 3;
        if ((b[i] & 0xFF) != 0xFF || (b1 & 0xE0) != 0xE0 || version == 1 || ((b1 >> 1) & 3) != 1
                || kbpsIndex == 0 || kbpsIndex == 15 || rateIndex == 3) {
            return -1;
        }
        int bitrate = KBPS[version == 3 ? 0 : 1][kbpsIndex] * 1000;
        int rate = RATES[version][rateIndex];
        return (version == 3 ? 144 : 72) * bitrate / rate + ((b2 >> 1) & 1);
    }

    /** The longest chain of whole frames that starts in the first 4 KB (capped a little over 10 once found). */
    public static int chained(byte[] data) {
        int best = 0;
        for (int start = 0; start < Math.min(data.length - 4, 4096); start++) {
            int count = 0;
            int i = start;
            int len;
            while ((len = length(data, i, data.length)) > 0) {
                count++;
                i += len;
            }
            best = Math.max(best, count);
            if (best > 10) {
                break;
            }
        }
        return best;
    }

    /** Whether the bytes hold at least five chained MP3 frames. */
    public static boolean isMp3(byte[] data) {
        return chained(data) >= 5;
    }

    /** A whole file's frames, which must chain from its first byte to its last. */
    public static List<byte[]> split(byte[] data) {
        List<byte[]> frames = new ArrayList<>();
        int i = 0;
        while (i < data.length) {
            int len = length(data, i, data.length);
            if (len <= 0 || i + len > data.length) {
                throw new IllegalStateException("not a chain of MP3 frames at byte " + i);
            }
            frames.add(Arrays.copyOfRange(data, i, i + len));
            i += len;
        }
        return frames;
    }
}
