package radiod.controller.icecast;

/** Recognizes MPEG audio: a run of frames, each header's length leading exactly to the next frame sync. */
final class Mp3 {
    private static final int[] MPEG1_L3_KBPS = {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0};
    private static final int[] MPEG1_RATES = {44100, 48000, 32000, 0};

    private Mp3() {
    }

    /** Whether {@code data} holds at least {@code count} consecutive MPEG-1 Layer III frames. */
    static boolean hasFrames(byte[] data, int count) {
        for (int start = 0; start + 4 <= data.length; start++) {
            int at = start;
            int frames = 0;
            int length;
            while ((length = frameLength(data, at)) > 0) {
                frames++;
                if (frames >= count) {
                    return true;
                }
                at += length;
            }
        }
        return false;
    }

    /** The frame length of an MPEG-1 Layer III header at {@code at}, 0 if there is none. */
    static int frameLength(byte[] d, int at) {
        if (at + 4 > d.length) {
            return 0;
        }
        int b1 = d[at] & 0xFF;
        int b2 = d[at + 1] & 0xFF;
        int b3 = d[at + 2] & 0xFF;
        // 11 sync bits, MPEG-1 (11), Layer III (01)
        if (b1 != 0xFF || (b2 & 0xFE) != 0xFA) {
            return 0;
        }
        int kbps = MPEG1_L3_KBPS[b3 >> 4];
        int rate = MPEG1_RATES[(b3 >> 2) & 3];
        if (kbps == 0 || rate == 0) {
            return 0;
        }
        return 144_000 * kbps / rate + ((b3 >> 1) & 1);
    }
}
