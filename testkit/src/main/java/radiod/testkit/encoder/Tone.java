package radiod.testkit.encoder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import radiod.testkit.Processes;

/**
 * A broadcaster's encoder for tests: ffmpeg playing an endless sine tone in real time, 44.1 kHz stereo at
 * 128 kbit/s, to an Icecast-compatible URL ({@code icecast://user:password@host:port/mount}). It connects once and
 * exits when its connection ends or is refused; {@link RetryingEncoder} reconnects as a real encoder would.
 *
 * @param url          where ffmpeg sends the stream
 * @param hertz        the tone's frequency
 * @param vorbis       Ogg Vorbis instead of MP3
 * @param sourceMethod the pre-2.4 {@code SOURCE} method instead of {@code PUT}
 * @param overTls      the connection is TLS ({@code -tls 1})
 */
public record Tone(String url, int hertz, boolean vorbis, boolean sourceMethod, boolean overTls) {

    /** A 440 Hz MP3 tone sent with PUT. */
    public static Tone mp3(String url) {
        return new Tone(url, 440, false, false, false);
    }

    /** A 440 Hz Ogg Vorbis tone sent with PUT. */
    public static Tone vorbis(String url) {
        return new Tone(url, 440, true, false, false);
    }

    /** The URL ffmpeg takes for a mount of an Icecast-compatible server. */
    public static String url(String user, String password, String host, int port, String mount) {
        return "icecast://" + user + ":" + password + "@" + host + ":" + port + mount;
    }

    /** The same tone at another frequency. */
    public Tone hertz(int hertz) {
        return new Tone(url, hertz, vorbis, sourceMethod, overTls);
    }

    /** The same tone sent with the pre-2.4 {@code SOURCE} method, as older encoders do. */
    public Tone legacySource() {
        return new Tone(url, hertz, vorbis, true, overTls);
    }

    /** The same tone over TLS. */
    public Tone tls() {
        return new Tone(url, hertz, vorbis, sourceMethod, true);
    }

    /** The ffmpeg command line. */
    public List<String> command() {
        List<String> cmd = new ArrayList<>(List.of("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re",
                "-f", "lavfi", "-i", "sine=frequency=" + hertz + ":sample_rate=44100", "-ac", "2",
                "-c:a", vorbis ? "libvorbis" : "libmp3lame", "-b:a", "128k",
                "-content_type", vorbis ? "application/ogg" : "audio/mpeg"));
        if (sourceMethod) {
            cmd.addAll(List.of("-legacy_icecast", "1"));
        }
        if (overTls) {
            cmd.addAll(List.of("-tls", "1"));
        }
        cmd.addAll(List.of("-f", vorbis ? "ogg" : "mp3", url));
        return cmd;
    }

    /** Starts ffmpeg, its output discarded. */
    public Process start() {
        return start(ProcessBuilder.Redirect.DISCARD);
    }

    /** Starts ffmpeg, its output appended to {@code log}. */
    public Process start(Path log) {
        return start(ProcessBuilder.Redirect.appendTo(log.toFile()));
    }

    private Process start(ProcessBuilder.Redirect output) {
        try {
            return new ProcessBuilder(command()).redirectErrorStream(true).redirectOutput(output).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start ffmpeg", e);
        }
    }

    /** {@code seconds} of a 440 Hz 128 kbit/s MP3 tone as ffmpeg writes a file (an ID3v2 tag, then MPEG frames). */
    public static byte[] mp3Bytes(int seconds) {
        Processes.Run r = Processes.run(new ProcessBuilder("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                "sine=frequency=440:sample_rate=44100:duration=" + seconds, "-ac", "2", "-c:a", "libmp3lame",
                "-b:a", "128k", "-f", "mp3", "-").redirectError(ProcessBuilder.Redirect.DISCARD), Duration.ofSeconds(30));
        if (r.exit() != 0 || r.out().length < seconds * 15_000) {
            throw new IllegalStateException("ffmpeg could not make an MP3 (" + r.out().length + " bytes)");
        }
        return r.out();
    }
}
