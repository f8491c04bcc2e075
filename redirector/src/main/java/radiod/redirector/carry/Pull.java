package radiod.redirector.carry;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import radiod.cluster.model.MasterInfo;

/**
 * One mount carried to this node's Icecast: a {@code PULL} from the master's hub, written to the mount's
 * {@link Feed}. A master change re-dials the new master at once, resuming after the last byte written, so the
 * local Icecast gets one continuous stream; a lost connection is re-dialed within half a second. Confined to the
 * carrier's event loop.
 */
final class Pull {
    private static final Logger log = LoggerFactory.getLogger(Pull.class);
    private static final long[] REDIAL_MILLIS = {50, 100, 200, 300, 500};
    /** After an encoder left cleanly, its mount stays on the local Icecast this long for a new session. */
    static final long END_GRACE_MILLIS = 1_000;
    /**
     * A feed with nothing to carry for this long is closed, so the mount goes off this node (listeners to its
     * fallback). Longer than any failover (a partition's election can take the TTL plus etcd's own failover), so a
     * master change never takes the mount off; shorter than Icecast's source timeout.
     */
    static final long IDLE_NANOS = 15_000_000_000L;

    private final Vertx vertx;
    private final NetClient client;
    final String mount;
    private final Feed feed;
    private final Runnable onData;

    private MasterInfo target;
    private NetSocket socket;
    private Wire.Decoder decoder;
    private boolean answered;
    private boolean connecting;
    private int attempt;
    private long redialTimer = -1;
    private long endTimer = -1;
    private boolean closed;

    private String sessionId;
    private String sessionLines;
    private long sessionSince;
    private long offset = -1;
    /** The header pages the feed starts with when it reconnects to Icecast: those of the chain it is in. */
    private Buffer oggHeaders = Buffer.buffer();
    /** Header pages of a chain whose pages this pull has not written yet, and where they end; null: none. */
    private Buffer nextHeaders;
    private long nextHeadersEnd;
    private boolean sessionFresh;
    private long lastDataNanos;
    /**
     * How far this node wrote the last few sessions it left: one that comes back (after a failover, the encoder live
     * before it takes its mount back from one that connected during it, and its ingest sends its retained audio again)
     * continues from there, whichever hub or connection it comes back through.
     */
    private final java.util.Map<String, Long> had = Hub.hadMap();

    Pull(Vertx vertx, NetClient client, String mount, FeedFactory feeds, Runnable onData) {
        this.vertx = vertx;
        this.client = client;
        this.mount = mount;
        this.onData = onData;
        this.feed = feeds.feed(mount, () -> oggHeaders);
    }

    interface FeedFactory {
        Feed feed(String mount, java.util.function.Supplier<Buffer> preamble);
    }

    /** Follows the master the fenced view names; without one, keeps what it has (the old master may still serve). */
    void follow(Optional<MasterInfo> master) {
        if (closed || master.isEmpty()) {
            return;
        }
        MasterInfo m = master.get();
        if (target != null && same(target, m) && (socket != null || redialTimer >= 0 || connecting)) {
            // target stays the object being dialed: the dial's completion knows its own by identity
            if (m.electedAt() == target.electedAt() || socket != null || connecting) {
                return;
            }
            // the same node elected again while a redial waits out its backoff: its new term's hub is up now
        }
        target = m;
        attempt = 0;
        dial();
    }

    /** Once a second: the feed of a mount that stopped coming is closed. */
    void tick() {
        if (feed.isOpen() && System.nanoTime() - lastDataNanos > IDLE_NANOS) {
            log.info("mount {}: nothing to carry for {} s", mount, IDLE_NANOS / 1_000_000_000);
            feed.close();
        }
    }

    /** The source session being carried, or null before the first. */
    String session() {
        return sessionId;
    }

    /** The carried session's stream header lines ({@code content-type}, {@code ice-*}), or null. */
    String sessionLines() {
        return sessionLines;
    }

    /** When this node saw the carried session start, epoch milliseconds. */
    long sessionSince() {
        return sessionSince;
    }

    boolean connected() {
        return socket != null && answered;
    }

    boolean live() {
        return feed.isOpen();
    }

    /** Whether this node's Icecast has the mount now (see {@link Feed#onIcecast()}). */
    boolean onIcecast() {
        return feed.onIcecast();
    }

    private static boolean same(MasterInfo a, MasterInfo b) {
        return a.name().equals(b.name()) && a.address().equals(b.address()) && a.sourcePort() == b.sourcePort();
    }

    private void dial() {
        dropSocket();
        MasterInfo m = target;
        connecting = true;
        client.connect(m.sourcePort(), m.address()).onComplete(ar -> {
            if (target == m) {
                connecting = false;
            }
            if (closed || target != m || socket != null) {
                if (ar.succeeded()) {
                    ar.result().close();
                }
                return;
            }
            if (ar.failed()) {
                scheduleRedial();
                return;
            }
            NetSocket s = ar.result();
            PeerLinks.watch(s);
            socket = s;
            answered = false;
            String req = "PULL " + mount + " HTTP/1.1\r\n"
                    + (sessionId == null ? "" : "X-Radiod-Resume: " + sessionId + " " + offset + "\r\n") + "\r\n";
            s.write(Buffer.buffer(req, StandardCharsets.ISO_8859_1.name()));
            Buffer[] head = {Buffer.buffer()};
            decoder = new Wire.Decoder(this::message);
            s.handler(chunk -> {
                if (socket != s) {
                    return;
                }
                if (!answered) {
                    head[0].appendBuffer(chunk);
                    String text = head[0].toString(StandardCharsets.ISO_8859_1);
                    int end = text.indexOf("\r\n\r\n");
                    if (end < 0) {
                        if (text.length() > 4096) {
                            s.close();
                        }
                        return;
                    }
                    if (!text.startsWith("HTTP/1.1 200")) {
                        log.debug("mount {}: {} answered the pull '{}'", mount, m.name(), text.substring(0, text.indexOf("\r\n")));
                        s.close();
                        return;
                    }
                    answered = true;
                    attempt = 0;
                    log.info("mount {}: pulling from master {}{}", mount, m.name(),
                            sessionId == null ? "" : " (resuming session " + sessionId + " at " + offset + ")");
                    chunk = head[0].getBuffer(end + 4, head[0].length());
                    head[0] = null;
                }
                try {
                    decoder.accept(chunk);
                } catch (IllegalArgumentException e) {
                    log.warn("mount {}: malformed message from {}: {}", mount, m.name(), e.getMessage());
                    s.close();
                }
            });
            s.exceptionHandler(e -> {
                if (socket == s && answered) {
                    log.info("mount {}: the link to master {} failed ({}); dialing again", mount, m.name(), e.getMessage());
                }
                s.close();
            });
            s.closeHandler(v -> {
                if (socket == s) {
                    socket = null;
                    answered = false;
                    scheduleRedial();
                }
            });
        });
    }

    private void message(Wire.Message m) {
        switch (m.type()) {
            case Wire.SESSION -> {
                String id = Wire.sessionId(m);
                if (id.equals(sessionId)) {
                    return; // the same stream, from another master: carry on
                }
                String lines = Wire.sessionHeaders(m);
                if (sessionId != null) {
                    log.info("mount {}: new source session {}", mount, id);
                }
                if (sessionId != null && offset >= 0) {
                    had.put(sessionId, offset);
                }
                Long wrote = had.remove(id);
                sessionId = id;
                sessionLines = lines;
                sessionSince = System.currentTimeMillis();
                offset = wrote == null ? m.offset() : Math.max(m.offset(), wrote);
                oggHeaders = Buffer.buffer();
                nextHeaders = null;
                sessionFresh = true;
                if (feed.isOpen() && !sameType(feed.headerLines(), lines)) {
                    feed.close(); // another kind of stream: a new source on Icecast
                }
            }
            case Wire.HEADERS -> {
                if (offset <= m.offset()) {
                    // Its pages come in the audio: they become the preamble once they have been written, not
                    // before (a reconnect meanwhile is still in the chain before them).
                    nextHeaders = m.payload();
                    nextHeadersEnd = m.offset() + m.payload().length();
                    return;
                }
                oggHeaders = m.payload(); // a chain this pull joined in its middle: the hub sends its pages first
                nextHeaders = null;
                if (sessionFresh && feed.isOpen()) {
                    feed.write(m.payload()); // a new chain in the same source
                }
            }
            case Wire.END -> {
                cancelEnd();
                endTimer = vertx.setTimer(END_GRACE_MILLIS, t -> {
                    endTimer = -1;
                    feed.close();
                    onData.run(); // the carrier's live set follows at once
                });
            }
            case Wire.DATA -> {
                Buffer bytes = m.payload();
                long at = m.offset();
                long end = at + bytes.length();
                if (end <= offset) {
                    return;
                }
                if (at < offset) {
                    bytes = bytes.getBuffer((int) (offset - at), bytes.length());
                }
                cancelEnd();
                if (!feed.isOpen()) {
                    feed.open(sessionLines == null ? "" : sessionLines);
                }
                feed.write(bytes);
                offset = end;
                if (nextHeaders != null && offset >= nextHeadersEnd) {
                    oggHeaders = nextHeaders;
                    nextHeaders = null;
                }
                sessionFresh = false;
                lastDataNanos = System.nanoTime();
                onData.run();
            }
            default -> {
            }
        }
    }

    private static boolean sameType(String a, String b) {
        String ta = a == null ? null : StreamHeaders.contentType(a);
        String tb = b == null ? null : StreamHeaders.contentType(b);
        return ta == null ? tb == null : ta.equalsIgnoreCase(tb);
    }

    private void cancelEnd() {
        if (endTimer >= 0) {
            vertx.cancelTimer(endTimer);
            endTimer = -1;
        }
    }

    private void scheduleRedial() {
        if (closed || redialTimer >= 0 || target == null) {
            return;
        }
        long delay = REDIAL_MILLIS[Math.min(attempt++, REDIAL_MILLIS.length - 1)];
        redialTimer = vertx.setTimer(delay, t -> {
            redialTimer = -1;
            if (!closed && socket == null && !connecting) {
                dial();
            }
        });
    }

    private void dropSocket() {
        if (redialTimer >= 0) {
            vertx.cancelTimer(redialTimer);
            redialTimer = -1;
        }
        NetSocket s = socket;
        socket = null;
        answered = false;
        if (s != null) {
            s.close();
        }
    }

    void close() {
        closed = true;
        cancelEnd();
        dropSocket();
        feed.close();
    }
}
