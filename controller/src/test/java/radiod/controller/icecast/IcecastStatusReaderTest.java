package radiod.controller.icecast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import radiod.controller.icecast.IcecastStatusReader.Source;
import radiod.testkit.Ports;

/**
 * Icecast's status documents are read into live mounts, listener counts and byte rates whatever their shape, and
 * garbage or silence counts as Icecast down.
 */
class IcecastStatusReaderTest {
    static final String HEAD = "{\"icestats\":{\"admin\":\"x@localhost\",\"host\":\"127.0.0.21\",\"server_id\":\"Icecast 2.4.4\"";
    static final String LIVE = "{\"genre\":\"various\",\"listener_peak\":3,\"listeners\":3,"
            + "\"listenurl\":\"http://127.0.0.21:8100/live.mp3\",\"server_type\":\"audio/mpeg\","
            + "\"stream_start\":\"Sun, 22 Nov 2026 13:31:32 +0000\",\"stream_start_iso8601\":\"2026-11-22T13:31:32+0000\",\"dummy\":null}";
    static final String JAZZ = "{\"bitrate\":64,\"listeners\":2,\"listenurl\":\"http://node1.radio.test:8100/jazz.mp3\","
            + "\"stream_start_iso8601\":\"2026-11-22T13:31:32+0000\",\"dummy\":null}";
    /** An entry without stream_start: known to Icecast but not streaming. */
    static final String IDLE = "{\"listeners\":0,\"listenurl\":\"http://127.0.0.21:8100/idle.mp3\",\"dummy\":null}";

    static final String ABSENT = HEAD + ",\"dummy\":null}}";
    static final String OBJECT = HEAD + ",\"source\":" + LIVE + "}}";
    static final String ARRAY = HEAD + ",\"source\":[" + LIVE + "," + JAZZ + "," + IDLE + "]}}";

    HttpServer server;

    @AfterEach
    void stopServer() {
        if (server != null) {
            server.stop(0);
        }
    }

    static List<Source> parse(String json) {
        return IcecastStatusReader.parseStatusJson(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void noSourceMeansUpWithNoLiveMount() {
        IcecastStats s = IcecastStatusReader.stats(parse(ABSENT), p -> 0, 0);

        assertEquals(new IcecastStats(true, 0, Map.of(), 0), s);
    }

    @Test
    void oneSourceIsAnObject() {
        IcecastStats s = IcecastStatusReader.stats(parse(OBJECT), p -> 0, 0);

        assertEquals(Map.of("/live.mp3", 3), s.listenersByMount());
        assertEquals(3, s.listeners());
        assertEquals(3 * 128_000L, s.bandwidthBps(), "unknown bitrate counts as 128 kbit/s");
    }

    @Test
    void severalSourcesAreAnArrayAndOnlyLiveOnesCount() {
        IcecastStats s = IcecastStatusReader.stats(parse(ARRAY), p -> 0, 0);

        assertEquals(Map.of("/live.mp3", 3, "/jazz.mp3", 2), s.listenersByMount());
        assertEquals(5, s.listeners());
        assertEquals(3 * 128_000L + 2 * 64_000L, s.bandwidthBps(), "the stream's own bitrate when announced");
    }

    @Test
    void theConfiguredBitrateWinsAndAHigherMeasurementWinsOverTheEstimate() {
        assertEquals(3 * 320_000L + 2 * 64_000L,
                IcecastStatusReader.stats(parse(ARRAY), p -> p.equals("/live.mp3") ? 320_000 : 0, 0).bandwidthBps());
        assertEquals(5_000_000L, IcecastStatusReader.stats(parse(ARRAY), p -> 0, 5_000_000L).bandwidthBps());
    }

    @Test
    void mountPathsComeFromTheListenUrlWhateverTheHost() {
        assertEquals("/live.mp3", IcecastStatusReader.pathOf("http://::1:8100/live.mp3"));
        assertEquals("/a/b.ogg", IcecastStatusReader.pathOf("http://[::1]:8100/a/b.ogg?x=1"));
        assertEquals(null, IcecastStatusReader.pathOf("http://host:8100/"));
        assertEquals(null, IcecastStatusReader.pathOf("garbage"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "<html>503</html>", "{\"icestats\":", "[]", "{\"other\":{}}", "{\"icestats\":[1,2]}", "null"})
    void garbageIsRefused(String body) {
        assertThrows(IllegalArgumentException.class, () -> parse(body));
    }

    @Test
    void oddSourceValuesAreSkipped() {
        String odd = HEAD + ",\"source\":[\"x\",42,{\"listeners\":\"many\",\"listenurl\":\"http://h:1/odd.mp3\","
                + "\"stream_start\":\"now\"},{\"listeners\":-4,\"listenurl\":7,\"stream_start\":\"now\"}]}}";

        IcecastStats s = IcecastStatusReader.stats(parse(odd), p -> 0, 0);

        assertEquals(Map.of("/odd.mp3", 0), s.listenersByMount());
        assertTrue(parse(HEAD + ",\"source\":\"none\"}}").isEmpty());
    }

    /** A key given twice (Icecast does not, but a template might) is read, its last value counting, not taken for DOWN. */
    @Test
    void aKeyGivenTwiceIsReadItsLastValueCounting() {
        String twice = HEAD + ",\"source\":{\"listeners\":1,\"listenurl\":\"http://h:1/live.mp3\",\"listeners\":4,"
                + "\"stream_start\":\"now\"}}}";

        assertEquals(Map.of("/live.mp3", 4), IcecastStatusReader.stats(parse(twice), p -> 0, 0).listenersByMount());
    }

    @Test
    void adminStatsGiveByteCountersPerSource() {
        String xml = "<?xml version=\"1.0\"?><icestats><admin>x</admin><clients>2</clients>"
                + "<source mount=\"/live.mp3\"><listeners>1</listeners><stream_start>Sun, 22 Nov 2026 13:31:58 +0000</stream_start>"
                + "<total_bytes_read>588000</total_bytes_read><total_bytes_sent>1200</total_bytes_sent></source>"
                + "<source mount=\"/two.mp3\"><stream_start>X</stream_start><total_bytes_sent>7</total_bytes_sent></source>"
                + "<source mount=\"/broken.mp3\"><total_bytes_sent>lots</total_bytes_sent></source></icestats>";

        Map<String, SentBytesRate.Counter> counters = IcecastStatusReader.parseAdminStats(xml.getBytes(StandardCharsets.UTF_8));

        assertEquals(Map.of("/live.mp3", new SentBytesRate.Counter("Sun, 22 Nov 2026 13:31:58 +0000", 1200),
                "/two.mp3", new SentBytesRate.Counter("X", 7)), counters);
        assertThrows(IllegalArgumentException.class, () -> IcecastStatusReader.parseAdminStats("<a><b".getBytes()));
    }

    @Test
    void sentBytesBecomeARateBetweenTwoObservedCounterChanges() {
        SentBytesRate rate = new SentBytesRate();
        long s = 1_000_000_000L;

        assertEquals(0, rate.update(Map.of("/a", new SentBytesRate.Counter("t1", 1000)), 0));
        assertEquals(0, rate.update(Map.of("/a", new SentBytesRate.Counter("t1", 80_000)), s), "first change: start unknown");
        assertEquals(0, rate.update(Map.of("/a", new SentBytesRate.Counter("t1", 80_000)), 3 * s));
        assertEquals(128_000, rate.update(Map.of("/a", new SentBytesRate.Counter("t1", 160_000)), 6 * s));
        assertEquals(128_000, rate.update(Map.of("/a", new SentBytesRate.Counter("t1", 160_000)), 10 * s), "held between updates");
        assertEquals(0, rate.update(Map.of("/a", new SentBytesRate.Counter("t1", 160_000)), 18 * s), "stale: nothing sent");
        assertEquals(0, rate.update(Map.of("/a", new SentBytesRate.Counter("t2", 10)), 19 * s), "a new source starts over");
        assertEquals(0, rate.update(Map.of(), 20 * s));
    }

    @Test
    void readerAsksIcecastOverHttpAndReportsDownForGarbageOrSilence() throws IOException {
        AtomicReference<String> status = new AtomicReference<>(ARRAY);
        String host = "127.0.0.1";
        int port = Ports.free(host);
        IcecastSettings settings = IcecastSettings.of(Path.of("/nonexistent"), host, port, host);
        String expectedAuth = "Basic " + Base64.getEncoder().encodeToString(
                ("admin:" + settings.adminPassword()).getBytes(StandardCharsets.UTF_8));
        server = HttpServer.create(new InetSocketAddress(host, port), 0);
        AtomicInteger statusCode = new AtomicInteger(200);
        server.createContext("/status-json.xsl", x -> reply(x, statusCode.get(), status.get()));
        AtomicReference<Boolean> adminAuthorized = new AtomicReference<>();
        server.createContext("/admin/stats", x -> {
            boolean ok = expectedAuth.equals(x.getRequestHeaders().getFirst("Authorization"));
            adminAuthorized.set(ok);
            reply(x, ok ? 200 : 401, ok ? "<icestats></icestats>" : "no");
        });
        server.start();
        IcecastStatusReader reader = new IcecastStatusReader(settings);

        IcecastStats up = reader.read();
        assertFalse(reader.lastReadUnanswered());
        statusCode.set(503); // a good body under an error status is not believed
        IcecastStats failing = reader.read();
        assertFalse(reader.lastReadUnanswered(), "an error is an answer: Icecast is not hung");
        statusCode.set(200);
        status.set("<html>garbage</html>");
        IcecastStats garbage = reader.read();
        assertFalse(reader.lastReadUnanswered(), "a document radiod cannot read is an answer: Icecast is not hung");
        IcecastStatusReader refused = new IcecastStatusReader(IcecastSettings.of(Path.of("/nonexistent"), host,
                Ports.free(host), host));
        IcecastStats silent = refused.read();
        assertTrue(refused.lastReadUnanswered(), "a refused connection is no answer");
        // The same reader: silent while its Icecast is gone, answered again once it is back.
        server.stop(0);
        assertEquals(IcecastStats.DOWN, reader.read());
        assertTrue(reader.lastReadUnanswered());
        server = HttpServer.create(new InetSocketAddress(host, port), 0);
        server.createContext("/status-json.xsl", x -> reply(x, 200, ARRAY));
        server.createContext("/admin/stats", x -> reply(x, 200, "<icestats></icestats>"));
        server.start();
        assertTrue(reader.read().up());
        assertFalse(reader.lastReadUnanswered());

        assertEquals(Map.of("/live.mp3", 3, "/jazz.mp3", 2), up.listenersByMount());
        assertTrue(up.up());
        assertEquals(Boolean.TRUE, adminAuthorized.get(), "admin stats read with the random admin password");
        assertEquals(IcecastStats.DOWN, failing);
        assertEquals(IcecastStats.DOWN, garbage);
        assertEquals(IcecastStats.DOWN, silent);
        assertFalse(silent.up());
    }

    /**
     * An Icecast that sends its status a few bytes at a time, each within the read timeout, never finishing: the poll
     * gives up after the whole answer's bound, not when the body ends (HttpURLConnection's read timeout is per read).
     */
    @Test
    void aTricklingAnswerIsDownWithinTheBound() throws Exception {
        String host = "127.0.0.1";
        try (ServerSocket trickle = new ServerSocket(0, 1, InetAddress.getByName(host))) {
            Thread t = new Thread(() -> {
                try (Socket s = trickle.accept()) {
                    s.getInputStream().read(new byte[4096]);
                    OutputStream out = s.getOutputStream();
                    out.write("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    for (int i = 0; i < 200; i++) {
                        out.write(' ');
                        out.flush();
                        Thread.sleep(50);
                    }
                } catch (IOException | InterruptedException e) {
                    // the reader hung up
                }
            }, "trickle");
            t.setDaemon(true);
            t.start();
            IcecastStatusReader reader = new IcecastStatusReader(IcecastSettings.of(Path.of("/nonexistent"), host,
                    trickle.getLocalPort(), host));
            long start = System.nanoTime();
            IcecastStats s = reader.read();
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertEquals(IcecastStats.DOWN, s);
            assertFalse(reader.lastReadUnanswered(), "an answer begun and never finished is slow, not silent");
            long bound = 500 + IcecastStatusReader.READ_TIMEOUT_MILLIS + 500; // connect + read, and a margin for a busy machine
            assertTrue(ms <= bound, "a trickling answer held the poll " + ms + " ms (bound " + bound + " ms)");
        }
    }

    /**
     * An Icecast that takes each connection, reads the request and drops it, closed or reset, before a status line:
     * it serves no one, and reads of it count as unanswered, so the supervisor's watchdog restarts it.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aConnectionDroppedBeforeTheStatusLineIsNoAnswer(boolean reset) throws Exception {
        String host = "127.0.0.1";
        try (ServerSocket dropper = new ServerSocket(0, 8, InetAddress.getByName(host))) {
            AtomicInteger dropped = new AtomicInteger();
            Thread t = new Thread(() -> {
                while (!dropper.isClosed()) {
                    try (Socket s = dropper.accept()) {
                        s.getInputStream().read(new byte[4096]);
                        if (reset) {
                            s.setSoLinger(true, 0);
                        }
                        dropped.incrementAndGet();
                    } catch (IOException e) {
                        // closed at the test's end
                    }
                }
            }, "dropper");
            t.setDaemon(true);
            t.start();
            IcecastStatusReader reader = new IcecastStatusReader(IcecastSettings.of(Path.of("/nonexistent"), host,
                    dropper.getLocalPort(), host));
            assertEquals(IcecastStats.DOWN, reader.read());
            assertTrue(reader.lastReadUnanswered(), reset ? "reset" : "closed");
            assertTrue(dropped.get() >= 1, "the request reached the stand-in");
        }
    }

    /** A hung Icecast: its kernel takes the connection, nothing reads the request. */
    @Test
    void aConnectionNobodyAnswersIsNoAnswer() throws Exception {
        String host = "127.0.0.1";
        try (ServerSocket deaf = new ServerSocket(0, 1, InetAddress.getByName(host))) {
            IcecastStatusReader reader = new IcecastStatusReader(IcecastSettings.of(Path.of("/nonexistent"), host,
                    deaf.getLocalPort(), host));
            assertEquals(IcecastStats.DOWN, reader.read());
            assertTrue(reader.lastReadUnanswered());
        }
    }

    @Test
    void anAnswerIsBoundedInSize() {
        byte[] big = new byte[IcecastStatusReader.MAX_ANSWER_BYTES + 1];
        IOException e = assertThrows(IOException.class, () -> IcecastStatusReader.readBounded(
                new java.io.ByteArrayInputStream(big), System.nanoTime() + 10_000_000_000L));
        assertTrue(e.getMessage().contains("bytes"), e.getMessage());
    }

    static void reply(HttpExchange x, int code, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.sendResponseHeaders(code, b.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(b);
        }
    }
}
