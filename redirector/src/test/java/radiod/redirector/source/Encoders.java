package radiod.redirector.source;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Real encoders (ffmpeg, ices2), real decoder checks (ffmpeg, ffprobe), and listeners that measure the gaps in what
 * they hear, for the source front's tests.
 */
public final class Encoders {
    private Encoders() {
    }

    /** ffmpeg sending an endless 128 kbit/s MP3 tone in real time; PUT, or SOURCE when legacy. */
    public static Process ffmpegTone(String icecastUrl, boolean legacy, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-ac", "2", "-c:a", "libmp3lame",
                "-b:a", "128k", "-content_type", "audio/mpeg"));
        if (legacy) {
            cmd.addAll(List.of("-legacy_icecast", "1"));
        }
        cmd.addAll(List.of("-f", "mp3", icecastUrl));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** {@code seconds} of a 128 kbit/s MP3 tone as ffmpeg writes it (an ID3v2 tag, then MPEG frames). */
    public static byte[] mp3(int seconds) throws Exception {
        Process p = new ProcessBuilder("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                "sine=frequency=440:sample_rate=44100:duration=" + seconds, "-ac", "2", "-c:a", "libmp3lame",
                "-b:a", "128k", "-f", "mp3", "-").redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0 || out.length < seconds * 15_000) {
            throw new IllegalStateException("ffmpeg could not make an MP3 (" + out.length + " bytes)");
        }
        return out;
    }

    /**
     * A {@code seconds}-long Ogg Vorbis file of pink noise (about 9 KB/s: a tone would be 3), for ices2's playlist,
     * in pages of 200 ms (ffmpeg's default is a
     * second a page, which ices2 sends as it plays: a listener would hear nothing for a second at every page).
     */
    public static Path oggTone(Path dir, int seconds) throws Exception {
        Path ogg = dir.resolve("tone.ogg");
        Process p = new ProcessBuilder("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                "anoisesrc=color=pink:amplitude=0.3:sample_rate=44100:duration=" + seconds, "-ac", "2", "-c:a", "libvorbis", "-q:a", "2",
                "-page_duration", "200000", ogg.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("ffmpeg could not make an Ogg Vorbis file: " + out);
        }
        return ogg;
    }

    /**
     * ices2 (libshout) playing an Ogg file to host:port/mount as user "source": once, as ices2 does not play the
     * same file twice in a row (it exits at the file's end), so the file must outlast the test.
     */
    public static Process ices2(Path dir, Path ogg, String host, int port, String mount, String password) throws IOException {
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

    /** ffprobe's "codec,decoded frames" for the bytes, e.g. {@code mp3,40}. */
    public static String probe(byte[] audio, Path dir) throws Exception {
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

    /** What {@code ffmpeg -v error -i - -f null -} prints decoding the bytes from its standard input: "" when clean. */
    public static String decodeErrors(byte[] audio, Path dir) throws Exception {
        Path file = Files.createTempFile(dir, "decode-", ".bin");
        Files.write(file, audio);
        Process p = new ProcessBuilder("ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", "-", "-f", "null", "-")
                .redirectInput(file.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "ffmpeg did not finish decoding";
        }
        Files.delete(file);
        return p.exitValue() == 0 ? out : "exit " + p.exitValue() + ": " + out;
    }

    /**
     * The whole units (MP3 frames, Ogg pages) in what a listener heard: where the first one starts (after the bytes
     * before it, as a listener joins mid-stream), where the last whole one ends (the capture was cut there), and
     * every place between where the bytes that follow a unit are not another one (a splice gone wrong).
     */
    public record Chain(int start, int end, int units, List<Integer> breaks) {
    }

    public static Chain chain(byte[] b, String codec) {
        boolean ogg = codec.equals("vorbis") || codec.equals("opus");
        int start = -1;
        for (int i = 0; i < b.length && start < 0; i++) {
            int n = unit(b, i, ogg);
            // A unit counts as the first one when the two after it are units too (no false sync in audio data).
            if (n > 0 && unit(b, i + n, ogg) > 0 && unit(b, i + n + unit(b, i + n, ogg), ogg) > 0) {
                start = i;
            }
        }
        if (start < 0) {
            return new Chain(-1, -1, 0, List.of());
        }
        List<Integer> breaks = new ArrayList<>();
        int at = start;
        int end = start;
        int units = 0;
        while (at < b.length) {
            int n = unit(b, at, ogg);
            if (n > 0 && at + n <= b.length) {
                at += n;
                end = at;
                units++;
                continue;
            }
            if (n > 0 || n == 0) {
                break; // the capture ends inside this unit (or inside its header)
            }
            breaks.add(at);
            int next = at + 1;
            while (next < b.length && unit(b, next, ogg) < 0) {
                next++;
            }
            at = next;
        }
        return new Chain(start, end, units, List.copyOf(breaks));
    }

    private static final int[][] MP3_KBPS = {
        {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}, // MPEG-1 layer III
        {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}, // MPEG-2/2.5 layer III
    };
    private static final int[][] MP3_RATES = {{11025, 12000, 8000}, null, {22050, 24000, 16000}, {44100, 48000, 32000}};

    /** The length of the MP3 (layer III) frame or Ogg page at i; 0 when the bytes end inside its header; -1 if none. */
    private static int unit(byte[] b, int i, boolean ogg) {
        if (ogg) {
            if (i + 27 > b.length) {
                return i + 4 <= b.length && !(b[i] == 'O' && b[i + 1] == 'g' && b[i + 2] == 'g' && b[i + 3] == 'S') ? -1 : 0;
            }
            if (!(b[i] == 'O' && b[i + 1] == 'g' && b[i + 2] == 'g' && b[i + 3] == 'S' && b[i + 4] == 0)) {
                return -1;
            }
            int segments = b[i + 26] & 0xFF;
            if (i + 27 + segments > b.length) {
                return 0;
            }
            int body = 0;
            for (int k = 0; k < segments; k++) {
                body += b[i + 27 + k] & 0xFF;
            }
            return 27 + segments + body;
        }
        if (i + 4 > b.length) {
            return i < b.length && (b[i] & 0xFF) != 0xFF ? -1 : 0;
        }
        int b1 = b[i + 1] & 0xFF;
        int b2 = b[i + 2] & 0xFF;
        int version = (b1 >> 3) & 3;
        int kbpsIndex = b2 >> 4;
        int rateIndex = (b2 >> 2) & 3;
        if ((b[i] & 0xFF) != 0xFF || (b1 & 0xE0) != 0xE0 || version == 1 || ((b1 >> 1) & 3) != 1
                || kbpsIndex == 0 || kbpsIndex == 15 || rateIndex == 3) {
            return -1;
        }
        int bitrate = MP3_KBPS[version == 3 ? 0 : 1][kbpsIndex] * 1000;
        int rate = MP3_RATES[version][rateIndex];
        return (version == 3 ? 144 : 72) * bitrate / rate + ((b2 >> 1) & 1);
    }

    public static void stop(Process p) throws InterruptedException {
        if (p != null) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** The longest gap in a list of arrival times (nanoTime), in ms, from the first arrival on. */
    public static long longestGapMillis(List<Long> arrivals) {
        long longest = 0;
        for (int i = 1; i < arrivals.size(); i++) {
            longest = Math.max(longest, arrivals.get(i) - arrivals.get(i - 1));
        }
        return TimeUnit.NANOSECONDS.toMillis(longest);
    }

    /**
     * A listener of an Icecast mount on its own thread: keeps every byte of the body and when each read returned,
     * so that the longest pause in the stream can be measured and what it heard decoded.
     */
    public static final class Listener implements AutoCloseable {
        private final Socket socket;
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private final List<Long> arrivals = new CopyOnWriteArrayList<>();
        private final Thread thread;
        private volatile String status;
        private volatile boolean ended;
        private volatile boolean stopping;

        /** Connects and reads the answer's status line and head at once (fails if it is not 200). */
        public Listener(String url) throws IOException {
            URI u = URI.create(url);
            socket = new Socket(u.getHost(), u.getPort());
            socket.setSoTimeout(15_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + u.getRawPath() + " HTTP/1.0\r\nHost: " + u.getHost() + ":" + u.getPort()
                    + "\r\nUser-Agent: radiod-test\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int c = in.read();
                if (c < 0) {
                    socket.close();
                    throw new IOException(url + " closed before its answer's head ended: " + head);
                }
                head.append((char) c);
            }
            status = head.substring(0, head.indexOf("\r\n"));
            if (!status.matches("HTTP/1\\.[01] 200.*")) {
                socket.close();
                throw new IOException(url + " answered " + status);
            }
            thread = new Thread(this::read, "listener " + url);
            thread.setDaemon(true);
            thread.start();
        }

        private void read() {
            byte[] buf = new byte[16 * 1024];
            try {
                InputStream in = socket.getInputStream();
                int n;
                while ((n = in.read(buf)) >= 0) {
                    arrivals.add(System.nanoTime());
                    synchronized (body) {
                        body.write(buf, 0, n);
                    }
                }
            } catch (IOException e) {
                // closed by close(), or a read timeout (which the gap shows)
            }
            if (!stopping) {
                arrivals.add(System.nanoTime()); // the time it ended counts as a gap, too
                ended = true;
            }
        }

        public byte[] bytes() {
            synchronized (body) {
                return body.toByteArray();
            }
        }

        public int size() {
            synchronized (body) {
                return body.size();
            }
        }

        /** Whether Icecast ended the stream (or the read timed out) before {@link #close}. */
        public boolean ended() {
            return ended;
        }

        public long longestGapMillis() {
            return Encoders.longestGapMillis(List.copyOf(arrivals));
        }

        @Override
        public void close() throws Exception {
            stopping = true;
            socket.close();
            thread.join(5000);
        }
    }

    /** Samples conditions on its own thread until closed, and remembers each sample that was false. */
    public static final class Sampler implements AutoCloseable {
        private final Thread thread;
        private final List<String> misses = new CopyOnWriteArrayList<>();
        private volatile int samples;
        private volatile boolean stop;

        /** @param checks a name for each condition, and the condition (exceptions count as false) */
        public Sampler(long everyMillis, List<java.util.Map.Entry<String, BooleanSupplier>> checks) {
            long started = System.nanoTime();
            thread = new Thread(() -> {
                while (!stop) {
                    for (var c : checks) {
                        boolean ok;
                        try {
                            ok = c.getValue().getAsBoolean();
                        } catch (RuntimeException e) {
                            ok = false;
                        }
                        if (!ok) {
                            misses.add(c.getKey() + " at +" + (System.nanoTime() - started) / 1_000_000 + " ms");
                        }
                    }
                    samples++;
                    try {
                        Thread.sleep(everyMillis);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "sampler");
            thread.setDaemon(true);
            thread.start();
        }

        public List<String> misses() {
            return List.copyOf(misses);
        }

        public int samples() {
            return samples;
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            thread.join(5000);
        }
    }
}
