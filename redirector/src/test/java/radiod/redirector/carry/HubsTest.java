package radiod.redirector.carry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;

/**
 * The master's hubs on a real event loop, with real connections for an ingest and the pulls, and a clock the test
 * moves: a mount whose encoder went away lets go of its audio on the hubs' own timer, and what pulls get afterwards.
 */
class HubsTest {
    static final String HOST = "127.0.0.1";
    static final String OK = "HTTP/1.1 200 OK\r\n\r\n";

    final AtomicLong now = new AtomicLong(TimeUnit.SECONDS.toNanos(1_000));
    /** What an ingest from a local port says of when its encoder connected ({@code X-Radiod-Since}). */
    final Map<Integer, String> sinceByPort = new java.util.concurrent.ConcurrentHashMap<>();
    /** What a pull from a local port says it resumes ({@code X-Radiod-Resume: <session> <offset>}). */
    final Map<Integer, String> resumeByPort = new java.util.concurrent.ConcurrentHashMap<>();
    Vertx vertx;
    SimpleMeterRegistry registry;
    Hubs hubs;
    NetServer ingestPort;
    NetServer pullPort;

    @BeforeEach
    void start() throws Exception {
        vertx = Vertx.vertx();
        registry = new SimpleMeterRegistry();
        hubs = new Hubs(vertx, () -> true, "node1", registry, now::get);
        // Both ports on one event loop, as the source front's single port is: the hubs are confined to it.
        Context loop = vertx.getOrCreateContext();
        CompletableFuture<Void> listening = new CompletableFuture<>();
        loop.runOnContext(v -> {
            ingestPort = vertx.createNetServer().connectHandler(socket -> {
                socket.pause();
                int port = socket.remoteAddress().port();
                hubs.ingest(socket, "/live.mp3", Map.of(Hubs.SESSION_HEADER, "s" + port,
                        Hubs.SINCE_HEADER, sinceByPort.getOrDefault(port, "")), Buffer.buffer());
            });
            pullPort = vertx.createNetServer().connectHandler(socket -> {
                socket.pause();
                String resume = resumeByPort.get(socket.remoteAddress().port());
                hubs.pull(socket, "/live.mp3", resume == null ? Map.of() : Map.of(Hubs.RESUME_HEADER, resume));
            });
            ingestPort.listen(0, HOST).compose(s -> pullPort.listen(0, HOST))
                    .onSuccess(s -> listening.complete(null)).onFailure(listening::completeExceptionally);
        });
        listening.get(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    double held() {
        return registry.get("radiod.carry.hub.held").gauge().value();
    }

    /** A node's pull: the messages it has been sent, decoded by a reader thread. */
    static final class Pull implements AutoCloseable {
        final Socket socket;
        final List<Wire.Message> got = new CopyOnWriteArrayList<>();

        Pull(int port) throws IOException {
            this(new Socket(HOST, port));
        }

        /** A pull that resumes {@code resume} ("session offset"), as a node's pull does after losing its hub. */
        Pull(int port, Map<Integer, String> resumeByPort, String resume) throws IOException {
            this(resumed(port, resumeByPort, resume));
        }

        private static Socket resumed(int port, Map<Integer, String> resumeByPort, String resume) throws IOException {
            Socket s = new Socket();
            s.bind(new java.net.InetSocketAddress(HOST, 0));
            resumeByPort.put(s.getLocalPort(), resume);
            s.connect(new java.net.InetSocketAddress(HOST, port), 2000);
            return s;
        }

        private Pull(Socket connected) throws IOException {
            socket = connected;
            InputStream in = socket.getInputStream();
            assertEquals(OK, new String(in.readNBytes(OK.length()), StandardCharsets.ISO_8859_1));
            Wire.Decoder decoder = new Wire.Decoder(got::add);
            Thread t = new Thread(() -> {
                byte[] buf = new byte[8192];
                try {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        decoder.accept(Buffer.buffer(Arrays.copyOf(buf, n)));
                    }
                } catch (IOException e) {
                    // closed
                }
            }, "pull-reader");
            t.setDaemon(true);
            t.start();
        }

        long dataEnd() {
            return got.stream().filter(m -> m.type() == Wire.DATA).mapToLong(m -> m.offset() + m.payload().length())
                    .max().orElse(0);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** An encoder's ingest connection, which has sent {@code bytes} bytes of audio at offset 0; its session is "s" + its port. */
    Socket ingest(int bytes) throws IOException {
        Socket s = new Socket(HOST, ingestPort.actualPort());
        assertEquals(OK, new String(s.getInputStream().readNBytes(OK.length()), StandardCharsets.ISO_8859_1));
        s.getOutputStream().write(Wire.message(Wire.DATA, 0, Buffer.buffer(new byte[bytes])).getBytes());
        s.getOutputStream().flush();
        return s;
    }

    /** An ingest whose encoder connected at {@code sinceMillis}, and the first line of the hub's answer. */
    Socket ingestSince(long sinceMillis, String expectedStatus) throws IOException {
        Socket s = new Socket();
        s.bind(new java.net.InetSocketAddress(HOST, 0));
        return ingestSince(s, sinceMillis, expectedStatus);
    }

    /** The same from a socket bound already (its session, "s" + its port, known before it connects). */
    Socket ingestSince(Socket s, long sinceMillis, String expectedStatus) throws IOException {
        sinceByPort.put(s.getLocalPort(), Long.toString(sinceMillis));
        s.connect(new java.net.InetSocketAddress(HOST, ingestPort.actualPort()), 2000);
        s.setSoTimeout(5000);
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = s.getInputStream().read();
            assertTrue(b >= 0, "the answer ended early: " + head);
            head.append((char) b);
        }
        assertTrue(head.toString().startsWith("HTTP/1.1 " + expectedStatus + "\r\n"), head.toString());
        return s;
    }

    void sendAudio(Socket ingest, long offset, int bytes) throws IOException {
        ingest.getOutputStream().write(Wire.message(Wire.DATA, offset, Buffer.buffer(new byte[bytes])).getBytes());
        ingest.getOutputStream().flush();
    }

    /**
     * After a failover the ingests come back to the new master in no particular order: one of an encoder that
     * connected during the failover (a DJ's software retrying on another node) may come first. For the new hub's
     * first seconds, the encoder that connected earlier (the one live before the failover) takes the mount back;
     * after them, the mount is held by whoever streams, as always.
     */
    @Test
    void aNewHubGivesTheMountToTheEncoderThatConnectedFirstNotToTheFirstIngest() throws Exception {
        long failover = 1_700_000_000_000L;
        try (Pull pull = new Pull(pullPort.actualPort());
             Socket newcomer = ingestSince(failover + 500, "200 OK")) {
            sendAudio(newcomer, 0, 1_000);
            await().atMost(Duration.ofSeconds(5)).until(() -> pull.dataEnd() == 1_000);
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1_500)); // the live encoder's node redials within the grace
            try (Socket live = ingestSince(failover - 3_600_000, "200 OK")) {
                assertEquals(-1, newcomer.getInputStream().read(), "the newcomer's ingest is closed");
                sendAudio(live, 0, 2_000);
                String liveSession = "s" + live.getLocalPort();
                await().atMost(Duration.ofSeconds(5)).until(() -> pull.got.stream()
                        .anyMatch(m -> m.type() == Wire.SESSION && Wire.sessionId(m).equals(liveSession)));
                // The newcomer's node dials again: refused, as any second encoder is.
                ingestSince(failover + 500, "403 Forbidden").close();
                // Past the grace, not even an earlier encoder takes a mount that streams.
                now.addAndGet(Hub.TAKEOVER_GRACE_NANOS);
                sendAudio(live, 2_000, 1_000);
                await().atMost(Duration.ofSeconds(5)).until(() -> pull.dataEnd() == 3_000);
                ingestSince(failover - 7_200_000, "403 Forbidden").close();
                // An ingest that does not say when its encoder connected is never taken over, nor takes a mount over.
                assertEquals(Long.MAX_VALUE, Hubs.since(null));
                assertEquals(Long.MAX_VALUE, Hubs.since("soon"));
                assertEquals(Long.MAX_VALUE, Hubs.since("-5"));
                assertEquals(Long.MAX_VALUE, Hubs.since("99999999999999999999"));
            }
        }
    }

    /**
     * The takeover with a node's pull that resumes the live encoder's session: it had that encoder's audio up to
     * 3,000 from the old master, took the newcomer's meanwhile, and then gets the live encoder's audio from 3,000 on
     * when its ingest brings its retained ring (from 0): not those 3,000 bytes again, which its listeners heard.
     */
    @Test
    void aPullThatHadTheEncoderWhoTakesTheMountBackGetsNoneOfItsAudioAgain() throws Exception {
        long failover = 1_700_000_000_000L;
        Socket live = new Socket();
        live.bind(new java.net.InetSocketAddress(HOST, 0));
        String liveSession = "s" + live.getLocalPort();
        try (live; Pull pull = new Pull(pullPort.actualPort(), resumeByPort, liveSession + " 3000");
             Socket newcomer = ingestSince(failover + 500, "200 OK")) {
            sendAudio(newcomer, 0, 1_000);
            await().atMost(Duration.ofSeconds(5)).until(() -> pull.dataEnd() == 1_000);
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1_500));
            ingestSince(live, failover - 3_600_000, "200 OK");
            // Its ingest's retained audio, from the encoder's first byte: an Ogg stream's header pages, then the rest.
            Buffer pages = Buffer.buffer(new byte[500]);
            OutputStream out = live.getOutputStream();
            out.write(Wire.message(Wire.DATA, 0, pages).getBytes());
            out.write(Wire.message(Wire.HEADERS, 0, pages).getBytes());
            out.flush();
            sendAudio(live, 500, 4_500);
            await().atMost(Duration.ofSeconds(5)).until(() -> pull.got.stream()
                    .anyMatch(m -> m.type() == Wire.DATA && m.offset() + m.payload().length() == 5_000));
            int back = 0;
            while (!(pull.got.get(back).type() == Wire.SESSION && Wire.sessionId(pull.got.get(back)).equals(liveSession))) {
                back++;
            }
            List<Wire.Message> after = pull.got.subList(back, pull.got.size());
            String seen = after.stream().map(m -> m.type() + "@" + m.offset() + "+" + m.payload().length()).toList().toString();
            assertEquals(3_000L, after.get(0).offset(), "the session starts where the pull was: " + seen);
            assertEquals(3_000L, after.stream().filter(m -> m.type() == Wire.DATA).mapToLong(Wire.Message::offset)
                    .min().orElseThrow(), "its audio too: " + seen);
            assertEquals(2_000L, after.stream().filter(m -> m.type() == Wire.DATA)
                    .mapToLong(m -> m.payload().length()).sum());
            // Its node has carried another stream since: it writes the chain's header pages before the pages from 3,000.
            assertEquals(Wire.HEADERS, after.get(1).type(), seen);
            assertEquals(0L, after.get(1).offset());
            assertEquals(500, after.get(1).payload().length());
        }
    }

    /** During a rolling upgrade: a holder from a node that does not send X-Radiod-Since keeps its mount. */
    @Test
    void aHolderThatDoesNotSayWhenItsEncoderConnectedIsNotTakenOver() throws Exception {
        try (Socket older = ingest(1_000)) { // no since: a node of an older radiod
            ingestSince(1_000L, "403 Forbidden").close(); // within the new hub's grace, and connected "earlier"
        }
    }

    @Test
    void aMountWhoseEncoderLeftLetsGoOfItsAudioAndPullsGetNoneOfItLater() throws Exception {
        try (Pull early = new Pull(pullPort.actualPort())) {
            Socket first = ingest(100_000);
            String firstSession = "s" + first.getLocalPort();
            await().atMost(Duration.ofSeconds(5)).until(() -> early.dataEnd() == 100_000 && held() == 100_000);
            first.close(); // the encoder is gone: no more audio comes to this mount for now

            now.addAndGet(TimeUnit.SECONDS.toNanos(21));
            // The hubs' timer runs every second on their event loop.
            await().atMost(Duration.ofMillis(2_500)).until(() -> held() == 0);

            try (Pull late = new Pull(pullPort.actualPort()); Socket second = ingest(5_000)) {
                String secondSession = "s" + second.getLocalPort();
                await().atMost(Duration.ofSeconds(5)).until(() -> late.dataEnd() == 5_000 && early.got.size() == 4);
                // The late pull gets no burst of the first encoder's 21-second-old audio: the second's first.
                assertEquals(Wire.SESSION, late.got.get(0).type());
                assertEquals(secondSession, Wire.sessionId(late.got.get(0)));
                assertEquals(List.of(Wire.DATA), late.got.subList(1, late.got.size()).stream()
                        .map(Wire.Message::type).distinct().toList());
                // The early pull had all of the first; it goes on with the second as if nothing had been dropped.
                assertEquals(firstSession, Wire.sessionId(early.got.get(0)));
                assertEquals(Wire.DATA, early.got.get(1).type());
                assertEquals(Wire.SESSION, early.got.get(2).type());
                assertEquals(secondSession, Wire.sessionId(early.got.get(2)));
                assertEquals(Wire.DATA, early.got.get(3).type());
                assertEquals(0, early.got.get(3).offset());
                assertEquals(5_000, held());
            }
        }
    }

    /**
     * A pull that takes a session from its first byte (a relay pulls before the encoder comes: the usual case) gets
     * the header pages of an Ogg stream as a message too, and those of each new chain, whatever its ring entries
     * carry: its node starts its feed with them whenever it reconnects to its Icecast (restarted, stalled).
     */
    @Test
    void aPullFromASessionsStartGetsTheHeaderPagesOfEachChain() throws Exception {
        try (Pull pull = new Pull(pullPort.actualPort()); Socket ingest = ingest(0)) {
            Buffer first = Buffer.buffer("first chain's header pages");
            Buffer second = Buffer.buffer("second chain's header pages");
            OutputStream out = ingest.getOutputStream();
            // As an ingest sends them: the header pages in the audio, and the block once the first audio page follows.
            out.write(Wire.message(Wire.DATA, 0, first).getBytes());
            out.write(Wire.message(Wire.HEADERS, 0, first).getBytes());
            out.write(Wire.message(Wire.DATA, first.length(), Buffer.buffer(new byte[1_000])).getBytes());
            out.flush();
            long secondAt = first.length() + 1_000;
            await().atMost(Duration.ofSeconds(5)).until(() -> pull.dataEnd() == secondAt);
            out.write(Wire.message(Wire.DATA, secondAt, second).getBytes());
            out.write(Wire.message(Wire.HEADERS, secondAt, second).getBytes());
            out.write(Wire.message(Wire.DATA, secondAt + second.length(), Buffer.buffer(new byte[500])).getBytes());
            out.flush();
            await().atMost(Duration.ofSeconds(5)).until(() -> pull.dataEnd() == secondAt + second.length() + 500);
            List<Wire.Message> headers = pull.got.stream().filter(m -> m.type() == Wire.HEADERS).toList();
            assertEquals(List.of(0L, secondAt), headers.stream().map(Wire.Message::offset).toList());
            assertEquals(first, headers.get(0).payload());
            assertEquals(second, headers.get(1).payload());
            // The audio is as sent, once: the header pages in it are not left out or sent twice.
            assertEquals(secondAt + second.length() + 500, pull.got.stream().filter(m -> m.type() == Wire.DATA)
                    .mapToLong(m -> m.payload().length()).sum());
        }
    }

    /** A pull that comes back resuming a session gets its current chain's header pages too: it may have changed. */
    @Test
    void aResumingPullGetsTheSessionsHeaderPages() throws Exception {
        try (Socket ingest = ingest(0)) {
            String session = "s" + ingest.getLocalPort();
            Buffer chain = Buffer.buffer("the current chain's header pages");
            OutputStream out = ingest.getOutputStream();
            out.write(Wire.message(Wire.DATA, 0, Buffer.buffer(new byte[1_000])).getBytes());
            out.write(Wire.message(Wire.DATA, 1_000, chain).getBytes());
            out.write(Wire.message(Wire.HEADERS, 1_000, chain).getBytes());
            out.write(Wire.message(Wire.DATA, 1_000 + chain.length(), Buffer.buffer(new byte[500])).getBytes());
            out.flush();
            long end = 1_000 + chain.length() + 500;
            try (Pull early = new Pull(pullPort.actualPort())) {
                await().atMost(Duration.ofSeconds(5)).until(() -> early.dataEnd() == end);
            }
            // It had the first 400 bytes before its hub went away, before the chain began.
            try (Pull back = new Pull(pullPort.actualPort(), resumeByPort, session + " 400")) {
                await().atMost(Duration.ofSeconds(5)).until(() -> back.dataEnd() == end);
                List<Wire.Message> headers = back.got.stream().filter(m -> m.type() == Wire.HEADERS).toList();
                assertEquals(1, headers.size(), "the chain's header pages: " + back.got);
                assertEquals(1_000L, headers.get(0).offset());
                assertEquals(chain, headers.get(0).payload());
                assertEquals(400L, back.got.stream().filter(m -> m.type() == Wire.DATA).mapToLong(Wire.Message::offset)
                        .min().orElseThrow(), "it resumes where it was");
            }
        }
    }
}
