package radiod.redirector.source;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Real encoders (ffmpeg, ices2) and a real decoder check (ffprobe) for the source front's integration tests. */
final class Encoders {
    private Encoders() {
    }

    /** ffmpeg sending an endless 128 kbit/s MP3 tone in real time; PUT, or SOURCE when legacy. */
    static Process ffmpegTone(String icecastUrl, boolean legacy, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-ac", "2", "-c:a", "libmp3lame",
                "-b:a", "128k", "-content_type", "audio/mpeg"));
        if (legacy) {
            cmd.addAll(List.of("-legacy_icecast", "1"));
        }
        cmd.addAll(List.of("-f", "mp3", icecastUrl));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** A short Ogg Vorbis tone file, for ices2's playlist. */
    static Path oggTone(Path dir) throws Exception {
        Path ogg = dir.resolve("tone.ogg");
        Process p = new ProcessBuilder("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                "sine=frequency=330:sample_rate=44100:duration=10", "-ac", "2", "-c:a", "libvorbis", "-q:a", "2",
                ogg.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("ffmpeg could not make an Ogg Vorbis file: " + out);
        }
        return ogg;
    }

    /** ices2 (libshout) looping an Ogg file to host:port/mount as user "source". */
    static Process ices2(Path dir, Path ogg, String host, int port, String mount, String password) throws IOException {
        Files.writeString(dir.resolve("playlist.txt"), ogg + "\n");
        Files.writeString(dir.resolve("ices.xml"), """
                <?xml version="1.0"?>
                <ices>
                  <background>0</background>
                  <logpath>%s</logpath><logfile>ices.log</logfile><loglevel>3</loglevel><consolelog>0</consolelog>
                  <stream>
                    <metadata><name>radiod test</name></metadata>
                    <input>
                      <module>playlist</module>
                      <param name="type">basic</param>
                      <param name="file">%s</param>
                      <param name="random">0</param>
                      <param name="once">0</param>
                    </input>
                    <instance>
                      <hostname>%s</hostname><port>%d</port>
                      <password>%s</password><mount>%s</mount>
                      <reconnectdelay>1</reconnectdelay><reconnectattempts>5</reconnectattempts>
                    </instance>
                  </stream>
                </ices>
                """.formatted(dir, dir.resolve("playlist.txt"), host, port, password, mount));
        return new ProcessBuilder("ices2", dir.resolve("ices.xml").toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("ices.out").toFile()).start();
    }

    /** The first {@code n} bytes a listener of {@code url} gets. */
    static byte[] listen(String url, int n) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).build();
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) {
            throw new IllegalStateException(url + " answered " + r.statusCode());
        }
        try (InputStream in = r.body()) {
            return in.readNBytes(n);
        }
    }

    /** ffprobe's "codec,decoded frames" for the bytes, e.g. {@code mp3,40}. */
    static String probe(byte[] audio, Path dir) throws Exception {
        Path file = Files.createTempFile(dir, "heard-", ".bin");
        Files.write(file, audio);
        Process p = new ProcessBuilder("ffprobe", "-v", "error", "-count_frames", "-select_streams", "a:0",
                "-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0", file.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        p.waitFor(20, TimeUnit.SECONDS);
        // Decoder warnings (a stream joined mid-frame) may come first; the answer is the last line.
        return out.substring(out.lastIndexOf('\n') + 1);
    }

    static void stop(Process p) throws InterruptedException {
        if (p != null) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
