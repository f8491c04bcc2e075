package radiod.redirector.stream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import radiod.cluster.model.ListenerSession;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.access.AccessLog;
import radiod.redirector.access.ClientAddresses;
import radiod.redirector.access.ListenerSessions;

/**
 * The passthrough's listener sessions against a stub Icecast: listed while they stream, with their bytes, and one
 * access log line each when they end, also when they were answered with an error instead.
 */
class ListenerSessionsTest {
    @TempDir
    Path dir;
    Vertx vertx;
    AccessLog log;
    ListenerSessions sessions;
    Passthrough passthrough;
    HttpServer server;
    StubUpstream up;

    @BeforeEach
    void start() {
        vertx = Vertx.vertx();
    }

    @AfterEach
    void stop() throws Exception {
        if (up != null) {
            up.close();
        }
        if (passthrough != null) {
            passthrough.close();
        }
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        if (log != null) {
            log.close();
        }
    }

    int front(StubUpstream upstream) throws Exception {
        up = upstream;
        return front(up.port());
    }

    int front(int upstreamPort) throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        log = AccessLog.open(dir.resolve("access.log"), registry);
        // 127.0.0.1 (the test's own address) is a trusted proxy: X-Forwarded-For names the listener.
        sessions = new ListenerSessions("node1", new ClientAddresses(List.of("127.0.0.0/8"), () -> ClusterSnapshot.EMPTY), log);
        passthrough = new Passthrough(vertx, registry, "127.0.0.1", upstreamPort, PassthroughTest.QUICK, sessions);
        server = vertx.createHttpServer(PassthroughTest.frontOptions())
                .requestHandler(req -> passthrough.serve(req, req.path().substring("/_stream".length())));
        return server.listen().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS).actualPort();
    }

    String logText() {
        try {
            return Files.readString(dir.resolve("access.log"));
        } catch (IOException e) {
            return "";
        }
    }

    @Test
    void aStreamingListenerIsListedAndLoggedOnceWhenItLeaves() throws Exception {
        int port = front(StubUpstream.endless(PassthroughTest.OCTETS, StubUpstream.COUNTING, 10_000, 500, 20));
        long before = System.currentTimeMillis();
        try (Listening l = Listening.open(port, Listening.get("/_stream/live.mp3?x=1", "HTTP/1.1",
                "User-Agent: Player \"9\"", "Referer: http://radio.example/", "X-Forwarded-For: 203.0.113.50"))) {
            assertEquals(200, l.status());
            l.read(20_000);
            await().atMost(Duration.ofSeconds(5)).until(() -> !sessions.current(null).isEmpty()
                    && sessions.current(null).get(0).bytes() >= 20_000);
            ListenerSession s = sessions.current("/live.mp3").get(0);
            assertEquals("node1", s.node());
            assertEquals("203.0.113.50", s.address());
            assertEquals("Player \"9\"", s.userAgent());
            assertEquals("http://radio.example/", s.referer());
            assertTrue(s.connectedAt() >= before && s.connectedAt() <= System.currentTimeMillis());
            assertEquals(List.of(), sessions.current("/other.mp3"));
            assertEquals("", logText());
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> logText().contains("\n"));
        assertEquals(0, sessions.size());
        String line = logText().strip();
        assertTrue(line.startsWith("203.0.113.50 - - ["), line);
        assertTrue(line.contains("] \"GET /_stream/live.mp3?x=1 HTTP/1.1\" 200 "), line);
        assertTrue(line.endsWith(" \"http://radio.example/\" \"Player \\\"9\\\"\" 0"), line);
        long bytes = Long.parseLong(line.split("\" 200 ")[1].split(" ")[0]);
        assertTrue(bytes >= 20_000, line);
        assertEquals(1, logText().lines().count());
    }

    @Test
    void aListenerWhoLeavesBeforeItsAnswerIsLoggedWith499() throws Exception {
        // An Icecast that takes the node's request and says nothing yet (its source loop has not turned).
        try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            int port = front(silent.getLocalPort());
            try (java.net.Socket player = new java.net.Socket("127.0.0.1", port)) {
                player.getOutputStream().write(Listening.get("/_stream/live.mp3", "HTTP/1.1", "User-Agent: impatient")
                        .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.readers() == 1);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> logText().contains("\n"));
            String line = logText().strip();
            assertTrue(line.contains("] \"GET /_stream/live.mp3 HTTP/1.1\" 499 0 \"-\" \"impatient\" "), line);
            assertEquals(1, logText().lines().count());
            assertEquals(0, sessions.size());
        }
    }

    /** A listener still waiting when the node stops is answered 503, and logged so, once: it did not leave. */
    @Test
    void aWaitingListenerRefusedAsTheNodeStopsIsLoggedWith503Once() throws Exception {
        try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            int port = front(silent.getLocalPort());
            try (java.net.Socket player = new java.net.Socket("127.0.0.1", port)) {
                player.setSoTimeout(5_000);
                player.getOutputStream().write(Listening.get("/_stream/live.mp3", "HTTP/1.1", "User-Agent: patient")
                        .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.readers() == 1);
                passthrough.close();
                byte[] head = new byte[12];
                new java.io.DataInputStream(player.getInputStream()).readFully(head);
                assertEquals("HTTP/1.1 503", new String(head, java.nio.charset.StandardCharsets.ISO_8859_1));
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> logText().contains("\n"));
            String line = logText().strip();
            assertTrue(line.contains("] \"GET /_stream/live.mp3 HTTP/1.1\" 503 "), line);
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> logText().lines().count() == 1);
        }
    }

    @Test
    void aListenerAnsweredWithAnErrorIsLoggedWithIt() throws Exception {
        int port = front(StubUpstream.ending("HTTP/1.0 404 File Not Found\r\nServer: Icecast 2.4.4\r\n"
                + "Content-Type: text/html\r\n\r\n", StubUpstream.COUNTING, 0));
        try (Listening l = Listening.open(port, Listening.get("/_stream/gone.mp3", "HTTP/1.0", "User-Agent: x"))) {
            assertEquals(404, l.status());
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> logText().contains("\n"));
        String line = logText().strip();
        assertTrue(line.startsWith("127.0.0.1 - - ["), line);
        assertTrue(line.endsWith("\"GET /_stream/gone.mp3 HTTP/1.0\" 404 0 \"-\" \"x\" 0"), line);
        assertEquals(0, sessions.size());
    }
}
