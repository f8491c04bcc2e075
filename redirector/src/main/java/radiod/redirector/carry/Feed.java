package radiod.redirector.carry;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;

/**
 * A mount's one source on this node's Icecast: a {@code PUT} with the local Icecast's global source password, which
 * Icecast 2.4.4 takes for any mount without a reload. It stays connected across master changes (its {@link Pull}
 * re-dials, not the feed), so the local Icecast's listeners never see the source go. If Icecast drops it (Icecast
 * restarted), it reconnects on its own and starts with the stream's preamble (an Ogg stream's header pages).
 * Confined to the carrier's event loop.
 */
final class Feed {
    private static final Logger log = LoggerFactory.getLogger(Feed.class);
    private static final long RETRY_MILLIS = 300;
    /** What is kept while connecting; older writes go first. */
    private static final int MAX_PENDING_BYTES = 2 * 1024 * 1024;
    /**
     * When Icecast has taken the feed, its first audio waits for the ready callback's future (this node's reads of
     * the mount asked for: {@code Passthrough.warm}), this long at most. Icecast 2.4 sends a new listener audio only
     * after three more reads of its source (1,400 bytes each for MP3): reads that are there before the stream's
     * first bytes are served by the encoder's first burst, reads that come after it wait for three reads of the live
     * stream (a quarter of a second at 128 kbit/s). What comes meanwhile is kept, as while connecting.
     */
    static final long FIRST_WRITE_MAX_MILLIS = 500;
    /**
     * How long the local Icecast may take nothing (the feed's write queue full throughout) before the feed leaves it
     * and connects again: a hung Icecast would otherwise have the stream queued for it without end, at its bitrate.
     */
    static final long STALL_MILLIS = 10_000;

    private final Vertx vertx;
    private final NetClient client;
    private final String host;
    private final int port;
    private final String authorization;
    private final String mount;
    private final Supplier<Buffer> preamble;
    private final Supplier<Future<?>> onReady;
    private final Runnable onIcecastChanged;
    private final ArrayDeque<Buffer> pending = new ArrayDeque<>();
    private int pendingBytes;
    private String headerLines;
    private NetSocket socket;
    private boolean ready;
    private boolean wanted;
    private long retryTimer = -1;
    private long firstWriteTimer = -1;
    private long generation;
    private final long stallNanos;
    /** Since when the connection's write queue has been full; -1 while it takes what it is given. */
    private long stalledSinceNanos = -1;

    /**
     * @param ready            asked (on the event loop) each time the local Icecast takes the feed, the mount about
     *                         to be live; the feed's first audio waits for the future it returns (see
     *                         {@link #FIRST_WRITE_MAX_MILLIS})
     * @param onIcecastChanged told (on the event loop) when {@link #onIcecast()} may have changed
     */
    Feed(Vertx vertx, NetClient client, String host, int port, String sourcePassword, String mount, Supplier<Buffer> preamble,
         Supplier<Future<?>> ready, Runnable onIcecastChanged) {
        this(vertx, client, host, port, sourcePassword, mount, preamble, ready, onIcecastChanged, STALL_MILLIS);
    }

    /** @param stallMillis how long the local Icecast may take nothing before the feed connects again (tests) */
    Feed(Vertx vertx, NetClient client, String host, int port, String sourcePassword, String mount, Supplier<Buffer> preamble,
         Supplier<Future<?>> ready, Runnable onIcecastChanged, long stallMillis) {
        this.stallNanos = TimeUnit.MILLISECONDS.toNanos(stallMillis);
        this.vertx = vertx;
        this.client = client;
        this.host = host;
        this.port = port;
        this.authorization = "Basic " + Base64.getEncoder()
                .encodeToString(("source:" + sourcePassword).getBytes(StandardCharsets.UTF_8));
        this.mount = mount;
        this.preamble = preamble;
        this.onReady = ready;
        this.onIcecastChanged = onIcecastChanged;
    }

    boolean isOpen() {
        return wanted;
    }

    /**
     * Whether the local Icecast has this mount now: it took the feed and its first audio is written (after this
     * node's reads of the mount were asked for, or {@link #FIRST_WRITE_MAX_MILLIS}), and the connection is up.
     * Icecast's own status lists such a mount only up to ~0.3 s later (its stats thread drains its queue every
     * 300 ms); listeners sent here meanwhile are served.
     */
    boolean onIcecast() {
        return socket != null && ready && firstWriteTimer < 0;
    }

    String headerLines() {
        return headerLines;
    }

    /** Starts (or restarts, with other stream headers) the source; what is written meanwhile is queued. */
    void open(String lines) {
        if (wanted && lines.equals(headerLines)) {
            return;
        }
        drop();
        wanted = true;
        headerLines = lines;
        connect();
    }

    void write(Buffer units) {
        if (!wanted) {
            return;
        }
        if (ready && pending.isEmpty() && firstWriteTimer < 0) {
            NetSocket s = socket;
            if (s.writeQueueFull()) {
                long now = System.nanoTime();
                if (stalledSinceNanos < 0) {
                    stalledSinceNanos = now;
                    s.drainHandler(v -> stalledSinceNanos = -1);
                } else if (now - stalledSinceNanos > stallNanos) {
                    log.warn("mount {}: the local Icecast took no audio for {} ms; leaving it and connecting again",
                            mount, TimeUnit.NANOSECONDS.toMillis(now - stalledSinceNanos));
                    stalledSinceNanos = -1;
                    lost(s, generation, "it took no audio");
                    abort(s);
                    pending.add(units);
                    pendingBytes += units.length();
                    return;
                }
            }
            s.write(units);
            return;
        }
        pending.add(units);
        pendingBytes += units.length();
        while (pendingBytes > MAX_PENDING_BYTES && pending.size() > 1) {
            pendingBytes -= pending.removeFirst().length();
        }
    }

    /** Ends the source: the mount goes off this node's Icecast (its listeners move to its fallback, if any). */
    void close() {
        if (wanted) {
            log.info("mount {}: feed to the local Icecast closed", mount);
        }
        drop();
        headerLines = null;
    }

    private void drop() {
        wanted = false;
        ready = false;
        generation++;
        pending.clear();
        pendingBytes = 0;
        if (retryTimer >= 0) {
            vertx.cancelTimer(retryTimer);
            retryTimer = -1;
        }
        cancelFirstWrite();
        NetSocket s = socket;
        socket = null;
        if (s != null) {
            s.close();
            onIcecastChanged.run();
        }
    }

    private void connect() {
        long gen = generation;
        client.connect(port, host).onComplete(ar -> {
            if (gen != generation) {
                if (ar.succeeded()) {
                    ar.result().close();
                }
                return;
            }
            if (ar.failed()) {
                retry(gen, "cannot connect: " + ar.cause().getMessage());
                return;
            }
            NetSocket s = ar.result();
            socket = s;
            stalledSinceNanos = -1;
            String req = "PUT " + mount + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\nAuthorization: " + authorization
                    + "\r\nUser-Agent: radiod\r\n" + headerLines + "Expect: 100-continue\r\n\r\n";
            s.write(Buffer.buffer(req, StandardCharsets.ISO_8859_1.name()));
            Buffer[] answer = {Buffer.buffer()};
            s.handler(chunk -> {
                if (ready) {
                    return;
                }
                answer[0].appendBuffer(chunk);
                String text = answer[0].toString(StandardCharsets.ISO_8859_1);
                int end = text.indexOf("\r\n\r\n");
                if (end < 0) {
                    if (text.length() > 4096) {
                        s.close();
                    }
                    return;
                }
                String line = text.substring(0, Math.max(0, text.indexOf("\r\n")));
                if (line.matches("HTTP/1\\.[01] (100|200) .*")) {
                    ready = true;
                    // The future completes on another event loop: the first write comes back to this one.
                    Context here = vertx.getOrCreateContext();
                    long timer = vertx.setTimer(FIRST_WRITE_MAX_MILLIS, t -> firstWrite(s, t));
                    firstWriteTimer = timer;
                    onReady.get().onComplete(asked -> here.runOnContext(v -> firstWrite(s, timer)));
                } else {
                    log.warn("mount {}: the local Icecast answered the feed '{}'", mount, line);
                    s.close();
                }
            });
            s.exceptionHandler(e -> s.close());
            s.closeHandler(v -> lost(s, gen, "the local Icecast closed it"));
        });
    }

    /** The connection {@code s} is gone (or being left): connect again, what comes meanwhile queued. */
    private void lost(NetSocket s, long gen, String why) {
        if (socket == s) {
            socket = null;
            ready = false;
            cancelFirstWrite();
            onIcecastChanged.run();
            retry(gen, why);
        }
    }

    /** The stream's first audio on this connection (once: {@code timer} is still the one waited on). */
    private void firstWrite(NetSocket s, long timer) {
        if (firstWriteTimer != timer || socket != s) {
            return;
        }
        vertx.cancelTimer(timer);
        firstWriteTimer = -1;
        Buffer pre = preamble.get();
        if (pre != null && pre.length() > 0 && !startsWith(pending, pre)) {
            s.write(pre);
        }
        while (!pending.isEmpty()) {
            s.write(pending.removeFirst());
        }
        pendingBytes = 0;
        onIcecastChanged.run();
    }

    /**
     * Closes a connection now, dropping what is queued for it: {@link NetSocket#close()} would first wait for the
     * queue to be written, which a peer that reads nothing never lets happen.
     */
    private static void abort(NetSocket s) {
        if (s instanceof io.vertx.core.net.impl.ConnectionBase c) {
            c.channel().close();
        } else {
            s.close();
        }
    }

    private void cancelFirstWrite() {
        if (firstWriteTimer >= 0) {
            vertx.cancelTimer(firstWriteTimer);
            firstWriteTimer = -1;
        }
    }

    /**
     * Whether what is queued begins with {@code prefix}, across the queued pieces: a session's header pages come as
     * one piece per page, so a feed whose first connection queued them would otherwise get them twice.
     */
    static boolean startsWith(java.util.Collection<Buffer> queued, Buffer prefix) {
        int at = 0;
        for (Buffer b : queued) {
            int n = Math.min(b.length(), prefix.length() - at);
            if (!b.getBuffer(0, n).equals(prefix.getBuffer(at, at + n))) {
                return false;
            }
            at += n;
            if (at == prefix.length()) {
                return true;
            }
        }
        return false;
    }

    private void retry(long gen, String why) {
        if (gen != generation || !wanted) {
            return;
        }
        log.info("mount {}: feed to the local Icecast: {}; retrying", mount, why);
        retryTimer = vertx.setTimer(RETRY_MILLIS, t -> {
            retryTimer = -1;
            if (gen == generation && wanted) {
                connect();
            }
        });
    }
}
