package radiod.redirector.stream;

import java.net.ConnectException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

/**
 * Streams a mount from an Icecast (normally this node's) to a listener. One upstream connection per listener,
 * never reused (streams are endless); the body is relayed chunk by chunk with back-pressure: when the listener's
 * socket cannot take more, the upstream connection is paused, so a slow listener costs at most one write queue
 * ({@value #WRITE_QUEUE_BYTES} bytes) of this node's memory (plus the kernel's socket buffers), and a listener that
 * takes nothing for the stall limit (default 30 s) is dropped; Icecast would drop it too once its queue is full.
 *
 * <p>HTTP/1.0 listeners get a close-delimited body (as from Icecast), HTTP/1.1 listeners a chunked one. ICY
 * metadata passes through untouched ({@code Icy-MetaData} forwarded, {@code icy-*} headers returned). The
 * listener's address is sent as {@code X-Forwarded-For}; note that Icecast 2.4.4 ignores that header (it has no
 * trusted-proxy setting), so its logs and stats show this node's address.
 *
 * <p>The listener closing closes the upstream. The upstream ending does not end the listener's stream at once: a
 * relay Icecast drops its listeners whenever its own upstream (the master) goes, for a master failover, a rolling
 * restart or an Icecast restart, and a player that reconnects then risks landing on a node that has not caught up
 * yet. So the stream is <em>held</em>: the listener's response stays open, silent, while the mount is asked for
 * again every {@value #REDIAL_MILLIS} ms, and the first answer with audio continues the same response (ICY
 * metadata re-framed by {@link IcyFramer}). Only when nothing comes back within the hold limit (default 15 s)
 * does the listener's stream end. A listener whose socket is full (stalled) is not held but dropped.
 */
public final class Passthrough {
    private static final Logger log = LoggerFactory.getLogger(Passthrough.class);
    /** Per listener: a few seconds of a 128 kbit/s stream, whatever the listener does. */
    static final int WRITE_QUEUE_BYTES = 64 * 1024;
    /** A listener that takes nothing for this long is dropped. */
    public static final Duration DEFAULT_STALL_LIMIT = Duration.ofSeconds(30);
    /** How long a listener's stream is held open, silent, while its upstream is asked for again. */
    public static final Duration DEFAULT_HOLD_LIMIT = Duration.ofSeconds(15);
    static final long REDIAL_MILLIS = 250;
    /**
     * How often a listener's upstream socket is read. Icecast sends a 128 kbit/s stream in about seven packets a
     * second; reading each as it comes costs an event, a read and a write per packet and per listener. Reading on
     * this tick lets the kernel gather them, so each listener costs about one read and one write per tick (the
     * bench/stream figures in bench/RESULTS.md). Players buffer seconds of audio; this adds at most one tick.
     */
    static final long PACE_MILLIS = 500;
    /**
     * A stream that brings more than this between two ticks (after the burst on connect) is read as it comes
     * instead: the kernel's buffer for a rarely read socket stays small, and a stream above ~1 Mbit/s (FLAC, say)
     * would fall behind at one read per tick.
     */
    static final int UNPACED_ABOVE_BYTES_PER_TICK = 40 * 1024;
    static final String BYTES_DESCRIPTION = "stream bytes proxied through this node, by direction";
    private static final Set<String> FORWARDED = Set.of("icy-metadata", "user-agent", "range", "accept", "referer",
            "accept-language");
    private static final Set<String> NOT_RETURNED = Set.of("connection", "keep-alive", "transfer-encoding",
            "content-length", "proxy-authenticate", "proxy-connection", "upgrade", "te", "trailer", "server");

    private final Vertx vertx;
    private final HttpClient client;
    private final long holdMillis;
    private final AtomicInteger held = new AtomicInteger();
    private final Counter resumed;
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicInteger stalled = new AtomicInteger();
    private final Counter bytes;
    /** Chunks read from upstreams (each one read event, and a write to the listener). */
    private final java.util.concurrent.atomic.LongAdder upstreamChunks = new java.util.concurrent.atomic.LongAdder();
    private final Counter unreachableFailures;
    private final Counter notLive;
    private final Counter badAnswers;

    /**
     * @param maxStreams most concurrent streams to one upstream Icecast; more wait up to the connect timeout, then
     *                   get 503
     * @param holdLimit  how long a listener's stream is held open while its ended upstream is asked for again;
     *                   {@link Duration#ZERO} ends the listener's stream with the upstream's
     */
    public Passthrough(Vertx vertx, MeterRegistry registry, int maxStreams) {
        this(vertx, registry, maxStreams, DEFAULT_STALL_LIMIT, DEFAULT_HOLD_LIMIT);
    }

    // TEMPORARY until the fan-out lands
    public Passthrough(Vertx vertx, MeterRegistry registry, int maxStreams, String host, int port) {
        this(vertx, registry, maxStreams, DEFAULT_STALL_LIMIT, DEFAULT_HOLD_LIMIT);
    }

    public int listeners() {
        return active.get();
    }

    public java.util.Map<String, Integer> listenersByMount() {
        return java.util.Map.of();
    }

    public long bytesSent() {
        return (long) bytes.count();
    }

    /**
     * @param stallLimit a stream whose upstream has been paused (or silent) this long is closed: a listener that
     *                   stopped reading, or an Icecast that stopped sending
     */
    public Passthrough(Vertx vertx, MeterRegistry registry, int maxStreams, Duration stallLimit, Duration holdLimit) {
        if (maxStreams < 1) {
            throw new IllegalArgumentException("maxStreams must be at least 1, got " + maxStreams);
        }
        if (stallLimit == null || stallLimit.toMillis() < 100) {
            throw new IllegalArgumentException("stallLimit must be at least 100 ms, got " + stallLimit);
        }
        if (holdLimit == null || holdLimit.isNegative()) {
            throw new IllegalArgumentException("holdLimit must be zero or positive, got " + holdLimit);
        }
        this.vertx = vertx;
        this.holdMillis = holdLimit.toMillis();
        this.client = vertx.createHttpClient(new HttpClientOptions()
                        .setKeepAlive(false)
                        // A refused connection fails at once; only a SYN dropped by a busy Icecast's full accept queue
                        // waits (1 s, then 2 s more before the kernel tries again): 2 s turned away 5 % of 5,000 listeners
                        // arriving at 500 a second (bench/stream/run).
                        .setConnectTimeout(10_000)
                        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
                        .setReadIdleTimeout((int) Math.min(Integer.MAX_VALUE, stallLimit.toMillis()))
                        .setTcpNoDelay(true)
                        .setMaxInitialLineLength(1024)
                        .setMaxHeaderSize(16 * 1024),
                new PoolOptions().setHttp1MaxSize(maxStreams).setMaxWaitQueueSize(maxStreams));
        Gauge.builder("radiod.passthrough.streams", active, AtomicInteger::get)
                .description("listener streams being proxied").register(registry);
        Gauge.builder("radiod.passthrough.stalled", stalled, AtomicInteger::get)
                .description("proxied streams paused because their listener is not reading").register(registry);
        this.bytes = Counter.builder("radiod.bytes.proxied").tag("direction", "listener").baseUnit("bytes")
                .description(BYTES_DESCRIPTION).register(registry);
        Gauge.builder("radiod.passthrough.held", held, AtomicInteger::get)
                .description("listener streams held open while their ended upstream is asked for again").register(registry);
        this.resumed = Counter.builder("radiod.passthrough.resumed")
                .description("held listener streams that got audio again without reconnecting").register(registry);
        this.unreachableFailures = failures(registry, "unreachable");
        this.notLive = failures(registry, "not_live");
        this.badAnswers = failures(registry, "bad_answer");
    }

    private static Counter failures(MeterRegistry registry, String reason) {
        return Counter.builder("radiod.passthrough.failures").tag("reason", reason)
                .description("listener streams that could not be started: Icecast unreachable, mount not live, other answer")
                .register(registry);
    }

    /** Streams being proxied now. */
    /** Chunks read from upstreams so far. */
    long upstreamChunks() {
        return upstreamChunks.sum();
    }

    public int active() {
        return active.get();
    }

    /** Streams held open, silent, while their ended upstream is asked for again. */
    public int held() {
        return held.get();
    }

    /** Streams whose upstream is paused because their listener's socket is full. */
    public int stalled() {
        return stalled.get();
    }

    /**
     * Proxies {@code req} ({@code GET} or {@code HEAD}) to {@code http://host:port<mountPath>}, query string
     * kept. Call it on the request's event loop, before the request has been read further.
     */
    public void serve(HttpServerRequest req, String mountPath, String host, int port) {
        HttpServerResponse resp = req.response();
        String query = req.query();
        RequestOptions options = new RequestOptions().setHost(host).setPort(port).setMethod(HttpMethod.GET)
                .setURI(query == null ? mountPath : mountPath + "?" + query);
        MultiMap in = req.headers();
        for (Map.Entry<String, String> h : in) {
            if (FORWARDED.contains(h.getKey().toLowerCase(Locale.ROOT))) {
                options.addHeader(h.getKey(), h.getValue());
            }
        }
        if (req.remoteAddress() != null) {
            String prior = in.get("X-Forwarded-For");
            String listener = req.remoteAddress().hostAddress();
            options.putHeader("X-Forwarded-For", prior == null ? listener : prior + ", " + listener);
        }
        Relay relay = new Relay(req, resp, options);
        resp.closeHandler(v -> relay.listenerClosed());
        client.request(options).compose(r -> r.send()).onComplete(ar -> {
            if (ar.succeeded()) {
                relay.start(ar.result());
            } else {
                relay.failed(host, port, mountPath, ar.cause());
            }
        });
    }

    /** One listener's stream; runs on the listener's event loop (the upstream connection is opened from it). */
    private final class Relay implements Handler<Buffer> {
        private final HttpServerRequest req;
        private final HttpServerResponse resp;
        private final RequestOptions options;
        private HttpClientResponse upstream;
        private IcyFramer framer;
        private String contentType;
        private boolean listenerGone;
        private boolean counted;
        private boolean paused;
        /** When the current hold began (ms, monotonic), or -1 while streaming. */
        private long heldSince = -1;
        /** The upstream channel read on the pacing tick, and the tick's timer. */
        private io.netty.channel.Channel paced;
        private long paceTimer = -1;
        private long bytesSinceTick;
        private int ticks;

        Relay(HttpServerRequest req, HttpServerResponse resp, RequestOptions options) {
            this.req = req;
            this.resp = resp;
            this.options = options;
        }

        void failed(String host, int port, String mount, Throwable cause) {
            if (listenerGone || resp.ended()) {
                return;
            }
            // Refused, timed out, or no pooled connection free in time: worth retrying; anything else is a bad answer.
            boolean unreachable = cause instanceof ConnectException || cause instanceof TimeoutException
                    || cause instanceof ConnectionPoolTooBusyException;
            log.debug("stream {} from {}:{} failed: {}", mount, host, port, cause.toString());
            (unreachable ? unreachableFailures : badAnswers).increment();
            if (unreachable) {
                resp.putHeader("Retry-After", "2");
                text(503, "stream unavailable on this node; retry shortly");
            } else {
                text(502, "stream unavailable on this node");
            }
        }

        void start(HttpClientResponse up) {
            upstream = up;
            if (listenerGone) {
                closeUpstream();
                return;
            }
            int status = up.statusCode();
            if (status != 200) {
                closeUpstream();
                (status == 404 ? notLive : badAnswers).increment();
                if (status >= 500 || status == 403) {
                    resp.putHeader("Retry-After", "2");
                }
                text(status, status == 404 ? "this mount is not live on this node" : "stream unavailable (" + status + ")");
                return;
            }
            resp.setStatusCode(200);
            for (Map.Entry<String, String> h : up.headers()) {
                if (!NOT_RETURNED.contains(h.getKey().toLowerCase(Locale.ROOT))) {
                    resp.headers().add(h.getKey(), h.getValue());
                }
            }
            if (req.method() == HttpMethod.HEAD) {
                closeUpstream();
                resp.end();
                return;
            }
            if (req.version() == HttpVersion.HTTP_1_0) {
                resp.putHeader("Connection", "close");
            } else {
                resp.setChunked(true);
            }
            resp.setWriteQueueMaxSize(WRITE_QUEUE_BYTES);
            counted = true;
            active.incrementAndGet();
            resp.drainHandler(v -> drained());
            contentType = up.getHeader("Content-Type");
            int metaint = metaint(up);
            if (metaint > 0 && holdMillis > 0) {
                framer = new IcyFramer(metaint, this::write);
            }
            attach(up);
        }

        private void attach(HttpClientResponse up) {
            upstream = up;
            // A paused response holds back its end and errors until resumed; a stalled listener never resumes it,
            // so the connection closing (stall limit, or Icecast dropping a client that fell behind) drops it here.
            up.request().connection().closeHandler(v -> {
                if (upstream == up && paused) {
                    finish();
                    resp.reset();
                }
            });
            up.exceptionHandler(e -> {
                log.debug("stream upstream failed: {}", e.toString());
                upstreamEnded(up);
            });
            up.endHandler(v -> upstreamEnded(up));
            up.handler(this);
            pace(up);
        }

        /** Reads the upstream on a {@link #PACE_MILLIS} tick from now on, starting with what has arrived already. */
        private void pace(HttpClientResponse up) {
            stopPacing();
            // Vert.x's public API reads a connection whenever bytes arrive; its Netty channel can be read on demand.
            if (!(up.request().connection() instanceof io.vertx.core.net.impl.ConnectionBase connection)) {
                return;
            }
            io.netty.channel.Channel ch = connection.channel();
            bytesSinceTick = 0;
            ticks = 0;
            // One read per tick, large enough for Icecast's 64 kB burst on connect in one go.
            ch.config().setRecvByteBufAllocator(new io.netty.channel.AdaptiveRecvByteBufAllocator(64, 128 * 1024, 256 * 1024));
            ch.config().setAutoRead(false);
            ch.read();
            paced = ch;
            paceTimer = vertx.setPeriodic(PACE_MILLIS, t -> tick());
        }

        private void tick() {
            io.netty.channel.Channel ch = paced;
            if (ch == null || !ch.isActive()) {
                stopPacing();
                return;
            }
            long got = bytesSinceTick;
            bytesSinceTick = 0;
            if (++ticks > 2 && got > UNPACED_ABOVE_BYTES_PER_TICK) {
                stopPacing();
                ch.config().setAutoRead(!paused); // a paused upstream is resumed by drained(), through Vert.x
                return;
            }
            if (!paused) { // a listener that cannot take more is not read for: the kernel and Icecast hold the rest
                ch.config().setAutoRead(false); // Vert.x turns it back on after its own back-pressure pause
                ch.read();
            }
        }

        private void stopPacing() {
            if (paceTimer >= 0) {
                vertx.cancelTimer(paceTimer);
                paceTimer = -1;
            }
            paced = null;
        }

        private void upstreamEnded(HttpClientResponse up) {
            if (upstream != up || listenerGone || resp.ended() || heldSince >= 0) {
                return;
            }
            stopPacing();
            if (paused) {
                finish();
                resp.reset();
                return;
            }
            if (holdMillis == 0) {
                endListener();
                return;
            }
            heldSince = System.nanoTime() / 1_000_000;
            held.incrementAndGet();
            vertx.setTimer(REDIAL_MILLIS, t -> redial());
        }

        /** Asks the upstream for the mount again; the first answer with audio continues the listener's stream. */
        private void redial() {
            if (listenerGone || resp.ended()) {
                return;
            }
            client.request(options).compose(r -> r.send()).onComplete(ar -> {
                if (listenerGone || resp.ended()) {
                    if (ar.succeeded()) {
                        ar.result().request().connection().close();
                    }
                    return;
                }
                HttpClientResponse up = ar.succeeded() ? ar.result() : null;
                if (up != null && up.statusCode() == 200 && sameContent(up)) {
                    unhold();
                    resumed.increment();
                    if (framer != null) {
                        framer.upstream(metaint(up));
                    }
                    attach(up);
                    return;
                }
                if (up != null) {
                    up.request().connection().close();
                }
                if (System.nanoTime() / 1_000_000 - heldSince >= holdMillis) {
                    unhold();
                    endListener();
                } else {
                    vertx.setTimer(REDIAL_MILLIS, t -> redial());
                }
            });
        }

        private boolean sameContent(HttpClientResponse up) {
            String type = up.getHeader("Content-Type");
            return contentType == null ? type == null : contentType.equalsIgnoreCase(type);
        }

        private void unhold() {
            if (heldSince >= 0) {
                heldSince = -1;
                held.decrementAndGet();
            }
        }

        /** The stream is over: close an HTTP/1 connection so the player reconnects at once. */
        private void endListener() {
            finish();
            if (!resp.ended() && !listenerGone) {
                // (An h2c connection may carry other streams, and ending this one is enough.)
                resp.end().onComplete(x -> {
                    if (req.version() != HttpVersion.HTTP_2) {
                        req.connection().close();
                    }
                });
            }
        }

        /** A chunk from Icecast: hand it on, and stop reading upstream while the listener's socket is full. */
        @Override
        public void handle(Buffer chunk) {
            if (listenerGone) {
                return;
            }
            bytes.increment(chunk.length());
            upstreamChunks.increment();
            bytesSinceTick += chunk.length();
            if (framer != null) {
                framer.accept(chunk);
            } else {
                write(chunk);
            }
            if (!paused && resp.writeQueueFull()) {
                paused = true;
                stalled.incrementAndGet();
                upstream.pause();
            }
        }

        private void write(Buffer data) {
            resp.write(data, null);
        }

        private void drained() {
            if (paused) {
                paused = false;
                stalled.decrementAndGet();
                upstream.resume();
            }
        }

        void listenerClosed() {
            listenerGone = true;
            unhold();
            finish();
            if (upstream != null) {
                closeUpstream();
            }
        }

        private void finish() {
            stopPacing();
            if (paused) {
                paused = false;
                stalled.decrementAndGet();
            }
            if (counted) {
                counted = false;
                active.decrementAndGet();
            }
        }

        private void closeUpstream() {
            upstream.request().connection().close();
        }

        private void text(int status, String message) {
            resp.setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8")
                    .putHeader("Cache-Control", "no-cache").end(message + "\n");
        }
    }

    private static int metaint(HttpClientResponse up) {
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

    public void close() {
        client.close();
    }
}
