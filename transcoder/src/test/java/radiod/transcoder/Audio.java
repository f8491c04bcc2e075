package radiod.transcoder;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import radiod.testkit.Icecast;
import radiod.testkit.Processes;
import radiod.testkit.encoder.Tone;

/** A broadcaster (ffmpeg playing a tone) and a listener (capture, ffprobe, loudness) for the transcoder tests. */
public final class Audio {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static final Pattern MAX_VOLUME = Pattern.compile("max_volume: (-?[0-9.]+|-inf) dB");

    private Audio() {
    }

    /** ffmpeg sending a 440 Hz tone, MP3 128 kbit/s, to a mount of an Icecast (PUT). */
    public static Process tone(Icecast icecast, String mount, String password) {
        return Tone.mp3(Tone.url("source", password, icecast.host(), icecast.port(), mount)).start();
    }

    /** What a listener receives: up to {@code bytes} bytes, or what arrived within {@code max}. */
    public static Path capture(Path dir, String url, int bytes, Duration max) {
        try {
            Path file = Files.createTempFile(dir, "capture", ".bin");
            HttpResponse<InputStream> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(3)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            long deadline = System.nanoTime() + max.toNanos();
            try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(file)) {
                if (r.statusCode() != 200) {
                    return file;
                }
                byte[] buf = new byte[8192];
                int total = 0;
                while (total < bytes && System.nanoTime() < deadline) {
                    int n = in.read(buf, 0, Math.min(buf.length, bytes - total));
                    if (n < 0) {
                        break;
                    }
                    out.write(buf, 0, n);
                    total += n;
                }
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** ffprobe's view of the first audio stream: codec_name, bit_rate, sample_rate, channels. */
    public static Map<String, String> probe(Path file) {
        String out = run("ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                "stream=codec_name,bit_rate,sample_rate,channels", "-of", "default=noprint_wrappers=1", file.toString());
        Map<String, String> m = new HashMap<>();
        out.lines().map(l -> l.split("=", 2)).filter(kv -> kv.length == 2).forEach(kv -> m.put(kv[0], kv[1]));
        return m;
    }

    /** The loudest sample of the decoded capture, in dBFS (-91 for digital silence); NaN if nothing decodes. */
    public static double maxVolume(Path file) {
        String out = run("ffmpeg", "-nostdin", "-hide_banner", "-i", file.toString(), "-af", "volumedetect", "-f", "null", "-");
        Matcher m = MAX_VOLUME.matcher(out);
        if (!m.find()) {
            return Double.NaN;
        }
        return m.group(1).equals("-inf") ? Double.NEGATIVE_INFINITY : Double.parseDouble(m.group(1));
    }

    private static String run(String... command) {
        return Processes.run(new ProcessBuilder(command).redirectErrorStream(true), Duration.ofSeconds(20)).text();
    }
}
