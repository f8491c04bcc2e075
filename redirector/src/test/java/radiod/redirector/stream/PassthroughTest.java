package radiod.redirector.stream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import radiod.redirector.access.ListenerSessions;
import radiod.testkit.Ports;

/**
 * The passthrough against stub upstreams standing in for the local Icecast (and for another node): one read of a
 * mount per event loop shared by its listeners, bursts from unit boundaries, ICY metadata on each listener's count,
 * slow listeners dropped, counts, and the proxy for players that do not follow redirects.
 */
class PassthroughTest {
    /** A Date long gone, as a reader's head from Icecast has after hours of the mount. */
    static final String OLD_DATE = "Thu, 01 Jan 2026 00:00:00 GMT";
    static final String OCTETS = "HTTP/1.0 200 OK\r\nServer: Icecast 2.4.4\r\nContent-Type: application/octet-stream\r\n"
            + "Cache-Control: no-cache, no-store\r\nicy-name: Test radio\r\n\r\n";
    static final String OCTETS_ICY = "HTTP/1.0 200 OK\r\nServer: Icecast 2.4.4\r\nContent-Type: application/octet-stream\r\n"
            + "Date: " + OLD_DATE + "\r\nicy-name: Test radio\r\nicy-metaint: 1000\r\n\r\n";
    static final String MP3 = "HTTP/1.0 200 OK\r\nServer: Icecast 2.4.4\r\nContent-Type: audio/mpeg\r\nicy-br: 128\r\n\r\n";
    static final PassthroughSettings QUICK = PassthroughSettings.DEFAULTS.withLinger(Duration.ofMillis(300))
            .withHoldLimit(Duration.ZERO);

    static Vertx vertx;
    SimpleMeterRegistry registry;
    Passthrough passthrough;
    HttpServer server;
    final List<AutoCloseable> closing = new ArrayList<>();

    @BeforeAll
    static void vertx() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void closeVertx() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        if (server != null) {
            server.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
        if (passthrough != null) {
            passthrough.close();
        }
    }

    /** The node's front's options that matter here: a fixed send buffer, an idle timeout, HTTP/1 only. */
    static HttpServerOptions frontOptions() {
        return new HttpServerOptions().setHost("127.0.0.1").setPort(0).setSendBufferSize(32 * 1024).setIdleTimeout(60)
                .setHttp2ClearTextEnabled(false);
    }

    /**
     * A front on one event loop: {@code /_stream<mount>} served from the upstream at {@code icecastPort},
     * {@code /_proxy/<port><mount>} proxied from 127.0.0.1:port.
     */
    int front(int icecastPort, PassthroughSettings settings) throws Exception {
        registry = new SimpleMeterRegistry();
        passthrough = new Passthrough(vertx, registry, "127.0.0.1", icecastPort, settings);
        server = vertx.createHttpServer(frontOptions()).requestHandler(this::route);
        return server.listen().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS).actualPort();
    }

    void route(HttpServerRequest req) {
        String path = req.path();
        if (path.startsWith("/_proxy/")) {
            int slash = path.indexOf('/', 8);
            passthrough.proxy(req, path.substring(slash), "127.0.0.1", Integer.parseInt(path.substring(8, slash)));
        } else {
            passthrough.serve(req, path.substring("/_stream".length()));
        }
    }

    <T extends AutoCloseable> T closing(T c) {
        closing.add(c);
        return c;
    }

    @Test
    void listenersOfAMountOnOneEventLoopShareOneUpstreamRead() throws Exception {
        StubUpstream up = closing(StubUpstream.endless(OCTETS, StubUpstream.COUNTING, 10_000, 500, 20));
        int port = front(up.port(), QUICK);
        List<Listening> listeners = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Listening l = closing(Listening.open(port, Listening.get("/_stream/live.mp3?session=" + i, "HTTP/1.1")));
            assertEquals(200, l.status(), l.head);
            listeners.add(l);
        }
        for (Listening l : listeners) {
            Listening.assertCounting(l.read(20_000));
        }
        assertEquals(1, up.exchanges.size(), "one upstream connection for five listeners");
        String asked = up.exchanges.get(0).requestHead.toLowerCase(Locale.ROOT);
        assertTrue(asked.startsWith("get /live.mp3 http/1.1\r\n"), asked);
        assertTrue(asked.contains("\r\nicy-metadata: 1\r\n"), asked);
        assertEquals(5, passthrough.listeners());
        assertEquals(Map.of("/live.mp3", 5), passthrough.listenersByMount());
        assertEquals(1, passthrough.readers());
        assertEquals(1.0, registry.get("radiod.passthrough.readers").gauge().value());
        assertEquals(5.0, registry.get("radiod.passthrough.streams").gauge().value());

        for (Listening l : listeners) {
            l.close();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.listeners() == 0);
        assertEquals(Map.of(), passthrough.listenersByMount());
        // The read of the mount outlives its last listener briefly (the linger), then closes.
        await().atMost(Duration.ofSeconds(5)).until(() -> up.open() == 0 && passthrough.readers() == 0);
    }

    @Test
    void listenersGetIcecastsHeadersAndIcyListenersTheirOwnInterval() throws Exception {
        StubUpstream up = closing(new StubUpstream(OCTETS_ICY, StubUpstream.COUNTING, 5_000, 500, 20, -1, 1000));
        up.title = "one";
        int port = front(up.port(), QUICK);
        try (Listening plain = Listening.open(port, Listening.get("/_stream/live.mp3", "HTTP/1.1"));
             Listening icy = Listening.open(port, Listening.get("/_stream/live.mp3", "HTTP/1.1", "Icy-MetaData: 1"))) {
            assertEquals("application/octet-stream", plain.header("Content-Type"));
            assertEquals("Test radio", plain.header("icy-name"));
            assertNull(plain.header("Server"), "Icecast's Server header is not returned");
            assertNull(plain.header("icy-metaint"), "no metadata for a player that did not ask");
            assertFreshDate(plain);
            // As Icecast sends it: the bytes as they are until the connection closes, no chunks (players on small
            // devices often read no chunked body).
            assertTrue(plain.head.startsWith("HTTP/1.1 200 OK\r\n"), plain.head);
            assertFalse(plain.chunked, plain.head);
            assertNull(plain.header("Transfer-Encoding"), plain.head);
            assertNull(plain.header("Content-Length"), plain.head);
            assertEquals("close", plain.header("Connection"), plain.head);
            Listening.assertCounting(plain.read(40_000));

            assertEquals("16000", icy.header("icy-metaint"));
            byte[] first = icy.read(3 * 16_001 + 100);
            IcyFramerTest.Parsed parsed = IcyFramerTest.parse(first, 16_000);
            Listening.assertCounting(parsed.audio());
            assertEquals(List.of("StreamTitle='one';"), parsed.titles(), "the title at the first block, then empty blocks");
            up.title = "two";
            byte[] more = icy.read(3 * 16_001);
            // The bytes read so far end 100 audio bytes into an interval; parse them all on the listener's count.
            byte[] all = new byte[first.length + more.length];
            System.arraycopy(first, 0, all, 0, first.length);
            System.arraycopy(more, 0, all, first.length, more.length);
            IcyFramerTest.Parsed later = IcyFramerTest.parse(all, 16_000);
            Listening.assertCounting(later.audio());
            assertEquals(List.of("StreamTitle='one';", "StreamTitle='two';"), later.titles());
        }
    }

    @Test
    void aLateListenerStartsWithABurstFromAFrameBoundary() throws Exception {
        // Icecast's own burst (100 kB) at once, then a frame every 26 ms, as 128 kbit/s MP3 comes.
        StubUpstream up = closing(StubUpstream.endless(MP3, StubUpstream.MP3, 100_000, StubUpstream.MP3_FRAME, 26));
        int port = front(up.port(), QUICK);
        try (Listening first = Listening.open(port, Listening.get("/_stream/live.mp3", "HTTP/1.1"))) {
            first.read(90_000);
            long joined = System.nanoTime();
            try (Listening late = Listening.open(port, Listening.get("/_stream/live.mp3", "HTTP/1.0"))) {
                byte[] burst = late.read(60_000);
                long ms = (System.nanoTime() - joined) / 1_000_000;
                assertTrue(ms < 1000, "the burst took " + ms + " ms");
                assertEquals((byte) 0xFF, burst[0]);
                assertEquals((byte) 0xFB, burst[1], "the burst starts on a frame header");
                long frame = frameNumber(burst, 0);
                for (int at = 0; at + 8 <= burst.length; at += StubUpstream.MP3_FRAME) {
                    assertEquals(frame++, frameNumber(burst, at), "frames in order from the first, at " + at);
                }
            }
        }
        assertEquals(1, up.exchanges.size());
    }

    static long frameNumber(byte[] b, int at) {
        assertEquals((byte) 0xFF, b[at], "a frame header at " + at);
        return ((b[at + 4] & 0xffL) << 24) | ((b[at + 5] & 0xff) << 16) | ((b[at + 6] & 0xff) << 8) | (b[at + 7] & 0xff);
    }

    /**
     * Every HTTP/1.x player gets the stream as Icecast sends it, whatever it asked for: no chunks, no length,
     * {@code Connection: close}, and a body that ends when the mount's read ends, with the connection's close.
     */
    @ParameterizedTest
    @ValueSource(strings = {"HTTP/1.0|User-Agent: WinampMPEG/2.9", "HTTP/1.0|Connection: keep-alive",
            "HTTP/1.1|User-Agent: VLC/3.0.20", "HTTP/1.1|Connection: keep-alive"})
    void aListenerGetsACloseDelimitedBodyThatEndsWithTheUpstream(String request) throws Exception {
        String version = request.split("\\|")[0];
        StubUpstream up = closing(StubUpstream.ending(OCTETS, StubUpstream.COUNTING, 50_000));
        int port = front(up.port(), QUICK);
        try (Listening l = Listening.open(port, Listening.get("/_stream/live.mp3", version, request.split("\\|")[1]))) {
            assertTrue(l.head.startsWith(version + " 200 OK\r\n"), l.head);
            assertFalse(l.chunked, l.head);
            assertNull(l.header("Transfer-Encoding"), l.head);
            assertNull(l.header("Content-Length"), l.head);
            assertEquals("close", l.header("Connection"), l.head);
            byte[] body = l.readToEnd();
            // The first listener waits for the read of the mount to start: it gets the stream from its start.
            assertEquals(50_000, body.length);
            Listening.assertCounting(body);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.listeners() == 0 && passthrough.readers() == 0);
    }

    /** The same for a proxied player over HTTP/1.1: the other node's stream, as it comes, until it ends. */
    @Test
    void aProxiedListenersBodyEndsWithTheOtherNodesStream() throws Exception {
        StubUpstream local = closing(StubUpstream.endless(OCTETS, StubUpstream.COUNTING, 1_000, 500, 20));
        StubUpstream other = closing(StubUpstream.ending("HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\n"
                + "Connection: close\r\n\r\n", StubUpstream.COUNTING, 50_000));
        int port = front(local.port(), QUICK);
        try (Listening l = Listening.open(port, Listening.get("/_proxy/" + other.port() + "/live.mp3", "HTTP/1.1",
                "Connection: keep-alive", "User-Agent: WinampMPEG/5.66"))) {
            assertEquals(200, l.status());
            assertFalse(l.chunked, l.head);
            assertNull(l.header("Transfer-Encoding"), l.head);
            assertEquals("close", l.header("Connection"), l.head);
            byte[] body = l.readToEnd();
            assertEquals(50_000, body.length);
            Listening.assertCounting(body);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.proxied() == 0);
    }

    @Test
    void headIsAnsweredWithTheStreamsHeadersWithoutCountingAListener() throws Exception {
        StubUpstream up = closing(new StubUpstream(OCTETS_ICY, StubUpstream.COUNTING, 1_000, 100, 20, -1, 1000));
        int port = front(up.port(), QUICK);
        // No read of the mount yet: Icecast is asked for the headers once, and let go.
        try (Listening head = Listening.open(port, "HEAD /_stream/live.mp3 HTTP/1.1\r\nHost: x\r\nIcy-MetaData: 1\r\n\r\n")) {
            assertEquals(200, head.status());
            assertEquals("16000", head.header("icy-metaint"));
            assertEquals("Test radio", head.header("icy-name"));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> up.exchanges.size() == 1 && up.exchanges.get(0).ended);
        assertEquals(0, passthrough.listeners());
        // With a read of the mount: answered from its headers, no new upstream connection.
        try (Listening l = closing(Listening.open(port, Listening.get("/_stream/live.mp3", "HTTP/1.1")));
             Listening head = Listening.open(port, "HEAD /_stream/live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n")) {
            l.read(1000);
            assertEquals(200, head.status());
            assertEquals("application/octet-stream", head.header("Content-Type"));
            assertNull(head.header("icy-metaint"));
            assertEquals(2, up.exchanges.size());
            assertEquals(1, passthrough.listeners());
        }
    }

    @Test
    void aListenerThatStopsReadingIsDroppedWhileTheOthersContinue() throws Exception {
        // 400 kB/s: a listener that reads nothing fills its socket buffers and its queue within a second or two.
        StubUpstream up = closing(StubUpstream.endless(OCTETS, StubUpstream.COUNTING, 0, 8_000, 20));
        int port = front(up.port(), QUICK);
        try (Listening reading = Listening.open(port, Listening.get("/_stream/live.mp3", "HTTP/1.1"));
             Listening stopped = Listening.open(port, Listening.get("/_stream/live.mp3", "HTTP/1.1"), 4096)) {
            stopped.read(1000);
            long started = System.nanoTime();
            byte[] buf = new byte[65536];
            byte last = 0;
            boolean first = true;
            while (passthrough.dropped() == 0 && System.nanoTime() - started < TimeUnit.SECONDS.toNanos(20)) {
                int n = reading.read(buf, 0, buf.length);
                assertTrue(n > 0, "the reading listener's stream ended");
                if (!first) {
                    assertEquals((byte) (last + 1), buf[0], "the reading listener's stream has a gap");
                }
                Listening.assertCounting(java.util.Arrays.copyOf(buf, n));
                last = buf[n - 1];
                first = false;
            }
            assertEquals(1, passthrough.dropped(), "the listener that stopped reading was dropped");
            assertEquals(1.0, registry.get("radiod.passthrough.dropped").counter().count());
            await().atMost(Duration.ofSeconds(5)).until(passthrough::listeners, n -> n == 1);
            // The other listener goes on, from the same single upstream.
            Listening.assertCounting(reading.read(400_000));
            assertEquals(1, up.exchanges.size());
            assertFalse(up.exchanges.get(0).ended);
            // What the dropped listener had: its socket's share and its queue, no more; then the end.
            stopped.socket.setSoTimeout(2000);
            byte[] rest = stopped.readToEnd();
            assertTrue(rest.length < 400_000, "a dropped listener got " + rest.length + " bytes");
        }
    }

    @Test
    void unreachableUpstreamGets503WithRetryAfter() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        int port = front(closed, QUICK);
        try (Listening l = Listening.open(port, Listening.get("/_stream/live.mp3", "HTTP/1.1"))) {
            assertEquals(503, l.status());
            assertEquals("2", l.header("Retry-After"));
            assertNull(l.header("icy-name"));
            // A web player may read the refusal and when to retry.
            assertEquals("*", l.header("Access-Control-Allow-Origin"));
            assertEquals("Retry-After", l.header("Access-Control-Expose-Headers"));
        }
        assertEquals(1.0, registry.get("radiod.passthrough.failures").tag("reason", "unreachable").counter().count());
        await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.readers() == 0);
        assertEquals(0, passthrough.listeners());
    }

    @Test
    void mountNotLiveUpstreamGets404WithoutIcecastsPage() throws Exception {
        StubUpstream up = closing(StubUpstream.ending("HTTP/1.0 404 File Not Found\r\nServer: Icecast 2.4.4\r\n"
                + "Content-Type: text/html\r\n\r\n", StubUpstream.COUNTING, 0));
        int port = front(up.port(), QUICK);
        try (Listening l = Listening.open(port, Listening.get("/_stream/gone.mp3", "HTTP/1.1"))) {
            assertEquals(404, l.status());
            assertNull(l.header("Server"));
            assertTrue(new String(l.read(10)).startsWith("this mount"));
        }
        assertEquals(1.0, registry.get("radiod.passthrough.failures").tag("reason", "not_live").counter().count());
    }

    @Test
    void countsArePerMountOfListenerSessionsOnly() throws Exception {
        StubUpstream up = closing(StubUpstream.endless(OCTETS, StubUpstream.COUNTING, 2_000, 500, 20));
        int port = front(up.port(), QUICK);
        try (Listening a1 = Listening.open(port, Listening.get("/_stream/a.mp3", "HTTP/1.1"));
             Listening a2 = Listening.open(port, Listening.get("/_stream/a.mp3", "HTTP/1.0"));
             Listening b1 = Listening.open(port, Listening.get("/_stream/b.mp3", "HTTP/1.1", "Icy-MetaData: 1"));
             Listening head = Listening.open(port, "HEAD /_stream/a.mp3 HTTP/1.1\r\nHost: x\r\n\r\n")) {
            for (Listening l : List.of(a1, a2, b1)) {
                l.read(2_000);
            }
            assertEquals(200, head.status());
            assertEquals(Map.of("/a.mp3", 2, "/b.mp3", 1), passthrough.listenersByMount());
            assertEquals(3, passthrough.listeners());
            assertEquals(2, passthrough.readers());
            assertEquals(2, up.exchanges.size());
            long sent = passthrough.bytesSent();
            assertTrue(sent >= 6_000, "bytes sent " + sent);
            a2.close();
            await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.listenersByMount().equals(Map.of("/a.mp3", 1, "/b.mp3", 1)));
            a1.read(5_000);
            await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.bytesSent() > sent);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.listeners() == 0);
        // Read once nobody listens: while audio flows the two reads would be of different moments.
        assertEquals(passthrough.bytesSent(),
                registry.get("radiod.proxied").tag("direction", "listener").functionCounter().count(), 0.0);
    }

    @Test
    void eachListenerIsWrittenOncePerBatchNotOncePerPacket() throws Exception {
        // 200 bytes every 10 ms: some 200 packets in 2 s.
        StubUpstream up = closing(StubUpstream.endless(OCTETS, StubUpstream.COUNTING, 0, 200, 10));
        int port = front(up.port(), QUICK);
        try (Listening l = Listening.open(port, Listening.get("/_stream/live.mp3", "HTTP/1.1"))) {
            l.read(1);
            l.readFor(MountReader.START_MILLIS + 300); // past the reader's start, when what comes is written as it comes
            assertFalse(l.chunked, l.head);
            int before = l.reads;
            int got = l.readFor(2_000);
            int chunks = l.reads - before; // a read of its own for each write, as the batches are 250 ms apart
            assertTrue(got > 10_000, "only " + got + " bytes in 2 s");
            assertTrue(chunks <= 2000 / 250 + 3, chunks + " writes to the listener in 2 s");
        }
    }

    @Test
    void aNewMountsFirstSecondIsWrittenAsItComesNotABatchLater() throws Exception {
        // A new source's first second, as Icecast relays it: 200 bytes every 100 ms, no burst yet.
        StubUpstream up = closing(StubUpstream.endless(OCTETS, StubUpstream.COUNTING, 0, 200, 100));
        int port = front(up.port(), QUICK);
        try (Listening l = Listening.open(port, Listening.get("/_stream/live.mp3", "HTTP/1.1"))) {
            l.read(1);
            int got = 1 + l.readFor(MountReader.START_MILLIS - 200);
            // Some 8 packets in those 800 ms, each its own write (a read of its own, 100 ms apart); in 250 ms batches
            // it would be 3 or 4.
            assertFalse(l.chunked, l.head);
            // 5 leaves room for two writes read at once, the test's thread off the CPU for 100 ms.
            assertTrue(l.reads >= 5, l.reads + " writes (" + got + " bytes) in the reader's first 800 ms");
            assertEquals(0, passthrough.dropped());
        }
    }

    /**
     * A warm read ({@link Passthrough#warm}, when Icecast takes a new feed) asks again while the mount is not there
     * (404) and counts as asked only for a request that is out and unanswered, as Icecast holds a new listener's
     * answer until its source's next read: the feed's first audio waits for exactly that.
     */
    @Test
    void aWarmReadAsksAgainOnA404AndIsAskedForWhenARequestIsOutUnanswered() throws Exception {
        inOneOfThreeTries(0);
    }

    /**
     * The same on a busy or starved machine: the event loop is held while the 404 is on its way (here the stand-in
     * holds it 2 ms past the reader's 10 ms wait, or 30 ms), so the wait ends with the answer still unread in the
     * socket. Netty runs a due timer after the reads of its turn: without one more turn before it counts, the first
     * request counted as asked, and the feed went on with the mount not there.
     *
     * <p>Up to three tries, one of which must count exactly (the test above too, where the 404 has the whole wait to
     * arrive). A machine busy with network traffic can hand the 404 to the reader's socket milliseconds after the
     * stand-in wrote it (the kernel's loopback delivery deferred to its softirq thread), past any wait: 1 run of 60
     * miscounted under two busy loops and two loopback pumps, and 1 of 120 with a 5 ms turn. Without the extra turn
     * every try fails: the 404 is written after the 10 ms wait, on the same loop.
     */
    @ParameterizedTest
    @ValueSource(longs = {MountReader.WARM_SETTLE_MILLIS + 2, 30})
    void aWarmReadOnABusyLoopReadsTheLate404BeforeItCountsAsAsked(long stallMillis) throws Exception {
        inOneOfThreeTries(stallMillis);
    }

    /**
     * {@link #warmReadAsksAgainOnA404} up to three times while its count of requests is off (see above for why); any
     * other failure fails at once.
     */
    private void inOneOfThreeTries(long stallMillis) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                warmReadAsksAgainOnA404(stallMillis);
                return;
            } catch (Miscount e) {
                if (attempt == 3) {
                    assertEquals(4, e.requests, "asked for with the first request not refused, after three 404s,"
                            + " in none of three tries");
                }
                System.out.println("try " + attempt + " of 3: asked for after " + e.requests + " requests: again");
                stop();
                server = null;
                passthrough = null;
            }
        }
    }

    /** A warm read counted as asked after a number of requests other than 4. */
    private static final class Miscount extends Exception {
        final int requests;

        Miscount(int requests) {
            super("asked for after " + requests + " requests");
            this.requests = requests;
        }
    }

    private void warmReadAsksAgainOnA404(long stallMillis) throws Exception {
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<HttpServerRequest> held = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean gone = new java.util.concurrent.atomic.AtomicBoolean();
        // The stand-in Icecast answers on the reader's own event loop: each 404 is back well within the reader's
        // 10 ms wait for an answer (MountReader.WARM_SETTLE_MILLIS), as a local Icecast's is, however busy the machine.
        io.vertx.core.Context loop = vertx.getOrCreateContext();
        java.util.concurrent.CompletableFuture<HttpServer> listening = new java.util.concurrent.CompletableFuture<>();
        loop.runOnContext(v -> {
            HttpServer server = vertx.createHttpServer().requestHandler(req -> {
                if (asked.incrementAndGet() <= 3 || gone.get()) {
                    if (stallMillis > 0 && !gone.get()) {
                        stall(stallMillis);
                    }
                    req.response().setStatusCode(404).end(); // the source not there yet
                } else {
                    held.set(req); // Icecast answers a new listener only when its source loop turns
                }
            });
            server.listen(0, "127.0.0.1").onComplete(ar -> {
                if (ar.succeeded()) {
                    listening.complete(ar.result());
                } else {
                    listening.completeExceptionally(ar.cause());
                }
            });
        });
        HttpServer icecast = listening.get(5, TimeUnit.SECONDS);
        int upstream = icecast.actualPort();
        try {
            front(upstream, QUICK);
            java.util.concurrent.CompletableFuture<Void> registered = new java.util.concurrent.CompletableFuture<>();
            loop.runOnContext(v -> {
                passthrough.servesOn(loop);
                registered.complete(null);
            });
            registered.get(5, TimeUnit.SECONDS);
            java.util.concurrent.CompletableFuture<Integer> requestsWhenAsked = new java.util.concurrent.CompletableFuture<>();
            long start = System.nanoTime();
            passthrough.warm("/new.mp3").onComplete(ar -> requestsWhenAsked.complete(asked.get()));
            int requests = requestsWhenAsked.get(5, TimeUnit.SECONDS);
            long ms = (System.nanoTime() - start) / 1_000_000;
            if (requests != 4) {
                throw new Miscount(requests); // the first request not refused, after three 404s
            }
            assertTrue(held.get() != null, "the fourth request is out, unanswered");
            assertTrue(ms < 1_000, "asked for after " + ms + " ms");
            assertEquals(1, passthrough.readers());
            gone.set(true); // the mount went again: the read asks until its 2 s are over, then ends
            held.get().response().setStatusCode(404).end();
            await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.readers() == 0);
        } finally {
            icecast.close();
        }
    }

    /** The answer's Date is now (one Date header), not the one Icecast (or the peer) gave with the stream's head. */
    static void assertFreshDate(Listening l) {
        assertEquals(1, l.head.toLowerCase(Locale.ROOT).split("\r\ndate:", -1).length - 1, l.head);
        java.time.Instant date = java.time.ZonedDateTime.parse(l.header("Date"),
                java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        long off = Math.abs(java.time.Duration.between(date, java.time.Instant.now()).toSeconds());
        assertTrue(off <= 5, "Date " + l.header("Date") + " is " + off + " s from now");
    }

    /** Holds the calling thread (an event loop, in a stand-in) for this long, as a starved machine would. */
    private static void stall(long millis) {
        long until = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
        }
    }

    /**
     * A node at its limit of connections to its Icecast (500 mounts read on each of two event loops): a listener of
     * one more mount is answered 503 with a Retry-After once its read has waited for a connection for 5 s, not held
     * in silence for as long as the others play; a HEAD of a mount no reader holds likewise. Here the limit is one
     * connection, the first mount's read, and the wait 1 s.
     */
    @Test
    void aReadOrHeadThatFindsEveryConnectionToIcecastTakenIsRefusedAfterItsWaitNotHeldForGood() throws Exception {
        StubUpstream up = closing(StubUpstream.endless(OCTETS, StubUpstream.COUNTING, 1_000, 500, 20));
        registry = new SimpleMeterRegistry();
        long wait = 1_000; // the node's is Passthrough.LOCAL_WAIT_MILLIS, 5 s
        passthrough = new Passthrough(vertx, registry, "127.0.0.1", up.port(), QUICK, ListenerSessions.unlogged("-"), 1,
                wait);
        server = vertx.createHttpServer(frontOptions()).requestHandler(this::route);
        int port = server.listen().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS).actualPort();
        try (Listening a = Listening.open(port, Listening.get("/_stream/a.mp3", "HTTP/1.1"))) {
            assertEquals(200, a.status());
            a.read(1_000);
            long start = System.nanoTime();
            try (Listening b = Listening.open(port, Listening.get("/_stream/b.mp3", "HTTP/1.1"), 0, 10_000)) {
                long ms = (System.nanoTime() - start) / 1_000_000;
                assertEquals(503, b.status(), b.head);
                assertEquals("2", b.header("Retry-After"), b.head);
                System.out.println("measured: a read with no connection to Icecast free: its listener refused after "
                        + ms + " ms (the wait " + wait + " ms)");
                assertTrue(ms >= wait - 50 && ms < wait + 1_000, "refused after " + ms + " ms");
            }
            // A HEAD of a mount no reader holds asks Icecast once for the headers (OneOffHead): the same wait.
            long headStart = System.nanoTime();
            try (Listening h = Listening.open(port, "HEAD /_stream/c.mp3 HTTP/1.1\r\nHost: x\r\n\r\n", 0, 10_000)) {
                long ms = (System.nanoTime() - headStart) / 1_000_000;
                assertEquals(503, h.status(), h.head);
                assertEquals("2", h.header("Retry-After"), h.head);
                assertTrue(ms >= wait - 50 && ms < wait + 1_000, "HEAD refused after " + ms + " ms");
            }
            Listening.assertCounting(a.read(10_000)); // the first mount's listener plays on
            assertEquals(1, up.exchanges.size(), "neither the second read nor the HEAD ever had a connection");
        }
    }

    @Test
    void aStreamAboveAMegabitIsNotHeldBackByTheBatches() throws Exception {
        // About 1.5 Mbit/s (FLAC, say): 4,800 bytes every 25 ms, some 48 kB a batch.
        StubUpstream up = closing(StubUpstream.endless(OCTETS, StubUpstream.COUNTING, 64_000, 4_800, 25));
        int port = front(up.port(), QUICK);
        try (Listening l = Listening.open(port, Listening.get("/_stream/live.flac", "HTTP/1.1"))) {
            long start = System.nanoTime();
            Listening.assertCounting(l.read(600_000));
            long ms = (System.nanoTime() - start) / 1_000_000;
            // 600 kB is some 3 s of it after the first 64 kB: as fast as it comes, a batch late at most.
            assertTrue(ms < 4_500, "600 kB took " + ms + " ms");
            assertEquals(0, passthrough.dropped());
        }
    }

    @Test
    void eachEventLoopReadsTheMountOnce() throws Exception {
        StubUpstream up = closing(StubUpstream.endless(OCTETS, StubUpstream.COUNTING, 5_000, 500, 20));
        registry = new SimpleMeterRegistry();
        passthrough = new Passthrough(vertx, registry, "127.0.0.1", up.port(), QUICK);
        int listen = Ports.free("127.0.0.1");
        String id = vertx.deployVerticle(() -> new AbstractVerticle() {
            @Override
            public void start(Promise<Void> started) {
                vertx.createHttpServer(frontOptions().setPort(listen))
                        .requestHandler(PassthroughTest.this::route).listen().<Void>mapEmpty().onComplete(started);
            }
        }, new DeploymentOptions().setInstances(2)).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        try {
            List<Listening> ls = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                ls.add(closing(Listening.open(listen, Listening.get("/_stream/live.mp3", "HTTP/1.1"))));
            }
            for (Listening l : ls) {
                Listening.assertCounting(l.read(5_000));
            }
            assertEquals(8, passthrough.listeners());
            assertEquals(2, passthrough.readers(), "one read per event loop serving listeners");
            assertEquals(2, up.exchanges.size());
        } finally {
            vertx.undeploy(id).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aPlayerThatDoesNotFollowRedirectsIsProxiedFromTheChosenNodesStreamPath() throws Exception {
        StubUpstream local = closing(StubUpstream.endless(OCTETS, StubUpstream.COUNTING, 1_000, 500, 20));
        StubUpstream other = closing(StubUpstream.endless("HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nicy-name: Other\r\n"
                + "Date: " + OLD_DATE + "\r\nConnection: close\r\n\r\n", StubUpstream.COUNTING, 1_000, 500, 20));
        int port = front(local.port(), QUICK);
        try (Listening l = Listening.open(port, Listening.get("/_proxy/" + other.port() + "/live.mp3?x=1", "HTTP/1.1",
                "Icy-MetaData: 1", "User-Agent: WinampMPEG/5.66", "Cookie: secret=1"))) {
            assertEquals(200, l.status());
            assertEquals("Other", l.header("icy-name"));
            assertFalse(l.chunked, l.head);
            assertNull(l.header("Transfer-Encoding"), l.head);
            assertEquals("close", l.header("Connection"), l.head);
            assertFreshDate(l);
            Listening.assertCounting(l.read(20_000));
            String asked = other.exchanges.get(0).requestHead.toLowerCase(Locale.ROOT);
            assertTrue(asked.startsWith("get /_stream/live.mp3?x=1 http/1.1\r\n"), asked);
            assertTrue(asked.contains("\r\nicy-metadata: 1\r\n"), asked);
            assertTrue(asked.contains("\r\nuser-agent: winampmpeg/5.66\r\n"), asked);
            assertTrue(asked.contains("\r\nx-forwarded-for: 127.0.0.1\r\n"), asked);
            assertFalse(asked.contains("cookie"), asked);
            assertEquals(0, passthrough.listeners(), "the other node counts this listener, not this one");
            assertEquals(1, passthrough.proxied());
            assertEquals(0, local.exchanges.size());
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> other.open() == 0 && passthrough.proxied() == 0);
    }

    /**
     * A proxied player that stopped reading is dropped, as a local listener that falls behind is: paused, the read of
     * the other node never saw that node drop it, and both connections stayed for as long as the player's.
     */
    @Test
    void aProxiedPlayerThatStoppedReadingIsDroppedWithItsReadOfTheOtherNode() throws Exception {
        StubUpstream other = closing(StubUpstream.endless("HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\n"
                + "Connection: close\r\n\r\n", StubUpstream.COUNTING, 200_000, 16_000, 100));
        StubUpstream local = closing(StubUpstream.endless(OCTETS, StubUpstream.COUNTING, 1_000, 500, 20));
        int port = front(local.port(), QUICK);
        try (Listening l = Listening.open(port, Listening.get("/_proxy/" + other.port() + "/live.mp3", "HTTP/1.0",
                "User-Agent: WinampMPEG/5.66"), 4096)) {
            assertEquals(200, l.status());
            await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.proxied() == 1);
            long since = System.nanoTime();
            await().atMost(Duration.ofMillis(RemoteStream.STALL_MILLIS + 5_000)).pollInterval(Duration.ofMillis(100))
                    .until(() -> other.open() == 0 && passthrough.proxied() == 0);
            long ms = Duration.ofNanos(System.nanoTime() - since).toMillis();
            System.out.printf("a proxied player that stopped reading dropped after %d ms%n", ms);
            assertEquals(1, passthrough.dropped());
            assertEquals(0, local.exchanges.size(), "not served from here instead");
        }
    }

    @Test
    void aProxiedListenerGets503WhenNeitherTheChosenNodeNorThisNodesIcecastIsReachable() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        int port = front(closed, QUICK);
        try (Listening l = Listening.open(port, Listening.get("/_proxy/" + closed + "/live.mp3", "HTTP/1.1"))) {
            assertEquals(503, l.status());
            assertEquals("2", l.header("Retry-After"));
        }
        assertEquals(1.0, registry.get("radiod.passthrough.proxy.fallbacks").counter().count());
    }

    /** How a chosen node can give a proxied listener no stream. */
    enum NoStream {
        /** Nothing listens on its port. */
        UNREACHABLE,
        /** It takes the connection and closes it before any answer (a node going down, say). */
        CLOSED_BEFORE_ANSWER,
        /** It takes the connection and resets it. */
        RESET,
        /** It answers 503. */
        ANSWERS_503,
        /** It takes the connection and the request and says nothing (its radiod frozen, say). */
        SILENT
    }

    @ParameterizedTest
    @EnumSource(NoStream.class)
    void aProxiedListenerIsServedFromThisNodeWhenTheChosenNodeGivesNoStream(NoStream how) throws Exception {
        StubUpstream local = closing(StubUpstream.endless(OCTETS, StubUpstream.COUNTING, 1_000, 500, 20));
        ServerSocket other = closing(new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress()));
        int otherPort = other.getLocalPort();
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicLong silentUntil = new java.util.concurrent.atomic.AtomicLong();
        if (how == NoStream.UNREACHABLE) {
            other.close();
        } else {
            Thread t = new Thread(() -> {
                while (!other.isClosed()) {
                    try (java.net.Socket c = other.accept()) {
                        asked.incrementAndGet();
                        byte[] head = new byte[4096];
                        c.getInputStream().read(head);
                        switch (how) {
                            case RESET -> c.setSoLinger(true, 0);
                            case ANSWERS_503 -> c.getOutputStream().write(("HTTP/1.1 503 Service Unavailable\r\n"
                                    + "Content-Length: 0\r\nRetry-After: 2\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                            case SILENT -> { // until the proxying node gives up and closes
                                while (c.getInputStream().read(head) >= 0) {
                                    // nothing said back
                                }
                                silentUntil.set(System.nanoTime());
                            }
                            default -> {
                            }
                        }
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            }, "no-stream-node");
            t.setDaemon(true);
            t.start();
        }
        int port = front(local.port(), QUICK);
        long asking = System.nanoTime();
        try (Listening l = Listening.open(port, Listening.get("/_proxy/" + otherPort + "/live.mp3", "HTTP/1.1",
                "User-Agent: WinampMPEG/5.66"))) {
            long headMillis = (System.nanoTime() - asking) / 1_000_000;
            assertEquals(200, l.status(), l.head);
            if (how == NoStream.SILENT) {
                // Given up after ANSWER_MILLIS (not the client's 20 s read timeout), and the silent node's connection closed.
                System.out.printf("a silent chosen node: the listener served from this node after %d ms%n", headMillis);
                assertTrue(headMillis >= RemoteStream.ANSWER_MILLIS && headMillis <= RemoteStream.ANSWER_MILLIS + 1_000,
                        headMillis + " ms");
                await().atMost(Duration.ofSeconds(2)).until(() -> silentUntil.get() != 0);
            }
            assertEquals("Test radio", l.header("icy-name"));
            Listening.assertCounting(l.read(20_000));
            assertEquals(how == NoStream.UNREACHABLE ? 0 : 1, asked.get(), "the chosen node was asked first");
            assertEquals(1, passthrough.listeners(), "a listener of this node now");
            assertEquals(0, passthrough.proxied());
            assertEquals(1, local.exchanges.size());
            assertEquals(1.0, registry.get("radiod.passthrough.proxy.fallbacks").counter().count());
        }
    }
}
