package radiod.redirector.stream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;

/** The passthrough proxy against stub upstreams: what goes up, what comes back, and who closes whom. */
class PassthroughTest {
    static final String ICECAST_HEAD = "HTTP/1.0 200 OK\r\nServer: Icecast 2.4.4\r\nContent-Type: audio/mpeg\r\n"
            + "Cache-Control: no-cache, no-store\r\nicy-name: Test radio\r\nicy-metaint: 16000\r\n\r\n";
    static final int BODY = 100_000;

    static Vertx vertx;
    static SimpleMeterRegistry registry = new SimpleMeterRegistry();
    static Passthrough passthrough;
    static HttpServer server;
    static final AtomicInteger upstreamPort = new AtomicInteger();
    /** HTTP/1.1 like a player: the JDK client would otherwise upgrade to h2c, which Vert.x accepts. */
    static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        passthrough = new Passthrough(vertx, registry, 100, Passthrough.DEFAULT_STALL_LIMIT, Duration.ZERO);
        server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
                .requestHandler(req -> passthrough.serve(req, req.path().substring("/_stream".length()), "127.0.0.1",
                        upstreamPort.get()));
        server.listen().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() {
        passthrough.close();
        vertx.close();
    }

    static String url(String pathAndQuery) {
        return "http://127.0.0.1:" + server.actualPort() + pathAndQuery;
    }

    static byte[] expectedBody(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) i;
        }
        return b;
    }

    static Socket raw(String request) throws IOException {
        Socket s = new Socket("127.0.0.1", server.actualPort());
        s.setSoTimeout(5000);
        s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
        return s;
    }

    static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toByteArray();
    }

    static int headEnd(byte[] response) {
        for (int i = 0; i + 3 < response.length; i++) {
            if (response[i] == '\r' && response[i + 1] == '\n' && response[i + 2] == '\r' && response[i + 3] == '\n') {
                return i + 4;
            }
        }
        throw new AssertionError("no response head in " + new String(response, StandardCharsets.ISO_8859_1));
    }

    @Test
    void listenerHeadersAndAddressGoUpstreamAndIcecastsHeadersComeBack() throws Exception {
        try (StubUpstream up = new StubUpstream(ICECAST_HEAD, BODY, false)) {
            upstreamPort.set(up.port());
            HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(url("/_stream/live.mp3?session=42")))
                    .header("Icy-MetaData", "1").header("User-Agent", "VLC/3.0.18 LibVLC/3.0.18")
                    .header("X-Forwarded-For", "192.0.2.7").header("Cookie", "secret=1").build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, r.statusCode());
            assertEquals("audio/mpeg", r.headers().firstValue("content-type").orElseThrow());
            assertEquals("16000", r.headers().firstValue("icy-metaint").orElseThrow());
            assertEquals("Test radio", r.headers().firstValue("icy-name").orElseThrow());
            assertTrue(r.headers().firstValue("server").isEmpty(), "Icecast's Server header is not returned");
            assertArrayEquals(expectedBody(BODY), r.body(), "the whole body, then the end when Icecast closes");

            String head = up.exchanges.get(0).requestHead.toLowerCase(java.util.Locale.ROOT);
            assertTrue(head.startsWith("get /live.mp3?session=42 http/1.1\r\n"), head);
            assertTrue(head.contains("\r\nicy-metadata: 1\r\n"), head);
            assertTrue(head.contains("\r\nuser-agent: vlc/3.0.18 libvlc/3.0.18\r\n"), head);
            assertTrue(head.contains("\r\nx-forwarded-for: 192.0.2.7, 127.0.0.1\r\n"), head);
            assertFalse(head.contains("cookie"), head);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.active() == 0);
    }

    @Test
    void http10ListenerGetsACloseDelimitedBody() throws Exception {
        try (StubUpstream up = new StubUpstream(ICECAST_HEAD, BODY, false); Socket s = raw("GET /_stream/live.mp3 HTTP/1.0\r\n\r\n")) {
            upstreamPort.set(up.port());
            byte[] response = readAll(s.getInputStream());
            int end = headEnd(response);
            String head = new String(response, 0, end, StandardCharsets.ISO_8859_1);
            assertTrue(head.startsWith("HTTP/1.0 200 OK\r\n"), head);
            assertFalse(head.toLowerCase().contains("transfer-encoding"), head);
            assertFalse(head.toLowerCase().contains("content-length"), head);
            byte[] body = java.util.Arrays.copyOfRange(response, end, response.length);
            assertArrayEquals(expectedBody(BODY), body);
        }
    }

    @Test
    void headGivesTheHeadersAndReleasesTheUpstream() throws Exception {
        try (StubUpstream up = new StubUpstream(ICECAST_HEAD, 1000, true)) {
            upstreamPort.set(up.port());
            HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(url("/_stream/live.mp3")))
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, r.statusCode());
            assertEquals("16000", r.headers().firstValue("icy-metaint").orElseThrow());
            assertEquals(0, r.body().length);
            await().atMost(Duration.ofSeconds(5)).until(() -> up.exchanges.get(0).ended);
        }
    }

    @Test
    void theUpstreamIsReadOnThePacingTickNotOnEveryPacket() throws Exception {
        // The stub sends 256 bytes about every 50 ms: some 60 packets in 3 s, read as 6 or 7 chunks.
        try (StubUpstream up = new StubUpstream(ICECAST_HEAD, 1000, true)) {
            upstreamPort.set(up.port());
            try (Socket s = raw("GET /_stream/live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n")) {
                InputStream in = s.getInputStream();
                assertEquals(1000, in.readNBytes(1000).length); // the head and the first bytes came at once
                long chunksBefore = passthrough.upstreamChunks();
                long start = System.nanoTime();
                int got = 0;
                byte[] buf = new byte[8192];
                while (System.nanoTime() - start < 3_000_000_000L) {
                    got += Math.max(0, in.read(buf));
                }
                long chunks = passthrough.upstreamChunks() - chunksBefore;
                assertTrue(got > 20 * 256, "only " + got + " bytes in 3 s");
                assertTrue(chunks <= 3000 / Passthrough.PACE_MILLIS + 3, chunks + " upstream reads in 3 s");
            }
        }
    }

    @Test
    void aFastStreamIsNotThrottledByTheReadTick() throws Exception {
        // 2 MB waiting upstream: at one read (~64 kB) per tick, 1 MB would take 8 s; such a stream is read as it comes.
        try (StubUpstream up = new StubUpstream(ICECAST_HEAD, 2_000_000, true)) {
            upstreamPort.set(up.port());
            try (Socket s = raw("GET /_stream/live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n")) {
                long start = System.nanoTime();
                assertEquals(1_000_000, s.getInputStream().readNBytes(1_000_000).length);
                long ms = (System.nanoTime() - start) / 1_000_000;
                assertTrue(ms < 4000, "1 MB took " + ms + " ms through the read tick");
            }
        }
    }

    @Test
    void listenerLeavingClosesTheUpstream() throws Exception {
        try (StubUpstream up = new StubUpstream(ICECAST_HEAD, 1000, true)) {
            upstreamPort.set(up.port());
            try (Socket s = raw("GET /_stream/live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n")) {
                assertTrue(s.getInputStream().readNBytes(600).length == 600);
                assertEquals(1, passthrough.active());
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> up.exchanges.get(0).ended);
            await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.active() == 0);
        }
    }

    @Test
    void unreachableUpstreamGets503WithRetryAfter() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        upstreamPort.set(closed);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url("/_stream/live.mp3"))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(503, r.statusCode());
        assertEquals("2", r.headers().firstValue("retry-after").orElseThrow());
        assertNull(r.headers().firstValue("icy-name").orElse(null));
    }

    @Test
    void mountNotLiveUpstreamGets404WithoutIcecastsPage() throws Exception {
        try (StubUpstream up = new StubUpstream("HTTP/1.0 404 File Not Found\r\nServer: Icecast 2.4.4\r\n"
                + "Content-Type: text/html\r\n\r\n<b>The file you requested could not be found</b>", 0, false)) {
            upstreamPort.set(up.port());
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url("/_stream/gone.mp3"))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(404, r.statusCode());
            assertFalse(r.body().contains("<b>"), r.body());
            assertTrue(r.headers().firstValue("server").isEmpty());
        }
    }

    @Test
    void listenerThatStopsReadingIsDroppedAfterTheStallLimit() throws Exception {
        SimpleMeterRegistry own = new SimpleMeterRegistry();
        Passthrough strict = new Passthrough(vertx, own, 10, Duration.ofSeconds(1), Passthrough.DEFAULT_HOLD_LIMIT);
        HttpServer small = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0).setSendBufferSize(32 * 1024))
                .requestHandler(req -> strict.serve(req, "/live.mp3", "127.0.0.1", upstreamPort.get()));
        small.listen().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        try (StubUpstream up = new StubUpstream(ICECAST_HEAD, 2_000_000, true); Socket s = new Socket()) {
            upstreamPort.set(up.port());
            s.setReceiveBufferSize(4096);
            s.connect(new java.net.InetSocketAddress("127.0.0.1", small.actualPort()));
            s.setSoTimeout(5000);
            s.getOutputStream().write("GET /_stream/live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            await().atMost(Duration.ofSeconds(5)).until(() -> strict.stalled() == 1);
            double atStall = own.get("radiod.bytes.proxied").tag("direction", "listener").counter().count();
            assertTrue(atStall < 2_000_000, "the proxy stopped reading a fast upstream for a stalled listener: " + atStall);
            long stalledAt = System.nanoTime();
            await().atMost(Duration.ofSeconds(5)).until(() -> strict.active() == 0 && strict.stalled() == 0);
            long tookMs = (System.nanoTime() - stalledAt) / 1_000_000;
            assertTrue(tookMs > 500, "dropped after " + tookMs + " ms, stall limit 1 s");
            await().atMost(Duration.ofSeconds(5)).until(() -> up.exchanges.get(0).ended);
            try {
                readAll(s.getInputStream()); // what was in flight, then the end
            } catch (java.net.SocketException reset) {
                // closed with unread data: reset, which is closed too
            }
        } finally {
            small.close();
            strict.close();
        }
    }
}
