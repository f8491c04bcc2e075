package radiod.redirector.carry;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;

/**
 * One mount on the master: the audio its encoder's ingest brings (a ring of whole units with their session and
 * offset, bounded in bytes and age) and the pulls of every node that carry it to their Icecast. Confined to one
 * event loop (the source front's); {@link Hubs} makes and drops hubs, and calls {@link #expire()} every second so that
 * a mount gone quiet lets go of its audio as one that streams does.
 *
 * <p>Invariants: a pull gets each byte of a session at most once and in order, starting exactly after the offset it
 * resumes from when the ring still holds it; every message starts and ends on a unit boundary; a pull that switches
 * to another session first gets a {@link Wire#SESSION} message.
 */
final class Hub {
    private static final Logger log = LoggerFactory.getLogger(Hub.class);
    /** What a pull that starts from nothing gets at once, so that its Icecast has a burst for new listeners. */
    static final int BURST_BYTES = 64 * 1024;
    static final int MAX_BYTES = 4 * 1024 * 1024;
    static final long MAX_AGE_NANOS = 20_000_000_000L;
    /** Another encoder may take a mount whose ingest has sent nothing for this long. */
    static final long IN_USE_NANOS = 3_000_000_000L;
    /**
     * For this long after a hub is made (this node has just become master), an ingest whose encoder connected to the
     * cluster earlier takes the mount from one whose encoder connected later: the ingests come back from their nodes
     * in no particular order after a failover, and the encoder that was live before it must not lose the mount to one
     * that connected during it (a DJ's software retrying on another node).
     */
    static final long TAKEOVER_GRACE_NANOS = 3_000_000_000L;
    /** How many sessions a pull has left it remembers where it was in. */
    static final int MAX_HAD = 4;

    /** Where a pull was in each session it left (session id → offset), the last {@link #MAX_HAD} only. */
    static Map<String, Long> hadMap() {
        return new java.util.LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
                return size() > MAX_HAD;
            }
        };
    }

    final String mount;
    private final LongSupplier nanos;
    /** The bytes every hub of this node holds (the {@code radiod.carry.hub.held} gauge). */
    private final AtomicLong held;
    private final Map<String, Session> sessions = new HashMap<>();
    private final Set<Puller> pullers = new LinkedHashSet<>();
    private Entry[] ring = new Entry[64];
    private int head;
    private int size;
    private long headSeq;
    private long totalBytes;
    private Session current;
    private final long madeNanos;

    /**
     * @param nanos the clock that ages the ring ({@link System#nanoTime()} but in tests)
     * @param held  where the bytes this hub holds are added and taken away
     */
    Hub(String mount, LongSupplier nanos, AtomicLong held) {
        this.mount = mount;
        this.nanos = nanos;
        this.held = held;
        this.madeNanos = nanos.getAsLong();
    }

    /** An encoder's stream as sent by an ingest (any node's source front). */
    static final class Session {
        final String id;
        final String headerLines;
        Buffer oggHeaders = Buffer.buffer();
        long headersOffset;
        long end = -1;
        long firstOffset = -1;
        long lastDataNanos;
        long lastSeq = -1;
        NetSocket ingest;
        /** When its encoder connected to the cluster (wall clock, ms), as its node said; MAX_VALUE when not said. */
        long sinceMillis = Long.MAX_VALUE;

        Session(String id, String headerLines, long now) {
            this.id = id;
            this.headerLines = headerLines;
            this.lastDataNanos = now;
        }
    }

    private record Entry(long seq, Session session, long offset, Buffer bytes, boolean end, long atNanos) {
        long endOffset() {
            return offset + (bytes == null ? 0 : bytes.length());
        }
    }

    /** One node's pull of this mount. */
    final class Puller {
        final NetSocket socket;
        Session session;
        long offset;
        String waitingFor;
        long nextSeq;
        long skipBelow = -1;
        boolean paused;
        /**
         * Where this pull is in the sessions it has left (or resumed and not yet been given): a session that comes
         * back to the ring (an encoder that takes its mount back in a new hub's grace, its ingest sending its
         * retained audio) continues from there rather than from its ring's first byte, which the node has written.
         */
        final Map<String, Long> had = hadMap();

        Puller(NetSocket socket) {
            this.socket = socket;
        }
    }

    /**
     * Whether an ingest for {@code sessionId} may feed this mount now: not while another session's ingest is
     * connected and sent audio within {@link #IN_USE_NANOS}, unless this hub is new ({@link #TAKEOVER_GRACE_NANOS})
     * and this session's encoder connected before that one's.
     *
     * @param sinceMillis when the session's encoder connected (wall clock, ms); {@code Long.MAX_VALUE} if unknown
     */
    boolean mayIngest(String sessionId, long sinceMillis) {
        long now = nanos.getAsLong();
        boolean grace = now - madeNanos < TAKEOVER_GRACE_NANOS;
        for (Session s : sessions.values()) {
            // A holder that did not say when its encoder connected (a node of an older radiod) is never taken over.
            if (!s.id.equals(sessionId) && s.ingest != null && now - s.lastDataNanos < IN_USE_NANOS
                    && !(grace && sinceMillis < s.sinceMillis && s.sinceMillis != Long.MAX_VALUE)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Attaches an ingest's connection; an older connection of the same session, or another one (idle, or taken over
     * in the grace of a new hub), is closed.
     */
    Session attachIngest(String sessionId, long sinceMillis, String headerLines, NetSocket socket) {
        for (Session s : sessions.values()) {
            if (s.ingest != null && s.ingest != socket) {
                NetSocket old = s.ingest;
                s.ingest = null;
                if (!s.id.equals(sessionId) && nanos.getAsLong() - s.lastDataNanos < IN_USE_NANOS) {
                    log.info("mount {}: session {} takes the mount from session {}: its encoder connected earlier",
                            mount, sessionId, s.id);
                }
                old.close();
            }
        }
        Session s = sessions.computeIfAbsent(sessionId, id -> new Session(id, headerLines, nanos.getAsLong()));
        s.ingest = socket;
        s.sinceMillis = sinceMillis;
        s.lastDataNanos = nanos.getAsLong();
        return s;
    }

    /** A session fed by the master itself (a relayed mount's upstream), not by an ingest connection. */
    Session attachUpstream(String sessionId, String headerLines) {
        return sessions.computeIfAbsent(sessionId, id -> new Session(id, headerLines, nanos.getAsLong()));
    }

    void detachIngest(Session s, NetSocket socket) {
        if (s.ingest == socket) {
            s.ingest = null;
        }
    }

    /**
     * The header pages of the session's current chain (an Ogg stream's; a chained stream sends new ones per chain),
     * at {@code offset} in it. Every pull on the session gets them now, whether or not its ring entries carry them:
     * a node keeps them to start its feed with when it reconnects to its Icecast, which drops the pages of a stream
     * whose headers it has not had.
     */
    void headers(Session s, long offset, Buffer block) {
        s.oggHeaders = block;
        s.headersOffset = offset;
        Buffer message = Wire.message(Wire.HEADERS, offset, block);
        for (Puller p : pullers) {
            if (p.session == s) {
                write(p, message);
            }
        }
    }

    void data(Session s, long offset, Buffer bytes) {
        s.lastDataNanos = nanos.getAsLong();
        if (bytes.length() == 0) {
            return;
        }
        long end = offset + bytes.length();
        if (end <= s.end) {
            return; // replayed, already here
        }
        if (offset < s.end) {
            bytes = bytes.getBuffer((int) (s.end - offset), bytes.length());
            offset = s.end;
        }
        append(s, offset, bytes, false);
    }

    void end(Session s, long offset) {
        if (s.end <= offset) {
            append(s, offset, null, true);
        }
    }

    private void append(Session s, long offset, Buffer bytes, boolean isEnd) {
        if (size == ring.length) {
            Entry[] bigger = new Entry[ring.length * 2];
            for (int i = 0; i < size; i++) {
                bigger[i] = ring[(head + i) % ring.length];
            }
            ring = bigger;
            head = 0;
        }
        long seq = headSeq + size;
        Entry e = new Entry(seq, s, offset, bytes, isEnd, nanos.getAsLong());
        ring[(head + size) % ring.length] = e;
        size++;
        if (bytes != null) {
            totalBytes += bytes.length();
            held.addAndGet(bytes.length());
        }
        s.end = e.endOffset();
        if (s.firstOffset < 0) {
            s.firstOffset = offset;
        }
        s.lastSeq = seq;
        current = s;
        trim();
        for (Puller p : pullers) {
            pump(p);
        }
    }

    /** Drops the oldest entries while the ring is over its bytes or its age, keeping the newest. */
    private void trim() {
        long now = nanos.getAsLong();
        while (size > 1 && (totalBytes > MAX_BYTES || now - ring[head].atNanos() > MAX_AGE_NANOS)) {
            dropFirst();
        }
    }

    /**
     * Drops every entry older than the ring's age, the newest too: a mount whose audio stopped (its encoder gone, or
     * between two of them) holds nothing after {@link #MAX_AGE_NANOS}. A pull that had everything stays where it is
     * and gets the next audio; a pull from nothing gets no burst of audio that old.
     */
    void expire() {
        long now = nanos.getAsLong();
        while (size > 0 && now - ring[head].atNanos() > MAX_AGE_NANOS) {
            dropFirst();
        }
        // A session with no ingest and nothing in the ring is over: one whose last entry went while it was still the
        // current one (an encoder gone, then the next one), or one that never sent audio. Each held its header lines
        // and Ogg header pages (up to 1 MB) until this node stopped being master.
        sessions.values().removeIf(s -> s.ingest == null && s != current && s.lastSeq < headSeq);
    }

    /** How many sessions the hub knows (tests). */
    int sessions() {
        return sessions.size();
    }

    private void dropFirst() {
        Entry first = ring[head];
        ring[head] = null;
        head = (head + 1) % ring.length;
        size--;
        headSeq++;
        if (first.bytes() != null) {
            totalBytes -= first.bytes().length();
            held.addAndGet(-first.bytes().length());
        }
        Session s = first.session();
        if (s.lastSeq == first.seq() && s != current && s.ingest == null) {
            sessions.remove(s.id);
        }
    }

    private Entry at(long seq) {
        long i = seq - headSeq;
        return i < 0 || i >= size ? null : ring[(int) ((head + i) % ring.length)];
    }

    /**
     * A node's pull, resuming after {@code offset} of session {@code resumeId} when it names one (null: a pull from
     * nothing, which gets the current session's headers and a burst).
     */
    Puller addPuller(NetSocket socket, String resumeId, long offset) {
        Puller p = new Puller(socket);
        p.nextSeq = headSeq + size;
        Session s = resumeId == null ? null : sessions.get(resumeId);
        if (resumeId != null && s == null) {
            p.waitingFor = resumeId;
            p.offset = offset;
            p.had.put(resumeId, offset);
        } else if (s != null) {
            p.session = s;
            p.offset = offset;
            if (s.oggHeaders.length() > 0) {
                // Its chain may have changed while it was away: the pull keeps them if its audio passes them.
                write(p, Wire.message(Wire.HEADERS, s.headersOffset, s.oggHeaders));
            }
            for (long q = headSeq; q < headSeq + size; q++) {
                Entry e = at(q);
                if (e.session() == s && e.endOffset() > offset) {
                    p.nextSeq = q;
                    break;
                }
            }
        } else if (current != null) {
            p.nextSeq = burstStart(current);
        }
        pullers.add(p);
        socket.drainHandler(v -> {
            if (p.paused) {
                p.paused = false;
                pump(p);
            }
        });
        pump(p);
        return p;
    }

    void removePuller(Puller p) {
        pullers.remove(p);
    }

    /** The first entry of {@code s}, past its header pages, from which at least {@link #BURST_BYTES} follow. */
    private long burstStart(Session s) {
        long from = headSeq + size;
        long bytes = 0;
        for (long q = headSeq + size - 1; q >= headSeq; q--) {
            Entry e = at(q);
            if (e.session() != s || e.end() || e.offset() < s.headersOffset + s.oggHeaders.length()) {
                break;
            }
            from = q;
            bytes += e.bytes().length();
            if (bytes >= BURST_BYTES) {
                break;
            }
        }
        return from;
    }

    /** Sends {@code p} what it has not had yet, until its socket is full. */
    private void pump(Puller p) {
        while (!p.paused) {
            if (p.nextSeq < headSeq) {
                log.info("mount {}: a pull fell out of the hub's ring; it continues from a burst", mount);
                p.nextSeq = current == null ? headSeq + size : burstStart(current);
                if (p.nextSeq < headSeq) {
                    p.nextSeq = headSeq;
                }
            }
            Entry e = at(p.nextSeq);
            if (e == null) {
                return;
            }
            p.nextSeq++;
            Session s = e.session();
            if (p.session != s) {
                if (p.waitingFor != null && !p.waitingFor.equals(s.id) && s.firstOffset > 0) {
                    // The session this pull waited for is not coming (its encoder went elsewhere): this one, afresh.
                    p.waitingFor = null;
                    long burst = burstStart(s);
                    if (burst > e.seq()) {
                        p.nextSeq = burst;
                        continue;
                    }
                }
                if (p.session != null && p.offset >= 0) {
                    p.had.put(p.session.id, p.offset);
                }
                Long had = p.had.remove(s.id);
                boolean resumed = had != null;
                p.waitingFor = null;
                p.session = s;
                p.skipBelow = -1;
                p.offset = resumed ? had : -1;
                // A resumed session starts at the pull's offset: a node that carried another one since takes it as
                // joined there, and starts with its chain's header pages.
                write(p, Wire.session(s.id, resumed ? Math.max(e.offset(), p.offset) : e.offset(), s.headerLines));
                if (s.oggHeaders.length() > 0) {
                    // Before the audio: the pull starts its feed with them, and keeps them for a reconnect (a
                    // resumed pull too: its chain may have changed while it was away).
                    write(p, Wire.message(Wire.HEADERS, s.headersOffset, s.oggHeaders));
                    if (!resumed && e.offset() > s.headersOffset) {
                        p.skipBelow = s.headersOffset + s.oggHeaders.length();
                    }
                }
            }
            if (e.end()) {
                write(p, Wire.message(Wire.END, e.offset(), Buffer.buffer()));
                continue;
            }
            if (e.endOffset() <= p.offset || e.offset() < p.skipBelow) {
                continue;
            }
            Buffer bytes = e.bytes();
            long offset = e.offset();
            if (offset < p.offset) {
                bytes = bytes.getBuffer((int) (p.offset - offset), bytes.length());
                offset = p.offset;
            }
            write(p, Wire.message(Wire.DATA, offset, bytes));
            p.offset = offset + bytes.length();
        }
    }

    private void write(Puller p, Buffer message) {
        p.socket.write(message);
        if (p.socket.writeQueueFull()) {
            p.paused = true;
        }
    }

    /** Closes every ingest and pull: this node is no longer master, or the mount is gone. */
    void close() {
        for (Session s : sessions.values()) {
            if (s.ingest != null) {
                s.ingest.close();
                s.ingest = null;
            }
        }
        for (Puller p : Set.copyOf(pullers)) {
            p.socket.close();
        }
        pullers.clear();
        held.addAndGet(-totalBytes);
        totalBytes = 0;
        headSeq += size;
        size = 0;
        head = 0;
        ring = new Entry[64];
    }
}
