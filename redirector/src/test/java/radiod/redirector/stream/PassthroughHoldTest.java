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
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;

/** A listener's stream outlives its upstream: held open while the mount is asked for again, then continued. */
class PassthroughHoldTest {
    Vertx vertx;
    SimpleMeterRegistry registry;
    Passthrough passthrough;
    HttpServer server;
    Upstreams upstream;

    /** Answers the n-th connection with the n-th reply (head + body, then close), and 404 after the last. */
    static final class Upstreams implements AutoCloseable {
        final ServerSocket socket;
        final List<byte[]> replies;
        final AtomicInteger connections = new AtomicInteger();

        Upstreams(List<byte[]> replies) throws IOException {
            this.replies = replies;
            socket = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            Thread t = new Thread(() -> {
                while (!socket.isClosed()) {
                    try (Socket s = socket.accept()) {
                        InputStream in = s.getInputStream();
                        StringBuilder head = new StringBuilder();
                        while (head.indexOf("\r\n\r\n") < 0) {
                            int b = in.read();
                            if (b < 0) {
                                break;
                            }
                            head.append((char) b);
                        }
                        int n = connections.getAndIncrement();
                        OutputStream out = s.getOutputStream();
                        out.write(n < replies.size() ? replies.get(n)
                                : "HTTP/1.0 404 Not Found\r\nContent-Type: text/html\r\n\r\nno".getBytes(StandardCharsets.ISO_8859_1));
                        out.flush();
                    } catch (IOException e) {
                        // next connection
                    }
                }
            }, "upstreams");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    static byte[] reply(String extraHeaders, byte[] body) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(("HTTP/1.0 200 OK\r\nServer: Icecast 2.4.4\r\nContent-Type: audio/mpeg\r\n" + extraHeaders + "\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        b.writeBytes(body);
        return b.toByteArray();
    }

    void start(List<byte[]> replies, Duration hold) throws Exception {
        vertx = Vertx.vertx();
        registry = new SimpleMeterRegistry();
        upstream = new Upstreams(replies);
        passthrough = new Passthrough(vertx, registry, 10, Passthrough.DEFAULT_STALL_LIMIT, hold);
        server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
                .requestHandler(req -> passthrough.serve(req, "/live.mp3", "127.0.0.1", upstream.socket.getLocalPort()));
        server.listen().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        upstream.close();
        passthrough.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    byte[] listen(String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", server.actualPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            byte[] all = s.getInputStream().readAllBytes();
            String text = new String(all, StandardCharsets.ISO_8859_1);
            int body = text.indexOf("\r\n\r\n") + 4;
            assertTrue(text.startsWith("HTTP/1.0 200"), text.substring(0, Math.min(200, text.length())));
            return java.util.Arrays.copyOfRange(all, body, all.length);
        }
    }

    @Test
    void anEndedUpstreamIsAskedForAgainAndTheSameResponseContinues() throws Exception {
        byte[] a = IcyFramerTest.audio(30_000, 1);
        byte[] b = IcyFramerTest.audio(20_000, 2);
        // The second connection is refused twice (404, mount not back yet) before the mount is live again.
        byte[] notYet = "HTTP/1.0 404 Not Found\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        start(List.of(reply("", a), notYet, notYet, reply("", b)), Duration.ofSeconds(5));
        long t0 = System.nanoTime();
        byte[] body = listen("GET /_stream/live.mp3 HTTP/1.0\r\n\r\n");
        long tookMs = (System.nanoTime() - t0) / 1_000_000;
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.writeBytes(a);
        expected.writeBytes(b);
        assertArrayEquals(expected.toByteArray(), body, "both upstreams' bytes in one response");
        assertEquals(1.0, registry.get("radiod.passthrough.resumed").counter().count());
        // then no upstream answers: held for the limit, then ended
        assertTrue(tookMs >= 5_000, "ended after " + tookMs + " ms, before the 5 s hold limit");
        await().atMost(Duration.ofSeconds(2)).until(() -> passthrough.active() == 0 && passthrough.held() == 0);
    }

    @Test
    void icyMetadataKeepsTheListenersCadenceAcrossTheSplice() throws Exception {
        byte[] a = IcyFramerTest.audio(25_500, 3);
        byte[] b = IcyFramerTest.audio(16_000, 4);
        start(List.of(reply("icy-metaint: 1000\r\n", IcyFramerTest.icy(a, 1000, List.of("first"))),
                reply("icy-metaint: 1000\r\n", IcyFramerTest.icy(b, 1000, List.of("second")))), Duration.ofMillis(600));
        byte[] body = listen("GET /_stream/live.mp3 HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n");
        IcyFramerTest.Parsed parsed = IcyFramerTest.parse(body, 1000);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.writeBytes(a);
        expected.writeBytes(b);
        assertArrayEquals(expected.toByteArray(), parsed.audio(), "audio intact and metadata where the listener expects it");
        assertEquals("StreamTitle='second';", parsed.titles().get(parsed.titles().size() - 1));
    }

    @Test
    void withoutAHoldTheListenersStreamEndsWithTheUpstream() throws Exception {
        byte[] a = IcyFramerTest.audio(10_000, 5);
        start(List.of(reply("", a), reply("", a)), Duration.ZERO);
        assertArrayEquals(a, listen("GET /_stream/live.mp3 HTTP/1.0\r\n\r\n"));
        assertEquals(1, upstream.connections.get());
    }
}
