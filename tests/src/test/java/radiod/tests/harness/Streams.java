package radiod.tests.harness;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/** The failure suite's programme encoder command, and reading the first bytes of a stream as a player would. */
public final class Streams {
    private Streams() {
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

    public static void stop(Process p) {
        if (p != null) {
            p.destroyForcibly();
        }
    }
}
