package radiod.redirector.stream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import radiod.testkit.Icecast;

/**
 * Listeners through the passthrough proxy to a real Icecast 2.4 fed by ffmpeg: decodable MP3, inline ICY
 * metadata, an HTTP/1.0 listener streaming for ten seconds, a listener that stops reading (the proxy stops
 * reading upstream instead of buffering), and a listener leaving (Icecast loses that listener).
 */
class PassthroughIT {
    static final String HOST = "127.0.0.1";
    static final String MOUNT = "/live.mp3";
    static final String TITLE = "radiod test tone";

    static Path dir;
    static Icecast icecast;
    static Process encoder;
    static Vertx vertx;
    static SimpleMeterRegistry registry = new SimpleMeterRegistry();
    static Passthrough passthrough;
    static HttpServer server;
    /** HTTP/1.1 like a player: the JDK client would otherwise upgrade to h2c, which Vert.x accepts. */
    static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("radiod-passthrough-it-");
        icecast = Icecast.start(HOST, List.of(new Icecast.Source(MOUNT, "source", "pw-live")));
        encoder = new ProcessBuilder("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re", "-f", "lavfi",
                "-i", "sine=frequency=440:sample_rate=44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k",
                "-content_type", "audio/mpeg", "-f", "mp3", "icecast://source:pw-live@" + HOST + ":" + icecast.port() + MOUNT)
                .redirectErrorStream(true).redirectOutput(dir.resolve("ffmpeg.log").toFile()).start();
        vertx = Vertx.vertx();
        passthrough = new Passthrough(vertx, registry, 1000);
        // A fixed, small socket send buffer (as a node should have: see the report) so that a stalled listener fills
        // the kernel's share within seconds; with loopback autotuning that would take minutes.
        server = vertx.createHttpServer(new HttpServerOptions().setHost(HOST).setPort(0).setSendBufferSize(32 * 1024))
                .requestHandler(req -> passthrough.serve(req, req.path().substring("/_stream".length()), HOST, icecast.port()));
        server.listen().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(15)).until(() -> {
            if (!encoder.isAlive()) {
                throw new AssertionError("ffmpeg exited: " + Files.readString(dir.resolve("ffmpeg.log")));
            }
            return icecast.hasSource(MOUNT);
        });
        icecast.setTitle(MOUNT, TITLE);
    }

    @AfterAll
    static void stop() throws Exception {
        if (encoder != null) {
            encoder.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        if (vertx != null) {
            passthrough.close();
            vertx.close();
        }
        if (icecast != null) {
            icecast.close();
        }
        if (dir != null) {
            try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static String streamUrl() {
        return "http://" + HOST + ":" + server.actualPort() + "/_stream" + MOUNT;
    }

    static double proxiedBytes() {
        return registry.get("radiod.bytes.proxied").tag("direction", "listener").counter().count();
    }

    static String probe(byte[] audio) throws Exception {
        Path file = Files.createTempFile(dir, "heard-", ".mp3");
        Files.write(file, audio);
        Process p = new ProcessBuilder("ffprobe", "-v", "error", "-count_frames", "-select_streams", "a:0",
                "-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0", file.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        p.waitFor(20, TimeUnit.SECONDS);
        // Decoder warnings (a stream joined mid-frame) may come first; the answer is the last line.
        return out.substring(out.lastIndexOf('\n') + 1);
    }

    static void assertDecodableMp3(byte[] audio) throws Exception {
        String probe = probe(audio);
        assertTrue(probe.startsWith("mp3,") && Integer.parseInt(probe.substring(4)) >= 10, "ffprobe: " + probe);
    }

    /** Reads a response head byte by byte, leaving the body unread. */
    static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed inside the response head: " + head);
            }
            head.write(b);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void listenerGetsDecodableMp3ThroughThePassthrough() throws Exception {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(streamUrl())).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertEquals("audio/mpeg", r.headers().firstValue("content-type").orElseThrow());
        try (InputStream in = r.body()) {
            assertDecodableMp3(in.readNBytes(40_000));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.active() == 0);
    }

    @Test
    void icyMetadataIsAnnouncedAndInlined() throws Exception {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(streamUrl())).header("Icy-MetaData", "1").build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        int metaint = Integer.parseInt(r.headers().firstValue("icy-metaint").orElseThrow());
        assertTrue(metaint > 0);
        try (DataInputStream in = new DataInputStream(r.body())) {
            byte[] audio = new byte[metaint];
            List<String> seen = new ArrayList<>();
            // Icecast sends the title with the first block after the burst it starts a listener with; blocks of
            // unchanged metadata are empty. Every block must sit exactly metaint bytes after the previous one.
            for (int i = 0; i < 12 && !seen.contains("StreamTitle='" + TITLE + "';"); i++) {
                in.readFully(audio);
                byte[] meta = new byte[in.readUnsignedByte() * 16];
                in.readFully(meta);
                String text = new String(meta, StandardCharsets.UTF_8).replace("\0", "");
                if (!text.isEmpty()) {
                    assertTrue(text.startsWith("StreamTitle='"), "metadata block " + i + ": " + text);
                    seen.add(text);
                }
            }
            assertTrue(seen.contains("StreamTitle='" + TITLE + "';"), "metadata blocks: " + seen);
            assertDecodableMp3(audio);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.active() == 0);
    }

    @Test
    void http10ListenerStreamsForTenSeconds() throws Exception {
        try (Socket s = new Socket(HOST, server.actualPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET /_stream" + MOUNT + " HTTP/1.0\r\nUser-Agent: WinampMPEG/2.9\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = s.getInputStream();
            String head = readHead(in);
            assertTrue(head.startsWith("HTTP/1.0 200 OK\r\n"), head);
            assertFalse(head.toLowerCase().contains("transfer-encoding"), head);
            byte[] first = in.readNBytes(40_000);
            long started = System.nanoTime();
            long bytes = 0;
            byte[] buf = new byte[16384];
            while (System.nanoTime() - started < TimeUnit.SECONDS.toNanos(10)) {
                int n = in.read(buf);
                assertTrue(n > 0, "the stream ended after " + bytes + " bytes");
                bytes += n;
            }
            // 128 kbit/s is 16,000 bytes a second: ten seconds of real-time audio, give or take.
            assertTrue(bytes > 130_000 && bytes < 260_000, "bytes in 10 s: " + bytes);
            assertEquals(1, passthrough.active());
            assertDecodableMp3(first);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.active() == 0);
    }

    @Test
    void listenerThatStopsReadingPausesTheUpstreamInsteadOfBuffering() throws Exception {
        await().atMost(Duration.ofSeconds(10)).until(() -> passthrough.active() == 0);
        double start = proxiedBytes();
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(4096);
            s.connect(new InetSocketAddress(HOST, server.actualPort()));
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET /_stream" + MOUNT + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = s.getInputStream();
            readHead(in);
            long read = in.readNBytes(1000).length;
            // From here on the listener reads nothing: the proxy must stop reading from Icecast.
            await().atMost(Duration.ofSeconds(20)).until(() -> passthrough.stalled() == 1);
            double atStall = proxiedBytes();
            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5))
                    .until(() -> proxiedBytes() == atStall && passthrough.stalled() == 1);
            double inFlight = atStall - start - read;
            // What left Icecast but not reached the listener: the proxy's write queue plus kernel socket buffers.
            // The proxy's write queue (64 KiB and a chunk), the server socket's send buffer (32 KiB, doubled by
            // Linux) and the listener's receive buffer: nothing grows with time.
            assertTrue(inFlight < 256 * 1024, "bytes held between Icecast and the listener: " + inFlight);
            System.out.printf("stalled listener: %.0f bytes between Icecast and the listener (write queue %d)%n",
                    inFlight, Passthrough.WRITE_QUEUE_BYTES);
            // Reading again resumes the stream.
            in.readNBytes(200_000);
            await().atMost(Duration.ofSeconds(5)).until(() -> proxiedBytes() > atStall);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.active() == 0 && passthrough.stalled() == 0);
    }

    @Test
    void listenerLeavingReleasesItsIcecastListener() throws Exception {
        // Icecast is only ever reached through the proxy here: once earlier tests' listeners are gone it has none.
        await().atMost(Duration.ofSeconds(10)).until(() -> icecast.listeners(MOUNT).orElseThrow() == 0);
        try (Socket s = new Socket(HOST, server.actualPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET /_stream" + MOUNT + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            readHead(s.getInputStream());
            await().atMost(Duration.ofSeconds(5)).until(() -> icecast.listeners(MOUNT).orElseThrow() == 1);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> icecast.listeners(MOUNT).orElseThrow() == 0);
        assertEquals(0, passthrough.active());
    }
}
