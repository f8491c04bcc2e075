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

    /**
     * Reads up to {@code bytes} of a stream; returns what came (possibly less on EOF or error). A mount's URL follows
     * the redirect; a node's own {@code /_stream/} does not ({@link #ownStream}).
     */
    public static byte[] read(String url, int bytes, int timeoutMillis) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
            c.setConnectTimeout(timeoutMillis);
            c.setReadTimeout(timeoutMillis);
            c.setInstanceFollowRedirects(!ownStream(url));
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

    /**
     * Whether {@code url} is a node's own stream ({@code /_stream/}): the tests that read one ask whether that node
     * serves the mount, and a node that cannot sends the player on with a 302, which is then not that node's audio.
     */
    static boolean ownStream(String url) {
        return url.contains("/_stream/");
    }

    /**
     * Listens as a player would: whether the stream answers {@code 200} and brings {@code frames} chained MP3 frames
     * within {@code timeoutMillis}, judged as each read arrives (not after a fixed number of bytes, which a live
     * stream fills only in real time).
     */
    public static boolean heard(String url, int frames, int timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        HttpURLConnection c = null;
        try {
            c = (HttpURLConnection) URI.create(url).toURL().openConnection();
            c.setConnectTimeout(timeoutMillis);
            c.setReadTimeout(timeoutMillis);
            c.setInstanceFollowRedirects(!ownStream(url));
            if (c.getResponseCode() != 200) {
                return false;
            }
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            try (InputStream in = c.getInputStream()) {
                int n;
                while (System.nanoTime() < deadline && (n = in.read(buf)) > 0) {
                    got.write(buf, 0, n);
                    if (radiod.testkit.audio.Mp3Frames.chained(got.toByteArray()) >= frames) {
                        return true;
                    }
                }
            }
            return false;
        } catch (IOException e) {
            return false;
        } finally {
            if (c != null) {
                c.disconnect();
            }
        }
    }

    public static void stop(Process p) {
        if (p != null) {
            p.destroyForcibly();
        }
    }
}
