package radiod.redirector.source;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.carry.CapturingServer;
import radiod.redirector.carry.Hubs;
import radiod.redirector.carry.Wire;
import radiod.testkit.encoder.Tone;

/**
 * The source front's admission rules and its {@link Ingest}, against capturing TCP stubs standing in for the
 * masters' source ports (their hubs): what is refused never opens a connection to a master; what is admitted reaches
 * the master as {@code INGEST} and {@link Wire} messages carrying exactly the encoder's bytes, cut on MP3 frames
 * (real ffmpeg output), and is held and replayed across master changes and lost upstreams.
 */
class SourceFrontTest {
    static final String HOST = "127.0.0.1";
    static final Mount LIVE = new Mount("/live.mp3", "source", "s3cret", null, null, 0, 128, null);
    static final Mount OTHER_USER = new Mount("/dj.mp3", "dj", "pw-dj", null, null, 0, 128, null);
    static final String OK = "HTTP/1.1 200 OK\r\n\r\n";
    static Vertx vertx;
    /** Four seconds of ffmpeg's MP3 (an ID3v2 tag and about 150 frames). */
    static byte[] mp3;

    /** How long a new encoder is held for a master or a lease in these tests (10 s and 2 s in radiod). */
    static final Duration WAIT = Duration.ofMillis(2000);
    /** How long the tests of held encoders make sure one is not answered, well within {@link #WAIT}. */
    static final long UNANSWERED_MILLIS = 300;

    SimpleMeterRegistry registry;
    CapturingServer masterA;
    CapturingServer masterB;
    AtomicReference<ClusterSnapshot> view;
    AtomicBoolean fenced;
    AtomicBoolean master;
    SourceFront front;

    @BeforeAll
    static void vertx() throws Exception {
        vertx = Vertx.vertx();
        mp3 = Tone.mp3Bytes(4);
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
        fenced = new AtomicBoolean();
        master = new AtomicBoolean();
        front = new SourceFront(vertx, new SourceFrontSettings(HOST, 0, "127.0.0.9", 8080, Duration.ofMillis(400), 1024,
                        WAIT, WAIT),
                view::get, fenced::get, new Hubs(vertx, master::get, "node1", registry), registry);
        front.start().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        front.close();
        masterA.close();
        masterB.close();
    }

    /** A master whose hub (source port) is at HOST:sourcePort. */
    static MasterInfo master(String name, int sourcePort) {
        return master(name, sourcePort, 1);
    }

    /** As {@link #master(String, int)}, elected at {@code electedAt} (a new value: the same node elected again). */
    static MasterInfo master(String name, int sourcePort, long electedAt) {
        return new MasterInfo(name, List.of(HOST), 8000, sourcePort, 8080, electedAt);
    }

    static ClusterSnapshot snapshot(MasterInfo master) {
        return new ClusterSnapshot(1, Map.of(), Optional.ofNullable(master),
                Map.of(LIVE.path(), LIVE, OTHER_USER.path(), OTHER_USER), Map.of(), Map.of());
    }

    void moveView(MasterInfo to) {
        ClusterSnapshot next = snapshot(to);
        view.set(next);
        front.viewChanged(next);
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    static final String SOURCE_LIVE = "SOURCE /live.mp3 HTTP/1.0\r\nAuthorization: " + basic("source", "s3cret")
            + "\r\nContent-Type: audio/mpeg\r\nice-name: Test FM\r\n\r\n";

    Socket connect() throws IOException {
        Socket s = new Socket(HOST, front.port());
        s.setSoTimeout(5000);
        return s;
    }

    static void send(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
    }

    /** Sends bytes [from, to) of the MP3 in chunks of at most 1000 bytes, as an encoder would. */
    static void sendMp3(Socket s, int from, int to) throws IOException {
        OutputStream out = s.getOutputStream();
        for (int i = from; i < to; i += 1000) {
            out.write(mp3, i, Math.min(1000, to - i));
            out.flush();
        }
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

    static String read(Socket s, String expected) throws IOException {
        return new String(s.getInputStream().readNBytes(expected.length()), StandardCharsets.ISO_8859_1);
    }

    String exchange(String request) throws IOException {
        try (Socket s = connect()) {
            send(s, request);
            return readUntilClosed(s);
        }
    }

    /** The stream DATA messages describe, checked to be consistent (overlaps equal, no hole from the first offset). */
    static byte[] assemble(List<Wire.Message> data, long from) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long end = from;
        for (Wire.Message m : data) {
            byte[] p = m.payload().getBytes();
            assertTrue(m.offset() <= end, "no hole before offset " + m.offset() + " (had up to " + end + ")");
            assertTrue(m.offset() >= from, "offset " + m.offset() + " before " + from);
            long skip = end - m.offset();
            if (skip < p.length) {
                out.write(p, (int) skip, (int) (p.length - skip));
                end = m.offset() + p.length;
            }
        }
        return out.toByteArray();
    }

    /** The MP3's bytes [from, to). */
    static byte[] mp3(long from, long to) {
        return Arrays.copyOfRange(mp3, (int) from, (int) to);
    }

    /** Admits a SOURCE encoder through master A's stub and returns the encoder's socket and the stub's connection. */
    record Admitted(Socket encoder, CapturingServer.Connection upstream, String session) {
    }

    Admitted admitAtA() throws IOException {
        Socket s = connect();
        send(s, SOURCE_LIVE);
        CapturingServer.Connection a = masterA.awaitHead(0);
        a.send(OK);
        assertEquals("HTTP/1.0 200 OK\r\n\r\n", read(s, "HTTP/1.0 200 OK\r\n\r\n"));
        return new Admitted(s, a, a.header("x-radiod-session"));
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
        assertEquals(0, front.activeSources());
    }

    // ---- admission ---------------------------------------------------------------------------------------------

    @Test
    void wrongPasswordGets401AndNothingReachesTheMaster() throws Exception {
        String answer = exchange("SOURCE /live.mp3 HTTP/1.0\r\nAuthorization: " + basic("source", "guess")
                + "\r\nContent-Type: audio/mpeg\r\n\r\nID3-and-some-audio");
        assertTrue(answer.startsWith("HTTP/1.0 401 "), answer);
        assertTrue(answer.contains("WWW-Authenticate: Basic realm=\"Icecast2 Server\"\r\n"), answer);
        String wrongUser = exchange("PUT /dj.mp3 HTTP/1.1\r\nExpect: 100-continue\r\nAuthorization: " + basic("source", "pw-dj")
                + "\r\n\r\n");
        assertTrue(wrongUser.startsWith("HTTP/1.0 401 "), wrongUser);
        assertTrue(wrongUser.contains("WWW-Authenticate: Basic realm=\"Icecast2 Server\"\r\n"), wrongUser);
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
    void noMasterForTheWholeWaitGets503WithRetryAfterNever401() throws Exception {
        moveView(null);
        long t0 = System.nanoTime();
        String answer = exchange(SOURCE_LIVE);
        long heldMs = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(answer.startsWith("HTTP/1.0 503 "), answer);
        assertTrue(answer.contains("\r\nRetry-After: "), answer);
        assertTrue(heldMs >= WAIT.toMillis(), "refused after " + heldMs + " ms, before the wait for a master ended");
        assertEquals(1.0, rejections("no_master"));
        assertMasterNeverContacted();
        assertEquals(0, front.waitingSources());
    }

    @Test
    void fencedForTheWholeWaitGets503WithRetryAfterNever401() throws Exception {
        fenced.set(true);
        long t0 = System.nanoTime();
        String answer = exchange("PUT /live.mp3 HTTP/1.1\r\nExpect: 100-continue\r\nContent-Type: audio/mpeg\r\n"
                + "Authorization: " + basic("source", "s3cret") + "\r\n\r\n");
        long heldMs = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(answer.startsWith("HTTP/1.0 503 "), answer);
        assertTrue(answer.contains("\r\nRetry-After: "), answer);
        assertTrue(heldMs >= WAIT.toMillis(), "refused after " + heldMs + " ms, before the wait for a lease ended");
        moveView(null); // fenced and no master: still 503
        String again = exchange(SOURCE_LIVE);
        assertTrue(again.startsWith("HTTP/1.0 503 "), again);
        assertTrue(again.contains("\r\nRetry-After: "), again);
        assertEquals(2.0, rejections("fenced"));
        assertMasterNeverContacted();
    }

    /**
     * A node that has not read its view yet (starting, or started while etcd is down) does not know the mount: the
     * encoder is held as on a fenced node, then asked to come back with a 503, never refused with a 404; held, it
     * streams once the view comes.
     */
    @Test
    void aViewNotReadYetHoldsTheEncoderThenGets503Never404() throws Exception {
        ClusterSnapshot known = view.get();
        view.set(ClusterSnapshot.EMPTY);
        long t0 = System.nanoTime();
        String answer = exchange(SOURCE_LIVE);
        long heldMs = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(answer.startsWith("HTTP/1.0 503 "), answer);
        assertTrue(answer.contains("\r\nRetry-After: "), answer);
        assertTrue(heldMs >= WAIT.toMillis(), "refused after " + heldMs + " ms, before the wait for the view ended");
        assertEquals(0.0, failures("unknown_mount"));
        assertEquals(1.0, rejections("fenced"));
        try (Socket s = connect()) {
            send(s, SOURCE_LIVE);
            assertNothingAnsweredFor(s, UNANSWERED_MILLIS);
            assertHeldWithoutContactingAMaster();
            moveView(known.master().orElseThrow());
            CapturingServer.Connection hub = masterA.awaitHead(0);
            assertTrue(hub.head().startsWith("INGEST /live.mp3 HTTP/1.1\r\n"), hub.head());
            hub.send(OK);
            assertEquals("HTTP/1.0 200 OK\r\n\r\n", read(s, "HTTP/1.0 200 OK\r\n\r\n"));
        }
    }

    /**
     * An encoder that arrives while no master is elected (the cluster electing one, or this node just started) is
     * held unanswered, not refused, and streams to the master the moment the view names one: a plain ffmpeg, which
     * never reconnects, would otherwise be lost.
     */
    @Test
    void aNewEncoderWithNoMasterIsHeldUntilOneIsElected() throws Exception {
        moveView(null);
        try (Socket s = connect()) {
            send(s, SOURCE_LIVE);
            assertNothingAnsweredFor(s, UNANSWERED_MILLIS);
            assertHeldWithoutContactingAMaster();
            moveView(master("node2", masterB.port()));
            CapturingServer.Connection hub = masterB.awaitHead(0);
            assertTrue(hub.head().startsWith("INGEST /live.mp3 HTTP/1.1\r\n"), hub.head());
            hub.send(OK);
            assertEquals("HTTP/1.0 200 OK\r\n\r\n", read(s, "HTTP/1.0 200 OK\r\n\r\n"));
            sendMp3(s, 0, mp3.length);
            await().atMost(Duration.ofSeconds(5)).until(() -> hub.dataEnd() == mp3.length);
            assertArrayEquals(mp3, assemble(hub.data(), 0));
            assertEquals(1, front.activeSources());
            assertEquals(0, front.waitingSources());
        }
        assertEquals(0.0, rejections("no_master"));
    }

    /** A node that has just started takes its lease a moment after its source port opens: an encoder waits for it. */
    @Test
    void aNewEncoderOnANodeWithoutItsLeaseYetIsHeldUntilTheLeaseIsThere() throws Exception {
        fenced.set(true);
        try (Socket s = connect()) {
            send(s, "PUT /live.mp3 HTTP/1.1\r\nExpect: 100-continue\r\nContent-Type: audio/mpeg\r\nAuthorization: "
                    + basic("source", "s3cret") + "\r\n\r\n");
            assertNothingAnsweredFor(s, UNANSWERED_MILLIS);
            assertHeldWithoutContactingAMaster();
            fenced.set(false);
            CapturingServer.Connection hub = masterA.awaitHead(0);
            hub.send(OK);
            String cont = "HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n";
            assertEquals(cont, read(s, cont));
            assertEquals(1, front.activeSources());
            assertEquals(0, front.waitingSources());
        }
        assertEquals(0.0, rejections("fenced"));
    }

    /** A held encoder that gives up is let go: nothing is sent anywhere, it is no longer counted as waiting. */
    @Test
    void aHeldEncoderThatHangsUpIsLetGo() throws Exception {
        moveView(null);
        try (Socket s = connect()) {
            send(s, SOURCE_LIVE);
            assertNothingAnsweredFor(s, UNANSWERED_MILLIS);
            assertHeldWithoutContactingAMaster();
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> front.waitingSources() == 0);
        assertEquals(0.0, registry.get("radiod.sources.waiting").gauge().value());
        moveView(master("node2", masterB.port()));
        assertMasterNeverContacted();
        assertEquals(0.0, rejections("no_master"));
    }

    /** Held by this node and no further: the masters have not been dialed, the connection is counted as waiting. */
    void assertHeldWithoutContactingAMaster() {
        assertTrue(masterA.connections().isEmpty() && masterB.connections().isEmpty(), "a master was dialed");
        assertEquals(0, front.activeSources());
        assertEquals(1, front.waitingSources());
        assertEquals(1.0, registry.get("radiod.sources.waiting").gauge().value());
    }

    static void assertNothingAnsweredFor(Socket s, long millis) throws IOException {
        int timeout = s.getSoTimeout();
        s.setSoTimeout((int) millis);
        try {
            int b = s.getInputStream().read();
            fail("answered while held: " + (b < 0 ? "closed" : "a byte " + b));
        } catch (java.net.SocketTimeoutException expected) {
            // held, unanswered
        } finally {
            s.setSoTimeout(timeout);
        }
    }

    // ---- ingest ------------------------------------------------------------------------------------------------

    @Test
    void admittedEncoderReachesTheMasterAsIngestWithItsBytesCutIntoFrames() throws Exception {
        String head = "PUT /live.mp3 HTTP/1.1\r\nUser-Agent: Lavf/59.27.100\r\nAccept: */*\r\nExpect: 100-continue\r\n"
                + "Connection: close\r\nHost: 127.0.0.1\r\nContent-Type: audio/mpeg\r\nIcy-MetaData: 1\r\nIce-Public: 0\r\n"
                + "Ice-Name: Test FM\r\nAuthorization: " + basic("source", "s3cret") + "\r\n\r\n";
        try (Socket s = connect()) {
            long before = System.currentTimeMillis();
            send(s, head);
            CapturingServer.Connection hub = masterA.awaitHead(0);
            long after = System.currentTimeMillis();
            assertTrue(hub.head().startsWith("INGEST /live.mp3 HTTP/1.1\r\n"), hub.head());
            String session = hub.header("x-radiod-session");
            assertNotNull(session, hub.head());
            String since = hub.header("x-radiod-since"); // when the encoder connected: the hub's tie-break
            assertTrue(Long.parseLong(since) >= before && Long.parseLong(since) <= after, hub.head());
            assertEquals(Set.of("authorization: " + basic("source", "s3cret"), "x-radiod-session: " + session,
                    "x-radiod-since: " + since, "content-type: audio/mpeg", "ice-public: 0", "ice-name: Test FM"),
                    Set.copyOf(hub.headerLines()));
            assertEquals(0, s.getInputStream().available(), "the encoder is answered once the master took its stream");

            hub.send(OK);
            String cont = "HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n";
            assertEquals(cont, read(s, cont));
            assertEquals(1, front.activeSources());
            sendMp3(s, 0, mp3.length);
            await().atMost(Duration.ofSeconds(5)).until(() -> hub.dataEnd() == mp3.length);
            List<Wire.Message> data = hub.data();
            assertEquals(0, data.get(0).offset());
            assertArrayEquals(mp3, assemble(data, 0), "the DATA payloads, concatenated, are the encoder's bytes");
            for (Wire.Message m : data) {
                int at = (int) m.offset();
                assertTrue(m.offset() == 0 || (mp3[at] & 0xFF) == 0xFF, "DATA at " + at + " starts on a frame");
            }
            assertEquals(mp3.length, registry.get("radiod.proxied").tag("direction", "source").counter().count());

            s.shutdownOutput(); // the encoder leaves cleanly
            await().atMost(Duration.ofSeconds(5)).until(hub::peerClosed);
            List<Wire.Message> all = hub.messages();
            Wire.Message last = all.get(all.size() - 1);
            assertEquals(Wire.END, last.type());
            assertEquals(mp3.length, last.offset());
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> front.activeSources() == 0);
        assertEquals(0, registry.get("radiod.sources.active").gauge().value());
    }

    /**
     * radiod's shutdown thread closes the front: the ingests and hubs are its event loop's (an ingest asserts it), and
     * by the time close returns every encoder has been closed and the master's hub has been let go.
     */
    @Test
    void closingFromAnotherThreadClosesEveryEncoderOnTheFrontsLoopBeforeItReturns() throws Exception {
        Admitted e = admitAtA();
        try (Socket s = e.encoder()) {
            sendMp3(s, 0, mp3.length / 4);
            await().atMost(Duration.ofSeconds(5)).until(() -> e.upstream().dataEnd() > 0);
            assertEquals(1, front.activeSources());
            front.close();
            assertEquals(0, front.activeSources(), "closed before close() returned");
            s.setSoTimeout(5_000);
            assertEquals(-1, s.getInputStream().read(), "the encoder's connection is closed");
            await().atMost(Duration.ofSeconds(5)).until(e.upstream()::peerClosed);
        }
    }

    @Test
    void masterAnswering403GetsTheEncoderA403() throws Exception {
        try (Socket s = connect()) {
            send(s, "PUT /live.mp3 HTTP/1.1\r\nExpect: 100-continue\r\nContent-Type: audio/mpeg\r\nAuthorization: "
                    + basic("source", "s3cret") + "\r\n\r\n");
            CapturingServer.Connection hub = masterA.awaitHead(0);
            hub.send("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            String answer = readUntilClosed(s);
            assertTrue(answer.startsWith("HTTP/1.0 403 Forbidden\r\n"), answer);
            await().atMost(Duration.ofSeconds(5)).until(hub::peerClosed);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> front.activeSources() == 0);
        assertEquals(1, masterA.connections().size());
        assertEquals(1.0, rejections("in_use"));
    }

    @Test
    void masterChangeKeepsTheEncoderAndReplaysTheRingToTheNewMaster() throws Exception {
        Admitted e = admitAtA();
        try (Socket s = e.encoder()) {
            int half = mp3.length / 2;
            sendMp3(s, 0, half);
            // Everything but the frame still incomplete at the cut.
            await().atMost(Duration.ofSeconds(5)).until(() -> e.upstream().dataEnd() > half - 1500);
            long oldEnd = e.upstream().dataEnd();
            assertArrayEquals(mp3(0, oldEnd), assemble(e.upstream().data(), 0));

            moveView(master("node2", masterB.port()));
            CapturingServer.Connection b = masterB.awaitHead(0);
            assertTrue(b.head().startsWith("INGEST /live.mp3 HTTP/1.1\r\n"), b.head());
            assertEquals(e.session(), b.header("x-radiod-session"), "the same session on the new master");
            assertEquals(basic("source", "s3cret"), b.header("authorization"));
            await().atMost(Duration.ofSeconds(5)).until(() -> e.upstream().peerClosed());
            b.send(OK);
            await().atMost(Duration.ofSeconds(5)).until(() -> b.dataEnd() >= oldEnd);
            long firstOffset = b.data().get(0).offset();
            assertEquals(0, firstOffset, "the replay starts at the ring's start (it holds the whole 2 s)");

            sendMp3(s, half, mp3.length); // live data, on the same encoder connection
            await().atMost(Duration.ofSeconds(5)).until(() -> b.dataEnd() == mp3.length);
            assertArrayEquals(mp3, assemble(b.data(), 0));
            assertEquals(oldEnd, e.upstream().dataEnd(), "nothing more went to the old master");
            assertEquals(1, front.activeSources());
            assertEquals(1, masterA.connections().size());
            assertEquals(1, masterB.connections().size());
        }
    }

    @Test
    void upstreamLostWithoutViewChangeKeepsTheEncoderAndRedialsWithTheReplay() throws Exception {
        Admitted e = admitAtA();
        try (Socket s = e.encoder()) {
            int third = mp3.length / 3;
            sendMp3(s, 0, third);
            await().atMost(Duration.ofSeconds(5)).until(() -> e.upstream().dataEnd() > third - 1500);
            long oldEnd = e.upstream().dataEnd();
            e.upstream().close(); // the master's hub dropped it (say, its process was killed)

            CapturingServer.Connection again = masterA.awaitHead(1);
            assertTrue(again.head().startsWith("INGEST /live.mp3 HTTP/1.1\r\n"), again.head());
            assertEquals(e.session(), again.header("x-radiod-session"));
            sendMp3(s, third, 2 * third); // while the master has not answered yet: into the ring
            again.send(OK);
            await().atMost(Duration.ofSeconds(5)).until(() -> again.dataEnd() > 2 * third - 1500);
            assertEquals(0, again.data().get(0).offset(), "replayed from the ring's start");
            assertTrue(again.data().get(0).offset() <= oldEnd);
            sendMp3(s, 2 * third, mp3.length);
            await().atMost(Duration.ofSeconds(5)).until(() -> again.dataEnd() == mp3.length);
            assertArrayEquals(mp3, assemble(again.data(), 0));
            assertEquals(1, front.activeSources());
            assertEquals(2, masterA.connections().size());
            assertTrue(masterB.connections().isEmpty());
        }
    }

    /**
     * The master's hub dropped the ingest and turns it away (the node lost its lease and campaigns again): the redial
     * backoff grows to half a second. When the same node is elected again, the ingest goes at once.
     */
    @Test
    void anIngestWaitingOutItsBackoffDialsAtOnceWhenTheSameNodeIsElectedAgain() throws Exception {
        Admitted e = admitAtA();
        try (Socket s = e.encoder()) {
            sendMp3(s, 0, 10_000);
            e.upstream().close();
            for (int i = 1; i <= 4; i++) { // redials after 50, 100, 200, 400 ms, then 500
                CapturingServer.Connection refused = masterA.awaitHead(i);
                refused.send("HTTP/1.1 409 Conflict\r\n\r\n");
                await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(2)).until(refused::peerClosed);
            }
            long elected = System.nanoTime();
            moveView(master("node1", masterA.port(), 2));
            await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(2))
                    .until(() -> masterA.connections().size() > 5);
            long ms = (masterA.connections().get(5).acceptedNanos - elected) / 1_000_000;
            System.out.printf("measured: ingest dialed %d ms after the same node was elected again%n", ms);
            assertTrue(ms <= 250, "the ingest waited " + ms + " ms for its backoff");
            CapturingServer.Connection again = masterA.awaitHead(5);
            assertEquals(e.session(), again.header("x-radiod-session"));
            again.send(OK);
            await().atMost(Duration.ofSeconds(5)).until(() -> again.dataEnd() > 8_500);
            assertEquals(1, front.activeSources());
        }
    }

    @Test
    void noMasterForAWhileHoldsTheEncoderAndTheNextMasterGetsTheReplay() throws Exception {
        Admitted e = admitAtA();
        try (Socket s = e.encoder()) {
            sendMp3(s, 0, 20_000);
            await().atMost(Duration.ofSeconds(5)).until(() -> e.upstream().dataEnd() > 18_500);
            moveView(null);
            e.upstream().close();
            sendMp3(s, 20_000, 40_000); // held: into the ring
            moveView(master("node2", masterB.port()));
            CapturingServer.Connection b = masterB.awaitHead(0);
            assertEquals(e.session(), b.header("x-radiod-session"));
            b.send(OK);
            sendMp3(s, 40_000, mp3.length);
            await().atMost(Duration.ofSeconds(5)).until(() -> b.dataEnd() == mp3.length);
            assertEquals(0, b.data().get(0).offset());
            assertArrayEquals(mp3, assemble(b.data(), 0));
            assertEquals(1, masterA.connections().size(), "no master in the view: nobody was dialed");
            assertEquals(1, front.activeSources());
        }
    }

    @Test
    void fencedForTheGraceClosesTheEncoder() throws Exception {
        Admitted e = admitAtA();
        try (Socket s = e.encoder()) {
            sendMp3(s, 0, 10_000);
            await().atMost(Duration.ofSeconds(5)).until(() -> e.upstream().dataEnd() > 8_500);
            long started = System.nanoTime();
            fenced.set(true); // nobody calls viewChanged: the ingest's own check sees it
            assertEquals("", readUntilClosed(s), "the encoder's connection is closed");
            long tookMs = (System.nanoTime() - started) / 1_000_000;
            long graceMs = Ingest.FENCED_GRACE_NANOS / 1_000_000;
            assertTrue(tookMs >= graceMs && tookMs < graceMs + 1000, "closed after " + tookMs + " ms");
            await().atMost(Duration.ofSeconds(5)).until(() -> e.upstream().peerClosed());
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> front.activeSources() == 0);
        assertEquals(1, masterA.connections().size());
    }

    @Test
    void aFencingShorterThanTheGraceKeepsTheEncoder() throws Exception {
        Admitted e = admitAtA();
        try (Socket s = e.encoder()) {
            sendMp3(s, 0, 10_000);
            await().atMost(Duration.ofSeconds(5)).until(() -> e.upstream().dataEnd() > 8_500);
            fenced.set(true); // an etcd hiccup on this node
            long until = System.nanoTime() + Ingest.FENCED_GRACE_NANOS / 2;
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            fenced.set(false);
            sendMp3(s, 10_000, 20_000);
            await().atMost(Duration.ofSeconds(5)).until(() -> e.upstream().dataEnd() > 18_500);
            long after = System.nanoTime() + Ingest.FENCED_GRACE_NANOS;
            await().atMost(Duration.ofSeconds(5)).until(() -> System.nanoTime() > after);
            assertEquals(1, front.activeSources(), "the encoder was kept through a short fencing");
            assertFalse(e.upstream().peerClosed());
        }
    }

    @Test
    void noMasterForLongerThanTheHoldBoundClosesTheEncoder() throws Exception {
        Admitted e = admitAtA();
        AtomicBoolean stop = new AtomicBoolean();
        try (Socket s = e.encoder()) {
            sendMp3(s, 0, 10_000);
            await().atMost(Duration.ofSeconds(5)).until(() -> e.upstream().dataEnd() > 8_500);
            moveView(null);
            long started = System.nanoTime();
            e.upstream().close();
            // The encoder keeps sending (about 8 KB/s) so that it is never idle: only the hold bound applies.
            Thread encoder = new Thread(() -> {
                int at = 10_000;
                try {
                    while (!stop.get()) {
                        s.getOutputStream().write(mp3, at, 1000);
                        at = at + 1000 + 1000 > mp3.length ? 10_000 : at + 1000;
                        Thread.sleep(125);
                    }
                } catch (IOException | InterruptedException x) {
                    // closed
                }
            });
            encoder.setDaemon(true);
            encoder.start();
            s.setSoTimeout(20_000);
            assertEquals("", readUntilClosed(s));
            long tookMs = (System.nanoTime() - started) / 1_000_000;
            long holdMs = Ingest.HOLD_NANOS / 1_000_000;
            assertTrue(tookMs >= holdMs - 100 && tookMs < holdMs + 1500,
                    "closed " + tookMs + " ms after the master went; hold bound " + holdMs + " ms");
        } finally {
            stop.set(true);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> front.activeSources() == 0);
        assertEquals(1, masterA.connections().size());
        assertTrue(masterB.connections().isEmpty());
    }

    // ---- INGEST and PULL on the source port (this node as master) ----------------------------------------------

    @Test
    void ingestAndPullAreCheckedBeforeTheHubsTakeThem() throws Exception {
        String wrong = exchange("INGEST /live.mp3 HTTP/1.1\r\nAuthorization: " + basic("source", "guess")
                + "\r\nX-Radiod-Session: x-1\r\n\r\n");
        assertTrue(wrong.startsWith("HTTP/1.0 401 "), wrong);
        String unknown = exchange("PULL /nope.mp3 HTTP/1.1\r\n\r\n");
        assertTrue(unknown.startsWith("HTTP/1.0 404 "), unknown);
        String notMasterIngest = exchange("INGEST /live.mp3 HTTP/1.1\r\nAuthorization: " + basic("source", "s3cret")
                + "\r\nX-Radiod-Session: x-1\r\n\r\n");
        assertTrue(notMasterIngest.startsWith("HTTP/1.1 409 "), notMasterIngest);
        String notMasterPull = exchange("PULL /live.mp3 HTTP/1.1\r\n\r\n");
        assertTrue(notMasterPull.startsWith("HTTP/1.1 409 "), notMasterPull);
        master.set(true);
        String noSession = exchange("INGEST /live.mp3 HTTP/1.1\r\nAuthorization: " + basic("source", "s3cret") + "\r\n\r\n");
        assertTrue(noSession.startsWith("HTTP/1.1 400 "), noSession);
        assertMasterNeverContacted();
    }

    @Test
    void asItsOwnMasterTheFrontCarriesTheEncoderToItsPulls() throws Exception {
        master.set(true);
        moveView(master("self", front.port()));
        try (Socket pull = connect(); Socket s = connect()) {
            send(pull, "PULL /live.mp3 HTTP/1.1\r\n\r\n");
            assertEquals(OK, read(pull, OK));
            send(s, SOURCE_LIVE);
            assertEquals("HTTP/1.0 200 OK\r\n\r\n", read(s, "HTTP/1.0 200 OK\r\n\r\n"));
            sendMp3(s, 0, mp3.length);
            List<Wire.Message> got = new ArrayList<>();
            Wire.Decoder decoder = new Wire.Decoder(got::add);
            byte[] buf = new byte[8192];
            while (got.stream().filter(m -> m.type() == Wire.DATA).mapToLong(m -> m.offset() + m.payload().length())
                    .max().orElse(0) < mp3.length) {
                int n = pull.getInputStream().read(buf);
                assertTrue(n > 0, "the pull was closed");
                decoder.accept(Buffer.buffer(Arrays.copyOf(buf, n)));
            }
            assertEquals(Wire.SESSION, got.get(0).type());
            assertEquals(0, got.get(0).offset());
            assertTrue(Wire.sessionHeaders(got.get(0)).contains("content-type: audio/mpeg\r\n"), Wire.sessionHeaders(got.get(0)));
            List<Wire.Message> data = got.stream().filter(m -> m.type() == Wire.DATA).toList();
            assertArrayEquals(mp3, assemble(data, 0));

            // A pull resuming inside the hub's ring gets exactly the bytes after its offset.
            try (Socket resume = connect()) {
                long at = 30_001;
                send(resume, "PULL /live.mp3 HTTP/1.1\r\nX-Radiod-Resume: " + Wire.sessionId(got.get(0)) + " " + at
                        + "\r\n\r\n");
                assertEquals(OK, read(resume, OK));
                List<Wire.Message> more = new ArrayList<>();
                Wire.Decoder d2 = new Wire.Decoder(more::add);
                while (more.stream().mapToLong(m -> m.offset() + m.payload().length()).max().orElse(0) < mp3.length) {
                    int n = resume.getInputStream().read(buf);
                    assertTrue(n > 0, "the resumed pull was closed");
                    d2.accept(Buffer.buffer(Arrays.copyOf(buf, n)));
                }
                assertEquals(Wire.DATA, more.get(0).type(), "a resumed pull needs no SESSION");
                assertEquals(at, more.get(0).offset());
                assertArrayEquals(mp3(at, mp3.length), assemble(more, at));
            }
        }
    }

    // --- song titles (Icecast metadata updates) and kicks ---

    record Kept(String mount, String title, String session) {
    }

    final List<Kept> kept = new CopyOnWriteArrayList<>();
    final List<String> gone = new CopyOnWriteArrayList<>();

    /** Titles go to the lists above, and encoders that leave are noted there. */
    void desk() {
        front.titles(new TitleDesk() {
            @Override
            public CompletableFuture<Void> set(String mount, String title, String session) {
                kept.add(new Kept(mount, title, session));
                return CompletableFuture.completedFuture(null);
            }

            @Override
            public void gone(String mount, String session) {
                gone.add(mount + " " + session);
            }
        });
    }

    /** Sends raw bytes, as butt does (it writes the request and may close without reading). */
    String exchangeBytes(byte[] request) throws IOException {
        try (Socket s = connect()) {
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            return readUntilClosed(s);
        }
    }

    static byte[] concat(String a, byte[] b, String c) {
        byte[] x = a.getBytes(StandardCharsets.ISO_8859_1);
        byte[] z = c.getBytes(StandardCharsets.ISO_8859_1);
        byte[] out = new byte[x.length + b.length + z.length];
        System.arraycopy(x, 0, out, 0, x.length);
        System.arraycopy(b, 0, out, x.length, b.length);
        System.arraycopy(z, 0, out, x.length + b.length, z.length);
        return out;
    }

    @Test
    void buttsUpdateWithRawUtf8IsTakenAndAnsweredAsIcecastDoes() throws Exception {
        desk();
        // butt escapes only spaces and ampersands; everything else goes raw, UTF-8 from its text field.
        byte[] song = "Café%20%26%20Friends%20–%20Ünïcode".getBytes(StandardCharsets.UTF_8);
        String answer = exchangeBytes(concat("GET /admin/metadata?mode=updinfo&mount=/live.mp3&charset=UTF-8&song=", song,
                " HTTP/1.0\r\nUser-Agent: butt 0.1.40\r\nAuthorization: " + basic("source", "s3cret")
                        + "\r\nHost: 127.0.0.9:8000\r\n\r\n"));
        assertTrue(answer.startsWith("HTTP/1.0 200 OK\r\n"), answer);
        assertTrue(answer.contains("Content-Type: text/xml"), answer);
        assertTrue(answer.endsWith(SourceFront.METADATA_OK), answer);
        assertEquals(List.of(new Kept("/live.mp3", "Café & Friends – Ünïcode", "")), kept);
    }

    @Test
    void liquidsoapsPercentEncodedUpdateAndArtistPlusTitleAreTaken() throws Exception {
        desk();
        String a = exchange("GET /admin/metadata?mode=updinfo&mount=%2Flive.mp3&song=Caf%C3%A9+del+Mar HTTP/1.0\r\n"
                + "Authorization: " + basic("source", "s3cret") + "\r\n\r\n");
        assertTrue(a.startsWith("HTTP/1.0 200 OK"), a);
        String b = exchange("GET /admin/metadata?mode=updinfo&mount=/live.mp3&artist=Nina%20Simone&title=Sinnerman HTTP/1.1\r\n"
                + "Host: x\r\nAuthorization: " + basic("source", "s3cret") + "\r\n\r\n");
        assertTrue(b.startsWith("HTTP/1.0 200 OK"), b);
        // Latin-1 bytes without a charset: older encoders; read as ISO-8859-1 since they are not UTF-8.
        String c = exchange("GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=Caf%E9 HTTP/1.0\r\n"
                + "Authorization: " + basic("source", "s3cret") + "\r\n\r\n");
        assertTrue(c.startsWith("HTTP/1.0 200 OK"), c);
        assertEquals(List.of("Café del Mar", "Nina Simone - Sinnerman", "Café"), kept.stream().map(Kept::title).toList());
    }

    @Test
    void badUpdatesGetA4xxThatSaysWhyAndChangeNothing() throws Exception {
        desk();
        String auth = "\r\nAuthorization: " + basic("source", "s3cret") + "\r\n\r\n";
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=a HTTP/1.0\r\nAuthorization: "
                + basic("source", "wrong") + "\r\n\r\n", "401 ");
        cases.put("GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=a HTTP/1.0\r\n\r\n", "401 ");
        cases.put("GET /admin/metadata?mode=updinfo&mount=/dj.mp3&song=a HTTP/1.0" + auth, "401 ");
        cases.put("GET /admin/metadata?mode=updinfo&mount=/nope.mp3&song=a HTTP/1.0" + auth, "404 ");
        cases.put("GET /admin/metadata?mode=updinfo&song=a HTTP/1.0" + auth, "400 ");
        cases.put("GET /admin/metadata?mode=updinfo&mount=live&song=a HTTP/1.0" + auth, "400 ");
        cases.put("GET /admin/metadata?mount=/live.mp3&song=a HTTP/1.0" + auth, "400 ");
        cases.put("GET /admin/metadata?mode=updinfo&mount=/live.mp3 HTTP/1.0" + auth, "400 ");
        cases.put("GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=a%00b%01 HTTP/1.0" + auth, "400 ");
        cases.put("GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=" + "x".repeat(1025) + " HTTP/1.0" + auth, "400 ");
        cases.put("GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=%FF%FE&charset=UTF-8 HTTP/1.0" + auth, "400 ");
        cases.put("GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=a&charset=klingon-9 HTTP/1.0" + auth, "400 ");
        cases.put("GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=%zz HTTP/1.0" + auth, "400 ");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            String answer = exchange(c.getKey());
            assertTrue(answer.startsWith("HTTP/1.0 " + c.getValue()), c.getKey() + " -> " + answer);
            String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
            assertTrue(body.length() > 3, "the answer says why: " + answer);
        }
        assertEquals(List.of(), kept, "nothing kept");
        // Still answering, and a good update after all of that is taken.
        assertTrue(exchange("GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=ok HTTP/1.0" + auth)
                .startsWith("HTTP/1.0 200 OK"));
        assertEquals(1, kept.size());
    }

    @Test
    void anUpdateWhileFencedGets503() throws Exception {
        desk();
        fenced.set(true);
        String answer = exchange("GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=a HTTP/1.0\r\nAuthorization: "
                + basic("source", "s3cret") + "\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.0 503 "), answer);
        assertEquals(List.of(), kept);
    }

    /** Before the node's first read of etcd, whether a mount exists is not known: a title gets 503, never 404. */
    @Test
    void anUpdateBeforeTheViewIsReadGets503NotTheUnknownMounts404() throws Exception {
        desk();
        ClusterSnapshot known = view.get();
        view.set(ClusterSnapshot.EMPTY);
        String answer = exchange("GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=a HTTP/1.0\r\nAuthorization: "
                + basic("source", "s3cret") + "\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.0 503 "), answer);
        assertTrue(answer.contains("\r\nRetry-After: "), answer);
        assertTrue(answer.contains("not read the cluster's state"), answer);
        assertEquals(1.0, rejections("fenced"));
        assertEquals(List.of(), kept);
        view.set(known);
        assertTrue(exchange("GET /admin/metadata?mode=updinfo&mount=/nope.mp3&song=a HTTP/1.0\r\nAuthorization: "
                + basic("source", "s3cret") + "\r\n\r\n").startsWith("HTTP/1.0 404 "));
    }

    @Test
    void anUpdateFromTheEncodersOwnNodeCarriesItsSession() throws Exception {
        desk();
        Admitted a = admitAtA();
        String answer = exchange("GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=mine HTTP/1.0\r\nAuthorization: "
                + basic("source", "s3cret") + "\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.0 200 OK"), answer);
        assertEquals(List.of(new Kept("/live.mp3", "mine", a.session())), kept);
        a.encoder().close();
        await().atMost(Duration.ofSeconds(5)).until(() -> gone.contains("/live.mp3 " + a.session()));
    }

    @Test
    void aKickClosesTheEncodersTakenBeforeItAndNotTheOnesAfter() throws Exception {
        desk();
        Admitted first = admitAtA(); // taken in the view of revision 1
        assertEquals(Map.of("/live.mp3", first.session()), front.sessions());
        ClusterSnapshot before = view.get();
        ClusterSnapshot kicked = new ClusterSnapshot(5, before.nodes(), before.master(), before.mounts(),
                before.transcoders(), before.drains(), Map.of(), Map.of("/live.mp3", 4L));
        view.set(kicked);
        front.viewChanged(kicked);
        assertEquals(-1, first.encoder().getInputStream().read(), "the kicked encoder is closed");
        await().atMost(Duration.ofSeconds(5)).until(() -> gone.contains("/live.mp3 " + first.session()));
        await().atMost(Duration.ofSeconds(5)).until(() -> front.sessions().isEmpty());

        // An encoder that reconnects after the kick (view revision 5 > 4) stays, however often the view repeats it.
        Socket again = connect();
        send(again, SOURCE_LIVE);
        CapturingServer.Connection up = masterA.awaitHead(1);
        up.send(OK);
        assertEquals("HTTP/1.0 200 OK\r\n\r\n", read(again, "HTTP/1.0 200 OK\r\n\r\n"));
        front.viewChanged(kicked);
        front.viewChanged(kicked);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> front.sessions().size() == 1);
        again.setSoTimeout(200);
        assertTrue(readTimesOut(again), "the encoder taken after the kick is still connected");
        again.close();
    }

    static boolean readTimesOut(Socket s) throws IOException {
        try {
            s.getInputStream().read();
            return false;
        } catch (java.net.SocketTimeoutException e) {
            return true;
        }
    }

}
