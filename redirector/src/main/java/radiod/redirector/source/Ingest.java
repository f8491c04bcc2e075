package radiod.redirector.source;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import radiod.cluster.model.MasterInfo;
import radiod.redirector.carry.PeerLinks;
import radiod.redirector.carry.StreamFramer;
import radiod.redirector.carry.StreamHeaders;
import radiod.redirector.carry.Wire;

/**
 * One encoder held by this node's source front: its stream is cut into whole units, kept for at least
 * {@link #RETAIN_NANOS} in a bounded ring, and sent to the master's hub ({@code INGEST}). When the master goes, the
 * encoder's connection stays open and the ring keeps filling; as soon as the view names a master again, the ingest
 * dials it and sends everything it still holds (the hub drops what it already has), so the audio is late, not lost.
 *
 * <p>The encoder is closed only when this node stays fenced (its lease is not valid) for {@link #FENCED_GRACE_NANOS},
 * when no master takes the stream
 * within {@link #HOLD_NANOS}, when the master says another encoder holds the mount, or when the encoder sends nothing
 * for {@link #ENCODER_IDLE_NANOS}. Runs on the source front's event loop.
 */
final class Ingest {
    private static final Logger log = LoggerFactory.getLogger(Ingest.class);
    /** How much of the stream is kept for a replay to a new master. */
    static final long RETAIN_NANOS = 12_000_000_000L;
    static final int RETAIN_MAX_BYTES = 8 * 1024 * 1024;
    /** How long the encoder is held with no master taking its stream. */
    static final long HOLD_NANOS = 10_000_000_000L;
    static final long ENCODER_IDLE_NANOS = 10_000_000_000L;
    /**
     * How long this node may be fenced before its encoders are closed. A partitioned node is fenced about 3/5 of
     * the TTL after the cut and the majority elects a master at the TTL: with a 5 s TTL, an encoder closed 2 s after
     * the fencing reconnects elsewhere just as that master is there. A shorter etcd hiccup keeps the encoder.
     */
    static final long FENCED_GRACE_NANOS = 2_000_000_000L;
    private static final long[] REDIAL_MILLIS = {50, 100, 200, 400, 500};
    private static final AtomicLong SESSIONS = new AtomicLong();

    interface Host {
        /** The master as the fenced view names it. */
        Optional<MasterInfo> master();

        /** Whether this node's lease is valid (it may act on the view). */
        boolean fenced();

        void closed(Ingest ingest);

        void bytesIn(int n);

        /** The encoder was turned away ({@code radiod_source_rejected_total{reason}}). */
        void rejected(String reason);
    }

    private final Vertx vertx;
    private final NetClient client;
    private final Host host;
    private final NetSocket encoder;
    final String mount;
    private final String session;
    private final String authorization;
    private final String headerLines;
    private final StreamFramer framer;
    private final RequestHead request;
    /** The source front's event loop, where it is made, and which alone touches it. */
    private final io.vertx.core.Context loop = Vertx.currentContext();
    /** When the encoder connected to this node: after a failover, the hub gives the mount to the earliest. */
    private final long sinceMillis = System.currentTimeMillis();

    private Unit[] ring = new Unit[128];
    private int head;
    private int size;
    private long headSeq;
    private long ringBytes;
    /** Offset of the next byte the framer will hand out. */
    private long offset;
    private long headersOffset = -1;
    private boolean inHeaders;

    private NetSocket upstream;
    private MasterInfo target;
    /** Dials made; only the latest one's connection is used. */
    private long dials;
    /** The latest dial's connection is being made: the master is being dialed already. */
    private boolean connecting;
    private boolean upstreamReady;
    private long sendSeq;
    private int dialAttempt;
    private long redialTimer = -1;
    private long checkTimer = -1;
    private long unheldSinceNanos = -1;
    private long fencedSinceNanos = -1;
    private long lastEncoderNanos = System.nanoTime();
    private boolean answered;
    private boolean closed;
    /** The encoder left by itself or was kicked: it is gone, not on its way to another node. */
    private boolean gone;
    /** The etcd revision of the view this encoder was admitted in (an older kick does not touch it). */
    private long admittedRevision;

    private record Unit(long seq, long offset, Buffer bytes, long atNanos) {
    }

    Ingest(Vertx vertx, NetClient client, Host host, NetSocket encoder, RequestHead request, String sessionPrefix) {
        this.vertx = vertx;
        this.client = client;
        this.host = host;
        this.encoder = encoder;
        this.request = request;
        this.mount = request.path();
        this.session = sessionPrefix + "-" + Long.toString(System.currentTimeMillis(), 36) + "-" + SESSIONS.incrementAndGet();
        this.authorization = request.headers().getOrDefault("authorization", "");
        this.headerLines = StreamHeaders.lines(request.headers());
        this.framer = StreamFramer.forContentType(StreamHeaders.contentType(headerLines));
    }

    String session() {
        return session;
    }

    void admittedAt(long revision) {
        admittedRevision = revision;
    }

    long admittedRevision() {
        return admittedRevision;
    }

    /** Whether the encoder left by itself or was kicked (so its title goes with it). */
    boolean gone() {
        return gone;
    }

    /** An operator kicked this encoder: closed, its title goes with it. */
    void kick() {
        if (!closed) {
            gone = true;
            close("kicked by the operator");
        }
    }

    /** Dials the master for the first time; the encoder is answered once the master has (or has not) taken it. */
    void begin(MasterInfo master, Buffer rest) {
        encoder.exceptionHandler(e -> encoder.close());
        encoder.closeHandler(v -> encoderClosed());
        if (rest.length() > 0) {
            take(rest);
        }
        checkTimer = vertx.setPeriodic(250, t -> check());
        dial(master);
    }

    private void answerEncoder() {
        if (answered || closed) {
            return;
        }
        answered = true;
        String answer;
        if (request.method().equals("PUT")) {
            answer = "100-continue".equalsIgnoreCase(request.headers().get("expect"))
                    ? "HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n" : "HTTP/1.0 200 OK\r\n\r\n";
        } else {
            answer = "HTTP/1.0 200 OK\r\n\r\n";
        }
        encoder.write(Buffer.buffer(answer, StandardCharsets.ISO_8859_1.name()));
        encoder.handler(this::take);
        encoder.resume();
        log.info("source for {} from {} streaming (session {})", mount, encoder.remoteAddress(), session);
    }

    /** The view changed: follow the master it names now (the fenced one), or give up if this node stays fenced. */
    void viewChanged() {
        if (closed || closedForFencing()) {
            return;
        }
        Optional<MasterInfo> m = host.master();
        if (m.isEmpty()) {
            return;
        }
        if (target == null || !SourceFront.sameMaster(m.get(), target)) {
            if (target != null) {
                log.info("source for {}: master is now {}; sending the stream there", mount, m.get().name());
            }
            dial(m.get());
            return;
        }
        boolean newTerm = m.get().electedAt() != target.electedAt();
        if (upstream == null && !connecting && (redialTimer < 0 || newTerm)) {
            if (newTerm) {
                dialAttempt = 0; // the same node elected again: a redial waiting out its backoff goes now
            }
            dial(m.get());
        }
    }

    private void check() {
        if (closed) {
            return;
        }
        long now = System.nanoTime();
        if (closedForFencing()) {
            return;
        } else if (unheldSinceNanos >= 0 && now - unheldSinceNanos > HOLD_NANOS) {
            close("no master took the stream for " + HOLD_NANOS / 1_000_000_000 + " s");
        } else if (answered && now - lastEncoderNanos > ENCODER_IDLE_NANOS) {
            close("the encoder sent nothing for " + ENCODER_IDLE_NANOS / 1_000_000_000 + " s");
        } else if (upstream == null && !connecting && redialTimer < 0) {
            host.master().ifPresent(this::dial);
        }
    }

    /**
     * Closes the encoder once this node has been fenced for {@link #FENCED_GRACE_NANOS}: cut off from etcd, it
     * cannot know where the cluster's master is, and the encoder is better off on another node. A shorter loss (a
     * slow etcd, a pause) passes: the encoder stays, and its audio is buffered if it cannot be sent meanwhile.
     */
    private boolean closedForFencing() {
        if (!host.fenced()) {
            fencedSinceNanos = -1;
            return false;
        }
        long now = System.nanoTime();
        if (fencedSinceNanos < 0) {
            fencedSinceNanos = now;
            log.warn("source for {}: this node lost its etcd lease; the encoder goes elsewhere unless it is back within {} ms",
                    mount, FENCED_GRACE_NANOS / 1_000_000);
            return false;
        }
        if (now - fencedSinceNanos < FENCED_GRACE_NANOS) {
            return false;
        }
        close("this node has had no valid etcd lease for " + FENCED_GRACE_NANOS / 1_000_000
                + " ms; the encoder goes to another node");
        return true;
    }

    private void dial(MasterInfo master) {
        dropUpstream();
        if (unheldSinceNanos < 0) {
            unheldSinceNanos = System.nanoTime();
        }
        target = master;
        long dial = ++dials;
        connecting = true;
        client.connect(master.sourcePort(), master.address()).onComplete(ar -> {
            if (dial == dials) {
                connecting = false;
            }
            if (closed || dial != dials || upstream != null) {
                if (ar.succeeded()) {
                    ar.result().close();
                }
                return;
            }
            if (ar.failed()) {
                log.debug("source for {}: master {} not reachable: {}", mount, master.name(), ar.cause().toString());
                answerEncoder(); // held: its audio is kept until a master takes it
                scheduleRedial();
                return;
            }
            NetSocket s = ar.result();
            PeerLinks.watch(s);
            upstream = s;
            upstreamReady = false;
            String req = "INGEST " + mount + " HTTP/1.1\r\n"
                    + (authorization.isEmpty() ? "" : "Authorization: " + authorization + "\r\n")
                    + "X-Radiod-Session: " + session + "\r\n" + "X-Radiod-Since: " + sinceMillis + "\r\n"
                    + headerLines + "\r\n";
            s.write(Buffer.buffer(req, StandardCharsets.ISO_8859_1.name()));
            Buffer[] answer = {Buffer.buffer()};
            s.handler(chunk -> {
                if (upstreamReady) {
                    return; // a hub sends nothing after its answer
                }
                answer[0].appendBuffer(chunk);
                int end = RequestHead.end(answer[0], 0);
                if (end < 0) {
                    if (answer[0].length() > 4096) {
                        s.close();
                    }
                    return;
                }
                String line = answer[0].getString(0, Math.max(0, RequestHead.firstLineEnd(answer[0])), "ISO-8859-1");
                answered(s, master, line);
            });
            s.closeHandler(v -> upstreamClosed(s));
            s.exceptionHandler(e -> s.close());
            s.drainHandler(v -> send());
        });
    }

    private void answered(NetSocket s, MasterInfo master, String statusLine) {
        String[] parts = statusLine.trim().split(" ");
        int status = parts.length >= 2 && parts[1].matches("\\d{3}") ? Integer.parseInt(parts[1]) : 0;
        switch (status) {
            case 200 -> {
                upstreamReady = true;
                unheldSinceNanos = -1;
                dialAttempt = 0;
                sendSeq = headSeq;
                if (headersOffset >= 0 && framer.headers().length() > 0) {
                    s.write(Wire.message(Wire.HEADERS, headersOffset, framer.headers()));
                }
                log.info("source for {}: streaming to master {} (session {}, {} bytes held)", mount, master.name(),
                        session, ringBytes);
                answerEncoder();
                send();
            }
            case 403 -> {
                if (!answered) {
                    answered = true;
                    host.rejected("in_use");
                    SourceFront.reply(encoder, "403 Forbidden", "", "Mountpoint in use");
                    finish();
                } else {
                    close("another encoder streams to " + mount + " on master " + master.name());
                }
            }
            default -> {
                // 409: that node is not master (any more, or not yet as far as it knows); 404/401: its view lags.
                log.debug("source for {}: master {} answered '{}'; trying again", mount, master.name(), statusLine);
                s.close();
                answerEncoder(); // the encoder streams into the ring meanwhile
            }
        }
    }

    private void upstreamClosed(NetSocket s) {
        if (upstream != s) {
            return;
        }
        upstream = null;
        upstreamReady = false;
        if (closed) {
            return;
        }
        if (unheldSinceNanos < 0) {
            unheldSinceNanos = System.nanoTime();
            log.info("source for {}: lost master {}; holding the encoder, its audio buffered", mount,
                    target == null ? "?" : target.name());
        }
        answerEncoder();
        scheduleRedial();
    }

    private void scheduleRedial() {
        if (closed || redialTimer >= 0) {
            return;
        }
        long delay = REDIAL_MILLIS[Math.min(dialAttempt++, REDIAL_MILLIS.length - 1)];
        redialTimer = vertx.setTimer(delay, t -> {
            redialTimer = -1;
            if (closed || upstream != null || connecting || host.fenced()) {
                return;
            }
            host.master().ifPresent(this::dial);
        });
    }

    private void dropUpstream() {
        if (redialTimer >= 0) {
            vertx.cancelTimer(redialTimer);
            redialTimer = -1;
        }
        NetSocket s = upstream;
        upstream = null;
        upstreamReady = false;
        if (s != null) {
            s.close();
        }
    }

    /** Bytes from the encoder. */
    private void take(Buffer chunk) {
        lastEncoderNanos = System.nanoTime();
        host.bytesIn(chunk.length());
        List<StreamFramer.Piece> pieces = framer.accept(chunk);
        for (StreamFramer.Piece p : pieces) {
            boolean headers = p.kind() == StreamFramer.Kind.HEADERS;
            if (headers && !inHeaders) {
                headersOffset = offset;
            }
            if (!headers && inHeaders && upstreamReady) {
                upstream.write(Wire.message(Wire.HEADERS, headersOffset, framer.headers()));
            }
            inHeaders = headers;
            append(p.bytes());
        }
        send();
    }

    private void append(Buffer bytes) {
        if (size == ring.length) {
            Unit[] bigger = new Unit[ring.length * 2];
            for (int i = 0; i < size; i++) {
                bigger[i] = ring[(head + i) % ring.length];
            }
            ring = bigger;
            head = 0;
        }
        long now = System.nanoTime();
        ring[(head + size) % ring.length] = new Unit(headSeq + size, offset, bytes, now);
        size++;
        offset += bytes.length();
        ringBytes += bytes.length();
        while (size > 1) {
            Unit first = ring[head];
            if (ringBytes <= RETAIN_MAX_BYTES && now - first.atNanos() <= RETAIN_NANOS) {
                break;
            }
            ring[head] = null;
            head = (head + 1) % ring.length;
            size--;
            headSeq++;
            ringBytes -= first.bytes().length();
        }
    }

    /** Sends the master what it has not had from this connection, until the socket is full. */
    private void send() {
        NetSocket s = upstream;
        if (s == null || !upstreamReady) {
            return;
        }
        if (sendSeq < headSeq) {
            log.warn("source for {}: {} units were dropped from the buffer before the master took them", mount,
                    headSeq - sendSeq);
            sendSeq = headSeq;
        }
        while (sendSeq < headSeq + size && !s.writeQueueFull()) {
            Unit u = ring[(int) ((head + (sendSeq - headSeq)) % ring.length)];
            s.write(Wire.message(Wire.DATA, u.offset(), u.bytes()));
            sendSeq++;
        }
    }

    private void encoderClosed() {
        if (closed) {
            return;
        }
        NetSocket s = upstream;
        if (s != null && upstreamReady) {
            // The encoder left cleanly: hand the master the rest and say so.
            while (sendSeq < headSeq + size) {
                Unit u = ring[(int) ((head + (sendSeq - headSeq)) % ring.length)];
                s.write(Wire.message(Wire.DATA, u.offset(), u.bytes()));
                sendSeq++;
            }
            s.write(Wire.message(Wire.END, offset, Buffer.buffer())).onComplete(v -> s.close());
            upstream = null;
        }
        log.info("source for {} from {} disconnected (session {})", mount, encoder.remoteAddress(), session);
        gone = true;
        finish();
    }

    /** Closes the encoder so that it reconnects (elsewhere). */
    void close(String why) {
        if (closed) {
            return;
        }
        log.warn("source for {} from {}: closing the encoder: {}", mount, encoder.remoteAddress(), why);
        finish();
        encoder.close();
    }

    private void finish() {
        assert Vertx.currentContext() == loop : "an ingest is confined to its source front's event loop";
        if (closed) {
            return;
        }
        closed = true;
        if (checkTimer >= 0) {
            vertx.cancelTimer(checkTimer);
        }
        dropUpstream();
        host.closed(this);
    }
}
