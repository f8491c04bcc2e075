package radiod.testkit.encoder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import radiod.testkit.Processes;

/** ices2 (libshout, the SOURCE method) playing an Ogg Vorbis file to a mount, as a station's playlist encoder does. */
public final class Ices2 {
    private Ices2() {
    }

    /**
     * A {@code seconds}-long Ogg Vorbis file of pink noise (about 9 KB/s: a tone would be 3) in {@code dir}, in pages
     * of 200 ms (ffmpeg's default is a second a page, which ices2 sends as it plays: a listener would hear nothing
     * for a second at every page).
     */
    public static Path oggFile(Path dir, int seconds) {
        Path ogg = dir.resolve("noise.ogg");
        Processes.Run r = Processes.run(new ProcessBuilder("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
                "-i", "anoisesrc=color=pink:amplitude=0.3:sample_rate=44100:duration=" + seconds, "-ac", "2",
                "-c:a", "libvorbis", "-q:a", "2", "-page_duration", "200000", ogg.toString()).redirectErrorStream(true),
                Duration.ofSeconds(60));
        if (r.exit() != 0) {
            throw new IllegalStateException("ffmpeg could not make an Ogg Vorbis file: " + r.text());
        }
        return ogg;
    }

    /**
     * Starts ices2 playing {@code ogg} to host:port/mount as user "source", its config, playlist and logs in
     * {@code dir}. It plays the file once (ices2 does not play the same file twice in a row: it exits at the file's
     * end), so the file must outlast the test; it reconnects once a second, five times.
     */
    public static Process play(Path dir, Path ogg, String host, int port, String mount, String password) {
        try {
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
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start ices2", e);
        }
    }
}
