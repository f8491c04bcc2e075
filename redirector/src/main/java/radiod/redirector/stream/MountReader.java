package radiod.redirector.stream;

import java.net.ConnectException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeoutException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import radiod.redirector.carry.StreamFramer;

/**
 * One read of a mount from the local Icecast, shared by all of that mount's listeners on one event loop, and
 * everything done on that loop for them: the upstream's ICY metadata split off, its audio cut into whole units
 * ({@link StreamFramer}), gathered for one batch interval and then written to every listener at once (one shared
 * buffer, one flush per listener), kept in a {@link BurstRing} for listeners who join later.
 *
 * <p>A listener whose queue is still full when a batch comes is dropped; the reader never waits for anyone. When
 * the upstream ends (the local Icecast restarting, the source gone), the listeners are held, silent, and the reader
 * alone asks for the mount again, a few times a second at most, until the hold limit; then their streams end.
 *
 * <p>Everything here runs on the reader's event loop ({@code context}); only the counts it reports are read
 * elsewhere.
 */
final class MountReader implements IcySplitter.Sink, IcyFramer.Metadata {
    private static final Logger log = LoggerFactory.getLogger(MountReader.class);
    /** First re-dial after the upstream ended, doubled up to {@link #REDIAL_MAX_MILLIS}. */
    static final long REDIAL_MIN_MILLIS = 250;
    static final long REDIAL_MAX_MILLIS = 1000;

    private enum State { CONNECTING, LIVE, HELD, CLOSED }

    private final Passthrough owner;
    private final Context context;
    private final String mount;
    private final PassthroughSettings settings;
    private final BurstRing ring;
    /** Listeners waiting for the first answer from the upstream. */
    private final List<ListenerStream> waiting = new ArrayList<>();
    /** Listeners being streamed to (or held), in an array with O(1) removal: each knows its index. */
    private ListenerStream[] listeners = new ListenerStream[8];
    private int count;
    private final List<StreamFramer.Piece> pending = new ArrayList<>();
    private int pendingBytes;
    private byte[] scratch = new byte[16 * 1024];
    private State state = State.CONNECTING;
    private HttpClientResponse upstream;
    /** The headers listeners get (Icecast's, filtered), and whether the stream carries ICY metadata. */
    private List<Map.Entry<String, String>> head = List.of();
    private boolean metadataInStream;
    private String contentType;
    private IcySplitter splitter;
    private StreamFramer framer;
    /** Whether the current upstream has come to its first whole unit. */
    private boolean inUnits;
    private ByteBuf metadata;
    private long metadataVersion;
    private long tickTimer = -1;
    private long lingerTimer = -1;
    private long heldSince;
    private long backoff;
    /**
     * For its first {@link #START_MILLIS} after going live, and after each resume, a reader writes what comes within
     * {@link #START_BATCH_MILLIS} instead of at the next batch: a new mount is heard as soon as its first frames are
     * here, and a stream back after a hold refills its listeners' buffers at once. Then the batches take over.
     */
    static final long START_MILLIS = 1_000;
    static final long START_BATCH_MILLIS = 20;
    /** Until when (ms, {@link #now()}) audio is written within {@link #START_BATCH_MILLIS}; 0 once over. */
    private long startingUntil;
    private boolean startBatchScheduled;

    /**
     * A warm read ({@link Passthrough#warm}) asks again while Icecast answers 404 (the mount not there yet), for this
     * long, first after {@link #WARM_RETRY_MILLIS}, doubling up to {@link #WARM_RETRY_MAX_MILLIS}; it counts as asked
     * once a request is written and not answered within {@link #WARM_SETTLE_MILLIS} (Icecast holds a listener's
     * answer until its source loop turns: the request is among the mount's listeners by then).
     */
    static final long WARM_MILLIS = 2_000;
    static final long WARM_RETRY_MILLIS = 10;
    static final long WARM_RETRY_MAX_MILLIS = 200;
    static final long WARM_SETTLE_MILLIS = 10;
    /** Until when (ms, {@link #now()}) a 404 is asked again instead of ending the read; the next wait for that. */
    private long warmUntil;
    private long warmRetry = WARM_RETRY_MILLIS;
    /** Completed once this warm read is asked for (see {@link #WARM_SETTLE_MILLIS}), or live, or closed. */
    private Promise<Void> asked;
    /** Requests made so far; the latest that was answered, and the latest that settled unanswered. */
    private long requests;
    private long answeredRequest;
    private long settledRequest;
    /** A held reader's next redial, or -1 (none waiting: a request is out, or it is not held). */
    private long redialTimer = -1;

    MountReader(Passthrough owner, Context context, String mount) {
        this.owner = owner;
        this.context = context;
        this.mount = mount;
        this.settings = owner.settings();
        this.ring = new BurstRing(settings.burstBytes());
    }

    String mount() {
        return mount;
    }

    /** The context it was started from (on its event loop). */
    Context context() {
        return context;
    }

    boolean live() {
        return state == State.LIVE || state == State.HELD;
    }

    /** Asks the local Icecast for the mount, with ICY metadata. */
    void connect() {
        long request = ++requests;
        owner.upstreamRequest(mount).onComplete(ar -> {
            if (ar.failed()) {
                answered(Future.failedFuture(ar.cause()));
                return;
            }
            HttpClientRequest req = ar.result();
            req.response().onComplete(this::answered);
            req.end().onComplete(written -> {
                if (written.succeeded()) {
                    settleAfter(request);
                }
            });
        });
    }

    /**
     * Waits {@link #WARM_SETTLE_MILLIS} for the request's answer, then one more turn of the event loop: Netty runs a
     * due timer after the reads of its turn, so an answer that came while the loop was busy (another channel's
     * reads, a stand-in on the same loop) or its thread off the CPU (a starved machine, a collection) would still be
     * unread in the socket. The second, 1 ms wait lets the loop read before the request counts as unanswered.
     */
    private void settleAfter(long request) {
        owner.vertx().setTimer(WARM_SETTLE_MILLIS, t -> owner.vertx().setTimer(1, t2 -> settled(request)));
    }

    /** A request written {@link #WARM_SETTLE_MILLIS} ago: if it is still the latest and unanswered, it is asked for. */
    private void settled(long request) {
        if (request == requests && answeredRequest < request && (state == State.CONNECTING || state == State.HELD)) {
            settledRequest = request;
            warmAsked();
        }
    }

    /**
     * Made warm ({@link Passthrough#warm}): until it is live, a 404 (the mount not there yet) is asked again, and a
     * held reader waiting to redial asks now.
     *
     * @return completed once it is asked for (a request written and not answered within
     *         {@link #WARM_SETTLE_MILLIS}), at once when it is live or closed
     */
    Future<Void> warm() {
        warmUntil = now() + WARM_MILLIS;
        warmRetry = WARM_RETRY_MILLIS;
        if (asked == null || asked.future().isComplete()) {
            asked = Promise.promise();
        }
        if (state == State.LIVE || state == State.CLOSED) {
            warmAsked();
        } else if (state == State.HELD && redialTimer >= 0) {
            owner.vertx().cancelTimer(redialTimer);
            redialTimer = -1;
            connect();
        } else if (requests > 0 && settledRequest == requests) {
            warmAsked(); // its request is out, unanswered, already among the mount's listeners
        }
        return asked.future();
    }

    private void warmAsked() {
        if (asked != null) {
            asked.tryComplete();
        }
    }

    /** A new listener (GET) of this mount on this loop. */
    void add(ListenerStream l) {
        cancelLinger();
        l.resp.closeHandler(v -> {
            boolean unanswered = !l.gone && l.index < 0;
            leave(l);
            if (unanswered) {
                l.leftUnanswered(); // the player left while this read still asked Icecast for the mount
            }
        });
        l.resp.exceptionHandler(e -> log.debug("listener of {}: {}", mount, e.toString()));
        if (state == State.CONNECTING) {
            waiting.add(l);
        } else {
            join(l);
        }
    }

    /** A HEAD of the mount: answered from the stream's headers while there is one. */
    boolean answerHead(HttpServerRequest req) {
        if (!live()) {
            return false;
        }
        String icy = req.getHeader("Icy-MetaData");
        ListenerStream.head(req, head, metadataInStream ? owner.metaint(mount) : 0, icy != null && icy.trim().equals("1"));
        return true;
    }

    private void join(ListenerStream l) {
        l.start(head, metadataInStream ? owner.metaint(mount) : 0, settings.queueBytes());
        ring.writeTo(l, this);
        if (listeners.length == count) {
            listeners = Arrays.copyOf(listeners, count * 2);
        }
        l.index = count;
        listeners[count++] = l;
        owner.listenerJoined(mount);
        if (state == State.HELD) {
            owner.heldChanged(1);
        }
        // Counted before the flush: no client can read a byte the counts (listeners, bytes) do not hold yet.
        owner.sent(l.bytes());
        l.flush();
    }

    private void leave(ListenerStream l) {
        if (l.gone) {
            return;
        }
        l.gone = true;
        if (l.index < 0) {
            waiting.remove(l);
        } else {
            int i = l.index;
            ListenerStream last = listeners[--count];
            listeners[i] = last;
            last.index = i;
            listeners[count] = null;
            l.index = -1;
            owner.listenerLeft(mount);
            if (state == State.HELD) {
                owner.heldChanged(-1);
            }
            if (l.stalled) {
                l.stalled = false;
                owner.stalledChanged(-1);
            }
        }
        if (count == 0 && waiting.isEmpty()) {
            if (state == State.HELD) {
                close();
            } else {
                scheduleLinger();
            }
        }
    }

    private void answered(AsyncResult<HttpClientResponse> ar) {
        answeredRequest = requests;
        HttpClientResponse up = ar.succeeded() ? ar.result() : null;
        if (state == State.CLOSED || owner.closed()) {
            if (up != null) {
                up.request().connection().close();
            }
            close();
            return;
        }
        if (up != null && up.statusCode() == 200) {
            if (state == State.CONNECTING) {
                goLive(up);
            } else if (sameContent(up)) {
                resume(up);
            } else {
                log.info("mount {}: the local Icecast now sends {} instead of {}; ending its {} listeners here", mount,
                        up.getHeader("Content-Type"), contentType, count);
                up.request().connection().close();
                close();
            }
            return;
        }
        if (up != null) {
            up.request().connection().close();
        }
        if (state == State.CONNECTING) {
            if (now() < warmUntil && up != null && up.statusCode() == 404) {
                long wait = warmRetry;
                warmRetry = Math.min(warmRetry * 2, WARM_RETRY_MAX_MILLIS);
                owner.vertx().setTimer(wait, t -> {
                    if (state == State.CONNECTING && !owner.closed()) {
                        connect();
                    }
                });
                return;
            }
            refuseWaiting(up, ar.cause());
            close();
        } else {
            redialLater();
        }
    }

    private void goLive(HttpClientResponse up) {
        state = State.LIVE;
        warmAsked();
        startingUntil = now() + START_MILLIS;
        contentType = up.getHeader("Content-Type");
        head = owner.listenerHeaders(up.headers());
        metadataInStream = metaint(up) > 0;
        attach(up);
        tickTimer = owner.vertx().setPeriodic(settings.batch().toMillis(), t -> tick());
        List<ListenerStream> ready = new ArrayList<>(waiting);
        waiting.clear();
        for (ListenerStream l : ready) {
            join(l);
        }
        if (count == 0) {
            scheduleLinger();
        }
    }

    private void resume(HttpClientResponse up) {
        state = State.LIVE;
        warmAsked();
        startingUntil = now() + START_MILLIS;
        owner.heldChanged(-count);
        owner.resumed(count);
        log.info("mount {}: the local Icecast streams it again; {} held listeners continue", mount, count);
        attach(up);
    }

    private void attach(HttpClientResponse up) {
        upstream = up;
        splitter = new IcySplitter(metaint(up), this);
        framer = StreamFramer.forContentType(contentType);
        inUnits = false;
        up.handler(chunk -> {
            if (upstream == up) {
                splitter.accept(chunk);
            }
        });
        up.endHandler(v -> ended(up));
        up.exceptionHandler(e -> {
            log.debug("mount {}: upstream failed: {}", mount, e.toString());
            ended(up);
        });
        up.request().connection().closeHandler(v -> ended(up));
    }

    @Override
    public void audio(Buffer data) {
        for (StreamFramer.Piece p : framer.accept(data)) {
            Buffer bytes = p.bytes();
            if (bytes.length() == 0) {
                continue;
            }
            if (!inUnits) {
                // Icecast starts a new client wherever its buffers happen to start, often inside a frame: a stream,
                // and a splice after a hold, starts here at the first whole unit.
                if (framer.framed() && !BurstRing.startsUnit(bytes)) {
                    continue;
                }
                inUnits = true;
            }
            pending.add(p);
            pendingBytes += bytes.length();
            if (startingUntil != 0 && !startBatchScheduled) {
                if (now() < startingUntil) {
                    startBatchScheduled = true;
                    owner.vertx().setTimer(START_BATCH_MILLIS, t -> startTick());
                } else {
                    startingUntil = 0;
                }
            }
        }
    }

    @Override
    public void metadata(Buffer block) {
        if (metadata != null && same(metadata, block)) {
            return;
        }
        if (metadata != null) {
            metadata.release();
        }
        byte[] bytes = block.getBytes();
        metadata = Unpooled.directBuffer(bytes.length).writeBytes(bytes);
        metadataVersion++;
    }

    /** The cluster's title of the mount when it has one (an encoder's metadata update), else the stream's own. */
    @Override
    public ByteBuf block() {
        Passthrough.TitleBlock t = owner.titleBlock(mount);
        return t != null ? t.block() : metadata;
    }

    @Override
    public long version() {
        Passthrough.TitleBlock t = owner.titleBlock(mount);
        return t != null ? t.version() : metadataVersion;
    }

    /**
     * A start-up write: only when every listener has room. Otherwise what came waits for the next batch, where the
     * rule for listeners that fall behind applies as always: a start-up write never drops anyone.
     */
    private void startTick() {
        startBatchScheduled = false;
        for (int i = 0; i < count; i++) {
            if (listeners[i].open() && listeners[i].full()) {
                return;
            }
        }
        tick();
    }

    /** Writes what came since the last batch to every listener, and keeps it for the next ones' bursts. */
    private void tick() {
        if (pending.isEmpty() || state == State.CLOSED) {
            return;
        }
        // The batch in one buffer, shared by every listener (each writes a slice of it).
        ByteBuf batch = ByteBufAllocator.DEFAULT.directBuffer(pendingBytes);
        try {
            int start = batch.writerIndex();
            for (StreamFramer.Piece p : pending) {
                int n = p.bytes().length();
                if (scratch.length < n) {
                    scratch = new byte[Math.max(n, scratch.length * 2)];
                }
                p.bytes().getBytes(0, n, scratch, 0);
                batch.writeBytes(scratch, 0, n);
            }
            int length = pendingBytes;
            List<ListenerStream> behind = null;
            for (int i = count - 1; i >= 0; i--) {
                ListenerStream l = listeners[i];
                if (!l.open()) {
                    continue;
                }
                if (l.full()) {
                    if (behind == null) {
                        behind = new ArrayList<>();
                    }
                    behind.add(l);
                    continue;
                }
                boolean backlogged = l.backlogged();
                if (backlogged != l.stalled) {
                    l.stalled = backlogged;
                    owner.stalledChanged(backlogged ? 1 : -1);
                }
                long before = l.bytes();
                l.batch(batch, start, length, this);
                owner.sent(l.bytes() - before); // before the flush: a client never reads past the count
                l.flush();
            }
            int at = start;
            for (StreamFramer.Piece p : pending) {
                int n = p.bytes().length();
                if (p.kind() == StreamFramer.Kind.HEADERS) {
                    ring.header(batch, at, n);
                } else {
                    ring.data(batch, at, n, framer.framed());
                }
                at += n;
            }
            if (behind != null) {
                for (ListenerStream l : behind) {
                    owner.droppedOne();
                    log.debug("mount {}: dropping a listener that fell behind ({} bytes queued)", mount,
                            settings.queueBytes());
                    l.drop();
                }
            }
        } finally {
            batch.release();
            pending.clear();
            pendingBytes = 0;
        }
    }

    private void ended(HttpClientResponse up) {
        if (up != upstream || state != State.LIVE) {
            return;
        }
        upstream = null;
        tick(); // the whole units that came before the end
        if (count == 0 && waiting.isEmpty()) {
            close();
            return;
        }
        if (settings.holdLimit().isZero() || owner.closed()) {
            close();
            return;
        }
        state = State.HELD;
        heldSince = now();
        backoff = REDIAL_MIN_MILLIS;
        owner.heldChanged(count);
        log.info("mount {}: the local Icecast ended the stream; holding {} listeners here for up to {} s", mount,
                count, settings.holdLimit().toSeconds());
        redialTimer = owner.vertx().setTimer(backoff, t -> redial());
    }

    private void redial() {
        redialTimer = -1;
        if (state != State.HELD) {
            return;
        }
        connect();
    }

    private void redialLater() {
        long waited = now() - heldSince;
        long left = settings.holdLimit().toMillis() - waited;
        if (left <= 0) {
            log.info("mount {}: not back on the local Icecast after {} s; ending its {} listeners here", mount,
                    waited / 1000, count);
            close();
            return;
        }
        backoff = Math.min(backoff * 2, REDIAL_MAX_MILLIS);
        redialTimer = owner.vertx().setTimer(Math.max(1, Math.min(backoff, left)), t -> redial());
    }

    private boolean sameContent(HttpClientResponse up) {
        String type = up.getHeader("Content-Type");
        return contentType == null ? type == null : contentType.equalsIgnoreCase(type);
    }

    private void refuseWaiting(HttpClientResponse up, Throwable cause) {
        List<ListenerStream> refused = new ArrayList<>(waiting);
        waiting.clear();
        for (ListenerStream l : refused) {
            l.gone = true;
            owner.refuse(l, mount, up == null ? -1 : up.statusCode(), cause);
        }
    }

    private void scheduleLinger() {
        if (lingerTimer >= 0 || state == State.CLOSED) {
            return;
        }
        long ms = settings.linger().toMillis();
        if (ms == 0) {
            close();
            return;
        }
        lingerTimer = owner.vertx().setTimer(ms, t -> {
            lingerTimer = -1;
            if (count == 0 && waiting.isEmpty()) {
                close();
            }
        });
    }

    private void cancelLinger() {
        if (lingerTimer >= 0) {
            owner.vertx().cancelTimer(lingerTimer);
            lingerTimer = -1;
        }
    }

    /**
     * Ends the reader: its listeners' streams ended (so that their players reconnect), its upstream closed, its
     * memory given back, its place on the loop free.
     */
    void close() {
        if (state == State.CLOSED) {
            return;
        }
        if (state == State.HELD) {
            owner.heldChanged(-count);
        }
        state = State.CLOSED;
        warmAsked();
        cancelLinger();
        if (tickTimer >= 0) {
            owner.vertx().cancelTimer(tickTimer);
            tickTimer = -1;
        }
        HttpClientResponse up = upstream;
        upstream = null;
        if (up != null) {
            up.request().connection().close();
        }
        for (int i = count - 1; i >= 0; i--) {
            ListenerStream l = listeners[i];
            leave(l);
            l.end();
        }
        for (ListenerStream l : new ArrayList<>(waiting)) {
            leave(l);
            l.text(503, "stream unavailable on this node; retry shortly");
        }
        ring.release();
        if (metadata != null) {
            metadata.release();
            metadata = null;
        }
        pending.clear();
        owner.readerClosed(this);
    }

    static boolean unreachable(Throwable cause) {
        return cause instanceof ConnectException || cause instanceof TimeoutException
                || cause instanceof ConnectionPoolTooBusyException;
    }

    static int metaint(HttpClientResponse up) {
        String v = up.getHeader("icy-metaint");
        if (v == null) {
            return 0;
        }
        try {
            return Math.max(0, Integer.parseInt(v.trim()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static long now() {
        return System.nanoTime() / 1_000_000;
    }

    @Override
    public String toString() {
        return "reader of " + mount + " (" + state.name().toLowerCase(Locale.ROOT) + ", " + count + " listeners)";
    }

    private static boolean same(ByteBuf current, Buffer block) {
        if (current.readableBytes() != block.length()) {
            return false;
        }
        for (int i = 0; i < block.length(); i++) {
            if (current.getByte(current.readerIndex() + i) != block.getByte(i)) {
                return false;
            }
        }
        return true;
    }
}
