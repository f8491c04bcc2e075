package radiod.redirector.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import radiod.testkit.encoder.Tone;

/** Real encoders feeding an Icecast, and real decoders judging what a listener got (ffmpeg, ffprobe, mpg123). */
final class Audio {
    private Audio() {
    }

    /** ffmpeg sending a 440 Hz tone as 128 kbit/s MP3 in real time to the Icecast on 127.0.0.1:port. */
    static Process mp3(Path dir, int port, String mount, String password) {
        return Tone.mp3(Tone.url("source", password, "127.0.0.1", port, mount)).start(log(dir, mount));
    }

    /** The same as Ogg Vorbis (about 128 kbit/s). */
    static Process vorbis(Path dir, int port, String mount, String password) {
        return Tone.vorbis(Tone.url("source", password, "127.0.0.1", port, mount)).start(log(dir, mount));
    }

    private static Path log(Path dir, String mount) {
        return dir.resolve(mount.substring(1).replace('/', '_') + ".log");
    }

    static void assertAlive(List<Process> encoders, Path dir) throws IOException {
        for (Process p : encoders) {
            if (!p.isAlive()) {
                StringBuilder logs = new StringBuilder();
                try (java.util.stream.Stream<Path> files = Files.list(dir)) {
                    for (Path f : files.filter(f -> f.toString().endsWith(".log")).toList()) {
                        logs.append(f.getFileName()).append(": ").append(Files.readString(f)).append('\n');
                    }
                }
                throw new AssertionError("an encoder exited: " + logs);
            }
        }
    }

    /** ffmpeg decodes all of {@code audio} (a listener's body from its first byte) without a single error. */
    static void assertDecodes(Path dir, byte[] audio, String format) throws Exception {
        Path file = Files.createTempFile(dir, "heard-", "." + format);
        Files.write(file, audio);
        Process p = new ProcessBuilder("ffmpeg", "-nostdin", "-v", "error", "-i", file.toString(), "-f", "null", "-")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertEquals("", out, "decoding errors in " + audio.length + " bytes of " + format);
        Process probe = new ProcessBuilder("ffprobe", "-v", "error", "-count_frames", "-select_streams", "a:0",
                "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", file.toString()).redirectErrorStream(true).start();
        String frames = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        probe.waitFor(30, TimeUnit.SECONDS);
        assertTrue(Integer.parseInt(frames) >= 10, "frames decoded: " + frames);
        Files.delete(file);
    }

    /** ffmpeg plays {@code seconds} of the stream at url as a player would, and reports no error. */
    static void assertPlays(String url, int seconds) throws Exception {
        Process p = new ProcessBuilder("ffmpeg", "-nostdin", "-v", "error", "-rw_timeout", "5000000", "-i", url,
                "-t", Integer.toString(seconds), "-f", "null", "-").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(seconds + 30L, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertEquals("", out, "ffmpeg playing " + url);
    }

    /** mpg123 decodes {@code frames} MP3 frames of the stream at url (no output device) without an error. */
    static void assertMpg123Plays(String url, int frames) throws Exception {
        Process p = new ProcessBuilder("mpg123", "-q", "-t", "-n", Integer.toString(frames), url)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertEquals("", out, "mpg123 playing " + url);
    }

    static void delete(Path dir) throws IOException {
        if (dir == null) {
            return;
        }
        try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
