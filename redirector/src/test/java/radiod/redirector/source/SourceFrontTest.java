package radiod.redirector.source;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;

/**
 * The source front's admission rules against a capturing TCP stub standing in for the master's Icecast: what is
 * refused never opens a connection to the master; what is admitted reaches it byte for byte.
 */
class SourceFrontTest {
    static final String HOST = "127.0.0.1";
    static final Mount LIVE = new Mount("/live.mp3", "source", "s3cret", null, null, 0, 128, null);
    static final Mount OTHER_USER = new Mount("/dj.mp3", "dj", "pw-dj", null, null, 0, 128, null);
    static Vertx vertx;

    SimpleMeterRegistry registry;
    CapturingServer masterA;
    CapturingServer masterB;
    AtomicReference<ClusterSnapshot> view;
    SourceFront front;

    @BeforeAll
    static void vertx() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void closeVertx() {
        vertx.close();
    }

    @BeforeEach
    void start() throws Exception {
        registry = new SimpleMeterRegistry();
        masterA = new CapturingServer(HOST);
        masterB = new CapturingServer(HOST);
        view = new AtomicReference<>(snapshot(master("node1", masterA.port())));
        front = new SourceFront(vertx, new SourceFrontSettings(HOST, 0, "127.0.0.9", 8080, Duration.ofMillis(400), 1024),
                view::get, registry);
        front.start().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        front.close();
        masterA.close();
        masterB.close();
    }

    static MasterInfo master(String name, int icecastPort) {
        return new MasterInfo(name, List.of(HOST), icecastPort, 8000, 8080, 1);
    }

    static ClusterSnapshot snapshot(MasterInfo master) {
        return new ClusterSnapshot(1, Map.of(), Optional.ofNullable(master),
                Map.of(LIVE.path(), LIVE, OTHER_USER.path(), OTHER_USER), Map.of(), Map.of());
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    Socket connect() throws IOException {
        Socket s = new Socket(HOST, front.port());
        s.setSoTimeout(5000);
        return s;
    }

    static void send(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
    }

    /** Everything the front sends until it closes the connection (fails on the socket timeout if it never does). */
    static String readUntilClosed(Socket s) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[4096];
        int n;
        while ((n = in.read(buf)) >= 0) {
            out.write(buf, 0, n);
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    String exchange(String request) throws IOException {
        try (Socket s = connect()) {
            send(s, request);
            return readUntilClosed(s);
        }
    }

    double failures(String reason) {
        return registry.get("radiod.source.auth.failures").tag("reason", reason).counter().count();
    }

    double rejections(String reason) {
        return registry.get("radiod.source.rejected").tag("reason", reason).counter().count();
    }

    void assertMasterNeverContacted() {
        await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2))
                .until(() -> masterA.connections().isEmpty() && masterB.connections().isEmpty());
    }

    @Test
    void wrongPasswordGets401AndNothingReachesTheMaster() throws Exception {
        String answer = exchange("SOURCE /live.mp3 HTTP/1.0\r\nAuthorization: " + basic("source", "guess")
                + "\r\nContent-Type: audio/mpeg\r\n\r\nID3-and-some-audio");
        assertTrue(answer.startsWith("HTTP/1.0 401 "), answer);
        assertTrue(answer.contains("WWW-Authenticate: Basic realm=\"Icecast2 Server\"\r\n"), answer);
        String wrongUser = exchange("PUT /dj.mp3 HTTP/1.1\r\nExpect: 100-continue\r\nAuthorization: " + basic("source", "pw-dj")
                + "\r\n\r\n");
        assertTrue(wrongUser.startsWith("HTTP/1.0 401 "), wrongUser);
        assertEquals(2.0, failures("wrong_credentials"));
        assertMasterNeverContacted();
    }

    @Test
    void sourceWithoutCredentialsGetsIcecastsChallengeLikeLibshoutExpects() throws Exception {
        String answer = exchange("SOURCE /live.mp3 HTTP/1.0\r\nContent-Type: application/ogg\r\nContent-Length: 0\r\n"
                + "Connection: Keep-Alive\r\nice-public: 0\r\nPrefer: return=minimal\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.0 401 Authentication Required\r\n"), answer);
        assertTrue(answer.contains("WWW-Authenticate: Basic realm=\"Icecast2 Server\"\r\n"), answer);
        assertEquals(1.0, failures("no_credentials"));
        assertMasterNeverContacted();
    }

    @Test
    void unknownMountGets404AndNothingReachesTheMaster() throws Exception {
        String answer = exchange("SOURCE /nope.mp3 ICE/1.0\r\nAuthorization: " + basic("source", "s3cret") + "\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.0 404 "), answer);
        assertEquals(1.0, failures("unknown_mount"));
        assertMasterNeverContacted();
    }

    @Test
    void garbageIsRefusedAtItsFirstLine() throws Exception {
        String answer = exchange("\u0016\u0003\u0001\u0002\u0000garbage that is no request line\r\n");
        assertTrue(answer.startsWith("HTTP/1.0 400 "), answer);
        // No line end at all: refused once more bytes came than any request line has.
        String endless = exchange("x".repeat(2000));
        assertTrue(endless.startsWith("HTTP/1.0 400 "), endless);
        assertEquals(2.0, rejections("bad_request"));
        assertMasterNeverContacted();
    }

    @Test
    void oversizedHeadIsDropped() throws Exception {
        StringBuilder head = new StringBuilder("SOURCE /live.mp3 HTTP/1.0\r\nAuthorization: " + basic("source", "s3cret") + "\r\n");
        while (head.length() < 1100) {
            head.append("ice-description: ").append("very long ".repeat(5)).append("\r\n");
        }
        String answer = exchange(head.append("\r\n").toString());
        assertTrue(answer.startsWith("HTTP/1.0 400 "), answer);
        assertEquals(1.0, rejections("head_too_large"));
        assertMasterNeverContacted();
    }

    @Test
    void slowHeadIsDroppedAfterTheHeadTimeout() throws Exception {
        try (Socket s = connect()) {
            long started = System.nanoTime();
            send(s, "SOURCE /live.mp3 HTTP/1.0\r\nAuthorization: " + basic("source", "s3cret") + "\r\n");
            assertEquals("", readUntilClosed(s), "a slow client is dropped without an answer");
            long tookMs = (System.nanoTime() - started) / 1_000_000;
            assertTrue(tookMs >= 300 && tookMs < 3000, "dropped after " + tookMs + " ms, head timeout 400 ms");
        }
        assertEquals(1.0, rejections("head_timeout"));
        assertMasterNeverContacted();
    }

    @Test
    void probesGetWhatIcecastAnswers() throws Exception {
        assertEquals("", exchange("OPTIONS * HTTP/1.1\r\nHost: x\r\nUser-Agent: IceS 2.0.3\r\nConnection: Upgrade\r\n"
                + "Upgrade: TLS/1.0, HTTP/1.1\r\n\r\n"), "libshout's TLS probe is closed without an answer");
        String poke = exchange("GET /admin/!POKE HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(poke.startsWith("HTTP/1.0 400 "), poke);
        String post = exchange("POST /live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(post.startsWith("HTTP/1.0 405 "), post);
        assertMasterNeverContacted();
    }

    @Test
    void aListenerOnTheSourcePortIsRedirectedToTheHttpPort() throws Exception {
        String answer = exchange("GET /live.mp3?from=player HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.0 302 "), answer);
        assertTrue(answer.contains("\r\nLocation: http://127.0.0.9:8080/live.mp3?from=player\r\n"), answer);
        assertMasterNeverContacted();
    }

    @Test
    void noMasterGets503() throws Exception {
        view.set(snapshot(null));
        String answer = exchange("SOURCE /live.mp3 HTTP/1.0\r\nAuthorization: " + basic("source", "s3cret") + "\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.0 503 "), answer);
        assertTrue(answer.contains("Retry-After: "), answer);
        assertMasterNeverContacted();
    }

    @Test
    void admittedSourceIsReplayedVerbatimAndPipedBothWays() throws Exception {
        String head = "PUT /live.mp3 HTTP/1.1\r\nUser-Agent: Lavf/59.27.100\r\nAccept: */*\r\nExpect: 100-continue\r\n"
                + "Connection: close\r\nHost: 127.0.0.1\r\nContent-Type: audio/mpeg\r\nIcy-MetaData: 1\r\nIce-Public: 0\r\n"
                + "Authorization: " + basic("source", "s3cret") + "\r\n\r\n";
        try (Socket s = connect()) {
            send(s, head + "early-bytes");
            await().atMost(Duration.ofSeconds(5)).until(() -> masterA.connections().size() == 1
                    && masterA.connections().get(0).received().equals(head + "early-bytes"));
            CapturingServer.Connection icecast = masterA.connections().get(0);
            icecast.send("HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n");
            byte[] answer = s.getInputStream().readNBytes(42);
            assertEquals("HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n", new String(answer, 0, 42, StandardCharsets.ISO_8859_1));
            assertEquals(1, front.activeSources());
            send(s, "MP3-frames");
            await().atMost(Duration.ofSeconds(5)).until(() -> icecast.received().endsWith("early-bytesMP3-frames"));
            assertEquals("early-bytesMP3-frames".length(),
                    registry.get("radiod.bytes.proxied").tag("direction", "source").counter().count());
            icecast.close();
            s.getInputStream().readNBytes(2); // the rest of the answer
            assertEquals(-1, s.getInputStream().read(), "Icecast closing closes the encoder's connection");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> front.activeSources() == 0);
        assertEquals(0, registry.get("radiod.sources.active").gauge().value());
    }

    @Test
    void encoderLeavingClosesTheMasterConnection() throws Exception {
        try (Socket s = connect()) {
            send(s, "SOURCE /dj.mp3 ICE/1.0\r\nAuthorization: " + basic("dj", "pw-dj") + "\r\n\r\n");
            await().atMost(Duration.ofSeconds(5)).until(() -> masterA.connections().size() == 1);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> masterA.connections().get(0).peerClosed());
        await().atMost(Duration.ofSeconds(5)).until(() -> front.activeSources() == 0);
    }

    @Test
    void masterChangeClosesTheSourceAndTheReconnectLandsOnTheNewMaster() throws Exception {
        String request = "SOURCE /live.mp3 HTTP/1.0\r\nAuthorization: " + basic("source", "s3cret") + "\r\n\r\n";
        try (Socket s = connect()) {
            send(s, request);
            await().atMost(Duration.ofSeconds(5)).until(() -> front.activeSources() == 1);
            ClusterSnapshot next = snapshot(master("node2", masterB.port()));
            view.set(next);
            front.viewChanged(next);
            assertEquals("", readUntilClosed(s), "the encoder's connection is closed");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> masterA.connections().get(0).peerClosed());
        try (Socket again = connect()) {
            send(again, request);
            await().atMost(Duration.ofSeconds(5)).until(() -> masterB.connections().size() == 1
                    && masterB.connections().get(0).received().equals(request));
        }
        assertEquals(1, masterA.connections().size());
    }

    @Test
    void aMissedViewChangeIsCaughtByThePeriodicCheck() throws Exception {
        try (Socket s = connect()) {
            send(s, "SOURCE /live.mp3 HTTP/1.0\r\nAuthorization: " + basic("source", "s3cret") + "\r\n\r\n");
            await().atMost(Duration.ofSeconds(5)).until(() -> front.activeSources() == 1);
            view.set(snapshot(master("node2", masterB.port()))); // nobody calls viewChanged
            long started = System.nanoTime();
            assertEquals("", readUntilClosed(s));
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(3));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> masterA.connections().get(0).peerClosed());
    }

    @Test
    void aViewWithoutMasterKeepsTheSourceUntilAnotherMasterIsElected() throws Exception {
        try (Socket s = connect()) {
            send(s, "SOURCE /live.mp3 HTTP/1.0\r\nAuthorization: " + basic("source", "s3cret") + "\r\n\r\n");
            await().atMost(Duration.ofSeconds(5)).until(() -> front.activeSources() == 1);
            ClusterSnapshot none = snapshot(null);
            view.set(none);
            front.viewChanged(none);
            await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> front.activeSources() == 1
                    && !masterA.connections().get(0).peerClosed());
            ClusterSnapshot same = snapshot(master("node1", masterA.port()));
            view.set(same);
            front.viewChanged(same);
            send(s, "still-streaming");
            await().atMost(Duration.ofSeconds(5)).until(() -> masterA.connections().get(0).received().endsWith("still-streaming"));
            assertEquals(1, front.activeSources(), "the same master re-elected: the source never needed to move");
        }
    }
}
