package radiod.redirector.stream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;

/**
 * A mount's listeners outlive its upstream: held open, silent, while the one reader of their event loop asks for
 * the mount again (not each listener), then continued on the same responses, or ended at the hold limit.
 */
class PassthroughHoldTest {
    Vertx vertx;
    SimpleMeterRegistry registry;
    Passthrough passthrough;
    HttpServer server;
    Upstreams upstream;

    /** One upstream connection's answer: a head and a body, then (once {@code closeWhen} opens) the end. */
    record Reply(byte[] bytes, CountDownLatch closeWhen) {
    }

    /** Answers the n-th connection with the n-th reply, and 404 after the last. */
    static final class Upstreams implements AutoCloseable {
        final ServerSocket socket;
        final List<Reply> replies;
        final AtomicInteger connections = new AtomicInteger();
        /** Connections whose reply has been written. */
        final AtomicInteger answered = new AtomicInteger();

        Upstreams(List<Reply> replies) throws IOException {
            this.replies = replies;
            socket = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            Thread t = new Thread(() -> {
                while (!socket.isClosed()) {
                    try {
                        Socket s = socket.accept();
                        int n = connections.getAndIncrement();
                        Thread one = new Thread(() -> answer(s, n), "upstream-" + n);
                        one.setDaemon(true);
                        one.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "upstreams");
            t.setDaemon(true);
            t.start();
        }

        private void answer(Socket s, int n) {
            try (s) {
                InputStream in = s.getInputStream();
                StringBuilder head = new StringBuilder();
                while (head.indexOf("\r\n\r\n") < 0) {
                    int b = in.read();
                    if (b < 0) {
                        return;
                    }
                    head.append((char) b);
                }
                OutputStream out = s.getOutputStream();
                Reply r = n < replies.size() ? replies.get(n) : new Reply(
                        "HTTP/1.0 404 Not Found\r\nContent-Type: text/html\r\n\r\nno".getBytes(StandardCharsets.ISO_8859_1), null);
                out.write(r.bytes());
                out.flush();
                answered.incrementAndGet();
                if (r.closeWhen() != null) {
                    r.closeWhen().await(30, TimeUnit.SECONDS);
                }
            } catch (IOException | InterruptedException e) {
                // next connection
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    static Reply reply(String extraHeaders, byte[] body, CountDownLatch closeWhen) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(("HTTP/1.0 200 OK\r\nServer: Icecast 2.4.4\r\nContent-Type: application/octet-stream\r\n" + extraHeaders
                + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        b.writeBytes(body);
        return new Reply(b.toByteArray(), closeWhen);
    }

    static final Reply NOT_YET = new Reply("HTTP/1.0 404 Not Found\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), null);

    void start(List<Reply> replies, Duration hold) throws Exception {
        start(replies, PassthroughSettings.DEFAULTS.withHoldLimit(hold).withLinger(Duration.ofMillis(200)));
    }

    void start(List<Reply> replies, PassthroughSettings settings) throws Exception {
        vertx = Vertx.vertx();
        registry = new SimpleMeterRegistry();
        upstream = new Upstreams(replies);
        passthrough = new Passthrough(vertx, registry, "127.0.0.1", upstream.socket.getLocalPort(), settings);
        server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0).setSendBufferSize(16 * 1024))
                .requestHandler(req -> {
                    passthrough.servesOn(Vertx.currentContext()); // as the front does on each of its event loops
                    passthrough.serve(req, "/live.mp3");
                });
        server.listen().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        upstream.close();
        passthrough.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    static byte[] counting(int from, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (from + i);
        }
        return b;
    }

    @Test
    void anEndedUpstreamIsAskedForAgainOncePerReaderAndTheListenersContinue() throws Exception {
        CountDownLatch endFirst = new CountDownLatch(1);
        CountDownLatch endSecond = new CountDownLatch(1);
        byte[] a = counting(0, 30_000);
        byte[] b = counting(30_000, 20_000);
        // The mount is gone for two re-dials (404: not back yet), then live again.
        start(List.of(reply("", a, endFirst), NOT_YET, NOT_YET, reply("", b, endSecond)), Duration.ofSeconds(5));
        int port = server.actualPort();
        List<Listening> listeners = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            listeners.add(Listening.open(port, Listening.get("/_stream/live.mp3", "HTTP/1.0")));
        }
        try {
            for (Listening l : listeners) {
                assertArrayEquals(a, l.read(a.length), "the first upstream's bytes (a burst for the later ones)");
            }
            assertEquals(1, upstream.connections.get());
            long ended = System.nanoTime();
            endFirst.countDown();
            await().atMost(Duration.ofSeconds(2)).until(() -> passthrough.held() == 3);
            for (Listening l : listeners) {
                assertArrayEquals(b, l.read(b.length), "the same response goes on with the next upstream's bytes");
            }
            long ms = (System.nanoTime() - ended) / 1_000_000;
            assertTrue(ms < 3_000, "back after " + ms + " ms");
            assertEquals(4, upstream.connections.get(), "one re-dial at a time for all three listeners");
            assertEquals(3.0, registry.get("radiod.passthrough.resumed").counter().count());
            assertEquals(3, passthrough.listeners());
            // That upstream ends too, and then nothing answers: held for the limit, then their streams end.
            long t0 = System.nanoTime();
            endSecond.countDown();
            for (Listening l : listeners) {
                l.socket.setSoTimeout(10_000);
                assertEquals(0, l.readToEnd().length);
            }
            long tookMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(tookMs >= 4_500, "ended after " + tookMs + " ms, before the 5 s hold limit");
            int redials = upstream.connections.get() - 4;
            // 250 ms, then 500 ms, then every second: about 6 in 5 s, for all three listeners together.
            assertTrue(redials >= 3 && redials <= 8, redials + " re-dials in a 5 s hold");
            await().atMost(Duration.ofSeconds(2)).until(() -> passthrough.listeners() == 0 && passthrough.held() == 0
                    && passthrough.readers() == 0);
        } finally {
            for (Listening l : listeners) {
                l.close();
            }
        }
    }

    /**
     * The local Icecast restarted and took the feed again ({@link Passthrough#warm}): a held reader waiting a second
     * for its next re-dial asks at once, so its listeners continue as soon as the mount is back.
     */
    @Test
    void aHeldReaderWarmedAsksAtOnceInsteadOfWaitingForItsNextRedial() throws Exception {
        CountDownLatch endFirst = new CountDownLatch(1);
        byte[] a = counting(0, 20_000);
        byte[] b = counting(20_000, 20_000);
        // Gone for two re-dials (250 ms, then 500 ms: the next would wait a second), then back.
        CountDownLatch endSecond = new CountDownLatch(1); // open until the test has counted the connections
        start(List.of(reply("", a, endFirst), NOT_YET, NOT_YET, reply("", b, endSecond)), Duration.ofSeconds(10));
        try (Listening l = Listening.open(server.actualPort(), Listening.get("/_stream/live.mp3", "HTTP/1.0"))) {
            assertArrayEquals(a, l.read(a.length));
            endFirst.countDown();
            await().atMost(Duration.ofSeconds(5)).until(() -> upstream.answered.get() == 3);
            long warmed = System.nanoTime();
            passthrough.warm("/live.mp3").toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertArrayEquals(b, l.read(b.length), "the same response goes on with the mount back");
            long ms = (System.nanoTime() - warmed) / 1_000_000;
            assertTrue(ms < 500, "back " + ms + " ms after the warm; its next re-dial was a second away");
            assertEquals(4, upstream.connections.get());
        } finally {
            endSecond.countDown();
        }
    }

    @Test
    void icyMetadataKeepsTheListenersCadenceAcrossTheSplice() throws Exception {
        byte[] a = counting(0, 25_500);
        byte[] b = counting(25_500, 20_000);
        start(List.of(reply("icy-metaint: 1000\r\n", IcyFramerTest.icy(a, 1000, List.of("first")), null),
                reply("icy-metaint: 700\r\n", IcyFramerTest.icy(b, 700, List.of("second")), null)), Duration.ofMillis(600));
        try (Listening l = Listening.open(server.actualPort(), Listening.get("/_stream/live.mp3", "HTTP/1.0", "Icy-MetaData: 1"))) {
            assertEquals("16000", l.header("icy-metaint"));
            l.socket.setSoTimeout(10_000);
            IcyFramerTest.Parsed parsed = IcyFramerTest.parse(l.readToEnd(), 16_000);
            ByteArrayOutputStream expected = new ByteArrayOutputStream();
            expected.writeBytes(a);
            expected.writeBytes(b);
            assertArrayEquals(expected.toByteArray(), parsed.audio(), "audio intact and metadata where the listener expects it");
            assertEquals(List.of("StreamTitle='first';", "StreamTitle='second';"), parsed.titles());
        }
    }

    /**
     * A player that stopped reading shortly before the stream ended (paused, or gone without a word) and was not
     * dropped yet (less than its queue behind) never takes the end of the body: closed anyway, not kept for as long
     * as TCP keeps a silent peer (minutes) or a zero window (for ever), its session listed all along.
     */
    @Test
    void aListenerThatStoppedReadingIsClosedSoonAfterTheStreamEnds() throws Exception {
        CountDownLatch upstreamEnds = new CountDownLatch(1);
        // A queue of 4 MB, so that the megabyte the listener does not read stays queued, not dropped.
        PassthroughSettings d = PassthroughSettings.DEFAULTS;
        start(List.of(reply("", counting(0, 1_000_000), upstreamEnds)), new PassthroughSettings(d.burstBytes(),
                d.batch(), 4 << 20, Duration.ZERO, Duration.ofMillis(200)));
        try (Listening stopped = Listening.open(server.actualPort(), Listening.get("/_stream/live.mp3", "HTTP/1.0"),
                4096)) {
            // All of it handed to the listener's connection, far more than its socket buffers take.
            await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.bytesSent() == 1_000_000);
            assertEquals(1, passthrough.listeners());
            long ended = System.nanoTime();
            upstreamEnds.countDown();
            await().atMost(Duration.ofMillis(ListenerStream.END_GRACE_MILLIS + 2_000)).pollInterval(Duration.ofMillis(50))
                    .until(() -> passthrough.sessions().current(null).isEmpty()); // closed: the session finished
            long after = Duration.ofNanos(System.nanoTime() - ended).toMillis();
            assertTrue(after >= ListenerStream.END_GRACE_MILLIS - 100, "closed after " + after + " ms, not at once");
            assertEquals(0, passthrough.listeners());
        }
    }

    @Test
    void withoutAHoldTheListenersStreamEndsWithTheUpstream() throws Exception {
        byte[] a = counting(0, 10_000);
        start(List.of(reply("", a, null), reply("", a, null)), Duration.ZERO);
        try (Listening l = Listening.open(server.actualPort(), Listening.get("/_stream/live.mp3", "HTTP/1.0"))) {
            assertArrayEquals(a, l.readToEnd());
        }
        assertEquals(1, upstream.connections.get());
    }
}
