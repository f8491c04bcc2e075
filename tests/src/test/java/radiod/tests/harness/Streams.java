package radiod.tests.harness;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/** Encoders and listeners for tests: ffmpeg tone sources and MP3 frame checks. */
public final class Streams {
    private Streams() {
    }

    /** ffmpeg sending an endless 440 Hz tone as 128 kbit/s MP3 to an Icecast-compatible URL. */
    public static Process tone(String icecastUrl, boolean legacySource) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ffmpeg", "-nostdin", "-loglevel", "error", "-re",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                "-c:a", "libmp3lame", "-b:a", "128k", "-content_type", "audio/mpeg"));
        if (legacySource) {
            cmd.addAll(List.of("-legacy_icecast", "1"));
        }
        cmd.addAll(List.of("-f", "mp3", icecastUrl));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }

    /**
     * A plain ffmpeg sending the {@link MarkedAudio} programme, from the frame on air now, in real time and frame for
     * frame ({@code -c copy}), as 128 kbit/s MP3 to an Icecast URL; no Xing frame or ID3 tag in front of it.
     */
    public static List<String> programmeCommand(String icecastUrl) {
        List<String> cmd = new ArrayList<>(List.of("ffmpeg", "-nostdin", "-loglevel", "error"));
        cmd.addAll(MarkedAudio.get().ffmpegInput());
        cmd.addAll(List.of("-c:a", "copy", "-content_type", "audio/mpeg", "-write_xing", "0", "-id3v2_version", "0",
                "-f", "mp3", icecastUrl));
        return cmd;
    }

    /** Reads up to {@code bytes} of a stream; returns what came (possibly less on EOF or error). */
    public static byte[] read(String url, int bytes, int timeoutMillis) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
            c.setConnectTimeout(timeoutMillis);
            c.setReadTimeout(timeoutMillis);
            c.setInstanceFollowRedirects(true);
            if (c.getResponseCode() != 200) {
                return new byte[0];
            }
            try (InputStream in = c.getInputStream()) {
                return in.readNBytes(bytes);
            } finally {
                c.disconnect();
            }
        } catch (IOException e) {
            return new byte[0];
        }
    }

    /** Counts MPEG-1 Layer III frame headers that chain correctly (a header where the previous frame said one would be). */
    public static int mp3Frames(byte[] data) {
        int best = 0;
        for (int start = 0; start < Math.min(data.length - 4, 4096); start++) {
            int count = 0;
            int i = start;
            while (i + 4 <= data.length) {
                int len = frameLength(data, i);
                if (len <= 0) {
                    break;
                }
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

    private static final int[] BITRATES = {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0};
    private static final int[] RATES = {44100, 48000, 32000, 0};

    private static int frameLength(byte[] d, int i) {
        int b1 = d[i] & 0xff;
        int b2 = d[i + 1] & 0xff;
        int b3 = d[i + 2] & 0xff;
        if (b1 != 0xff || (b2 & 0xfe) != 0xfa) { // sync, MPEG-1, Layer III
            return -1;
        }
        int bitrate = BITRATES[b3 >> 4];
        int rate = RATES[(b3 >> 2) & 3];
        if (bitrate == 0 || rate == 0) {
            return -1;
        }
        int padding = (b3 >> 1) & 1;
        return 144_000 * bitrate / rate + padding;
    }

    public static boolean isMp3(byte[] data) {
        return mp3Frames(data) >= 5;
    }

    public static void stop(Process p) {
        if (p != null) {
            p.destroyForcibly();
        }
    }
}
