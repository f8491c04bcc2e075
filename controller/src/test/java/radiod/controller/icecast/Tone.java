package radiod.controller.icecast;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An encoder for tests: ffmpeg pushing a sine tone as 128 kbit/s MP3 to an Icecast mount (HTTP PUT). Like a
 * real encoder it reconnects when its connection fails or is refused (for example before Icecast has re-read a
 * config that adds the mount).
 */
final class Tone implements AutoCloseable {
    private final List<String> command;
    private final Thread loop;
    private volatile Process process;
    private volatile boolean closed;

    private Tone(List<String> command) {
        this.command = command;
        this.loop = new Thread(this::run, "tone");
        loop.setDaemon(true);
    }

    static Tone push(String host, int port, String mount, String user, String password, int hertz) {
        Tone t = new Tone(List.of("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
                "-f", "lavfi", "-i", "sine=f=" + hertz + ":r=44100", "-c:a", "libmp3lame", "-b:a", "128k",
                "-content_type", "audio/mpeg", "-f", "mp3",
                "icecast://" + user + ":" + password + "@" + host + ":" + port + mount));
        t.loop.start();
        return t;
    }

    private void run() {
        while (!closed) {
            try {
                Process p = new ProcessBuilder(command).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                process = p;
                if (closed) {
                    p.destroy();
                }
                p.waitFor();
                TimeUnit.MILLISECONDS.sleep(200);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start ffmpeg", e);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        loop.interrupt();
        Process p = process;
        if (p != null) {
            p.destroy();
            try {
                if (!p.waitFor(3, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
    }
}
