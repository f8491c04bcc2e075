package radiod.redirector.stream;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import radiod.redirector.access.ListenerSessions;
import radiod.redirector.listen.StreamServer;

/**
 * Serves this node's listeners from its own Icecast, and proxies listeners of other nodes whose players do not
 * follow redirects.
 *
 * <p>A mount is read from the local Icecast once per event loop ({@link MountReader}), whatever its number of
 * listeners there: started with the first (or, {@link #warm}, as the mount goes live on the local Icecast), closed a
 * few seconds after the last leaves. Each batch of audio is
 * written to all of them at once; a new listener first gets a burst of the mount's recent past from a unit
 * boundary (for Ogg, after the stream's header pages); a listener that asked for ICY metadata gets it every
 * {@value IcyFramer#METAINT} bytes of its own stream; a listener that cannot keep up is dropped, never buffered
 * for. When the local Icecast ends the stream (restarting, say), the listeners are held silent while one re-dial
 * per reader asks for it again, up to the hold limit.
 *
 * <p>Its counts — {@link #listeners()}, {@link #listenersByMount()}, {@link #bytesSent()} — are of listener
 * sessions served here only (not HEAD requests, not listeners proxied to other nodes, not its own reads of
 * Icecast), and may be read from any thread. Each of those sessions is kept in {@link #sessions()} (who listens now,
 * and the access log).
 */
public final class Passthrough implements StreamServer {
    private static final Logger log = LoggerFactory.getLogger(Passthrough.class);
    static final String BYTES_DESCRIPTION = "stream bytes proxied through this node, by direction";
    static final String USER_AGENT = "radiod-passthrough";
    /** An upstream that sends nothing for this long is taken as ended (Icecast stuck, or a dead connection). */
    static final int SILENCE_LIMIT_MILLIS = 20_000;
    /** Request headers a listener's player sends that a proxied upstream should see too. */
    static final Set<String> FORWARDED = Set.of("icy-metadata", "user-agent", "range", "accept", "referer",
            "accept-language");
    /**
     * Connections to the local Icecast at most: a read per mount and event loop (500 mounts on two loops), one-off
     * heads. A request that finds them all taken waits for one at most {@link #LOCAL_WAIT_MILLIS} (connecting
     * included), and its listeners are then answered 503 with a {@code Retry-After}, not held in silence for good.
     */
    static final int LOCAL_POOL = 1000;
    static final long LOCAL_WAIT_MILLIS = 5_000;
    /**
     * Upstream response headers that are about that connection, not the stream, Icecast's Server, and its Date (a
     * listener's answer gets its own).
     */
    static final Set<String> NOT_RETURNED = Set.of("connection", "keep-alive", "transfer-encoding",
            "content-length", "proxy-authenticate", "proxy-connection", "upgrade", "te", "trailer", "server", "date");

    private final Vertx vertx;
    private final String icecastHost;
    private final int icecastPort;
    private final PassthroughSettings settings;
    private final ListenerSessions sessions;
    private final HttpClient local;
    private final long localWaitMillis;
    private final HttpClient remote;
    /**
     * Per event loop, its readers by mount; each map is used on its loop's thread only. (Keyed by thread: Vert.x
     * gives each request a context of its own, and only the thread says which event loop it is on.)
     */
    private final Map<Thread, Map<String, MountReader>> loops = new ConcurrentHashMap<>();
    /**
     * No warm read is opened while this many reads are open: a node with many mounts on many loops (restarting its
     * Icecast, say) keeps the local client's connections (1,000) for its listeners.
     */
    static final int WARM_READS_LIMIT = 500;
    /** The event loops the front serves on, by thread: where {@link #warm} opens reads. */
    private final Map<Thread, Context> frontLoops = new ConcurrentHashMap<>();
    /** Every open reader, for {@link #close()} from any thread. */
    private final Set<MountReader> open = ConcurrentHashMap.newKeySet();
    private final Map<String, AtomicInteger> byMount = new ConcurrentHashMap<>();
    private final AtomicInteger listeners = new AtomicInteger();
    private final AtomicInteger proxied = new AtomicInteger();
    private final AtomicInteger held = new AtomicInteger();
    private final AtomicInteger stalled = new AtomicInteger();
    private final LongAdder bytesSent = new LongAdder();
    private final LongAdder bytesProxied = new LongAdder();
    private final Counter dropped;
    private final Counter resumed;
    private final Counter unreachable;
    private final Counter proxyFallbacks;
    private final Counter notLive;
    private final Counter badAnswers;
    private volatile boolean closed;
    private volatile Catalog catalog = Catalog.NONE;
    /** The ICY block of each mount's current title, made once per title and shared by every listener. */
    private final Map<String, TitleBlock> titleBlocks = new java.util.concurrent.ConcurrentHashMap<>();
    private static final java.util.concurrent.atomic.AtomicLong TITLE_VERSIONS = new java.util.concurrent.atomic.AtomicLong(1L << 62);

    /** A title's ICY block; versions never repeat, and never meet a stream's own block versions. */
    record TitleBlock(String title, ByteBuf block, long version) {
    }

    /** With {@link PassthroughSettings#DEFAULTS}. */
    public Passthrough(Vertx vertx, MeterRegistry registry, String icecastHost, int icecastPort) {
        this(vertx, registry, icecastHost, icecastPort, PassthroughSettings.DEFAULTS);
    }

    /** Its listener sessions listed (with their TCP peers' addresses), not logged. */
    public Passthrough(Vertx vertx, MeterRegistry registry, String icecastHost, int icecastPort,
                       PassthroughSettings settings) {
        this(vertx, registry, icecastHost, icecastPort, settings, ListenerSessions.unlogged("-"));
    }

    /**
     * @param icecastHost the local Icecast, which this node's listeners are served from
     * @param icecastPort its port
     * @param sessions    where this node's listener sessions are kept and logged
     */
    public Passthrough(Vertx vertx, MeterRegistry registry, String icecastHost, int icecastPort,
                       PassthroughSettings settings, ListenerSessions sessions) {
        this(vertx, registry, icecastHost, icecastPort, settings, sessions, LOCAL_POOL, LOCAL_WAIT_MILLIS);
    }

    /**
     * @param localPool      connections to the local Icecast at most (its reads, one-off heads)
     * @param localWaitMillis how long a request to it waits for one of them at most
     */
    Passthrough(Vertx vertx, MeterRegistry registry, String icecastHost, int icecastPort,
                PassthroughSettings settings, ListenerSessions sessions, int localPool, long localWaitMillis) {
        if (icecastHost == null || icecastHost.isBlank()) {
            throw new IllegalArgumentException("the local Icecast's address is missing");
        }
        if (icecastPort < 1 || icecastPort > 65535) {
            throw new IllegalArgumentException("the local Icecast's port must be between 1 and 65535, got " + icecastPort);
        }
        this.vertx = vertx;
        this.icecastHost = icecastHost;
        this.icecastPort = icecastPort;
        this.settings = settings;
        this.sessions = sessions;
        this.localWaitMillis = localWaitMillis;
        this.local = vertx.createHttpClient(clientOptions(5_000), new PoolOptions().setHttp1MaxSize(localPool)
                .setMaxWaitQueueSize(localPool));
        // A proxied listener has its own upstream connection to the chosen node (one per listener, never reused).
        this.remote = vertx.createHttpClient(clientOptions(10_000), new PoolOptions().setHttp1MaxSize(20_000)
                .setMaxWaitQueueSize(20_000));
        Gauge.builder("radiod.passthrough.streams", this, p -> p.listeners.get() + p.proxied.get())
                .description("listener streams going out through the passthrough: this node's listeners and those "
                        + "proxied from other nodes").register(registry);
        Gauge.builder("radiod.passthrough.proxied", proxied, AtomicInteger::get)
                .description("streams proxied from other nodes for players that do not follow redirects").register(registry);
        Gauge.builder("radiod.passthrough.readers", open, Set::size)
                .description("reads of a mount from the local Icecast (one per mount and event loop with listeners, and for a "
                        + "few seconds after a mount goes live on it)")
                .register(registry);
        Gauge.builder("radiod.passthrough.held", held, AtomicInteger::get)
                .description("listener streams held open, silent, while their mount is asked for again").register(registry);
        Gauge.builder("radiod.passthrough.stalled", stalled, AtomicInteger::get)
                .description("listeners whose socket had not taken the previous batch when the last one came")
                .register(registry);
        this.dropped = Counter.builder("radiod.passthrough.dropped")
                .description("listeners dropped because their queue was full when a batch came").register(registry);
        this.resumed = Counter.builder("radiod.passthrough.resumed")
                .description("held listener streams that got audio again without reconnecting").register(registry);
        FunctionCounter.builder("radiod.proxied", this, p -> p.bytesSent.sum() + p.bytesProxied.sum())
                .tag("direction", "listener").baseUnit("bytes").description(BYTES_DESCRIPTION).register(registry);
        this.unreachable = failures(registry, "unreachable");
        this.notLive = failures(registry, "not_live");
        this.badAnswers = failures(registry, "bad_answer");
        this.proxyFallbacks = Counter.builder("radiod.passthrough.proxy.fallbacks")
                .description("proxied listeners served from this node because the chosen node gave no stream")
                .register(registry);
    }

    /** Where titles and bitrates come from (the cluster's view); until set, from the streams alone. */
    public void catalog(Catalog c) {
        this.catalog = c;
    }

    /** The ICY interval listeners of the mount get: about half a second of its audio. */
    int metaint(String mount) {
        return IcyFramer.metaintFor(catalog.bitsPerSecond(mount));
    }

    /** The block of the mount's current title from the cluster, or null when it has none. */
    TitleBlock titleBlock(String mount) {
        java.util.Optional<String> title = catalog.title(mount);
        if (title.isEmpty()) {
            return null;
        }
        TitleBlock b = titleBlocks.get(mount);
        if (b != null && b.title().equals(title.get())) {
            return b;
        }
        return titleBlocks.compute(mount, (m, old) -> old != null && old.title().equals(title.get()) ? old
                : new TitleBlock(title.get(), Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(
                        IcyFramer.titleBlock(title.get()))), TITLE_VERSIONS.incrementAndGet()));
    }

    private static HttpClientOptions clientOptions(int connectTimeoutMillis) {
        return new HttpClientOptions()
                .setKeepAlive(false)
                .setConnectTimeout(connectTimeoutMillis)
                .setIdleTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS)
                .setReadIdleTimeout(SILENCE_LIMIT_MILLIS)
                .setTcpNoDelay(true)
                .setMaxInitialLineLength(1024)
                .setMaxHeaderSize(16 * 1024);
    }

    private static Counter failures(MeterRegistry registry, String reason) {
        return Counter.builder("radiod.passthrough.failures").tag("reason", reason)
                .description("listener streams that could not be started: Icecast unreachable, mount not live, other answer")
                .register(registry);
    }

    /**
     * Serves {@code req} (GET or HEAD) the mount from the local Icecast, as a listener of this node. Call it on the
     * request's event loop, before the request has been read further.
     */
    @Override
    public void serve(HttpServerRequest req, String mountPath) {
        Context context = Vertx.currentContext();
        if (context == null || !Context.isOnEventLoopThread()) {
            throw new IllegalStateException("Passthrough.serve must be called on the request's event loop");
        }
        Map<String, MountReader> here = loops.computeIfAbsent(Thread.currentThread(), t -> new HashMap<>());
        MountReader reader = here.get(mountPath);
        if (req.method() == HttpMethod.HEAD) {
            if (reader == null || !reader.answerHead(req)) {
                OneOffHead.answer(this, req, mountPath);
            }
            return;
        }
        ListenerStream listener = new ListenerStream(req, sessions.open(req, mountPath));
        if (closed) {
            req.response().putHeader("Retry-After", "2");
            listener.text(503, "stream unavailable on this node; retry shortly");
            return;
        }
        if (reader == null) {
            reader = new MountReader(this, context, mountPath);
            here.put(mountPath, reader);
            open.add(reader);
            reader.connect();
        }
        reader.add(listener);
    }

    @Override
    public void servesOn(Context loop) {
        frontLoops.put(Thread.currentThread(), loop);
    }

    /**
     * A mount is about to go live on the local Icecast (its feed was just taken, its first audio not yet written):
     * every event loop of the front that does not read it yet starts a read now, with no listener, asking again
     * while Icecast does not list it yet. Icecast 2.4 sends a new listener audio only after three more reads of its
     * source (for MP3 1,400 bytes each: a quarter of a second of a 128 kbit/s stream, a second at 32); a read that
     * is there before the stream's first bytes is served by them, and the mount's first listeners here get its
     * burst at once. A warm read asks again while Icecast answers 404 (for up to 2 s; a listener who comes meanwhile
     * waits with it), and one that no listener joins closes when its linger ends, like any other. None is opened
     * while {@link #WARM_READS_LIMIT} reads are open.
     *
     * @return completed, on no particular thread, once every loop's read is asked for (its request written and not
     *         refused within a few ms), answered, or not made
     */
    public Future<Void> warm(String mountPath) {
        if (closed) {
            return Future.succeededFuture();
        }
        List<Future<Void>> written = new ArrayList<>();
        frontLoops.values().forEach(loop -> {
            Promise<Void> asked = Promise.promise();
            written.add(asked.future());
            loop.runOnContext(v -> {
                Map<String, MountReader> here = loops.computeIfAbsent(Thread.currentThread(), t -> new HashMap<>());
                MountReader reader = here.get(mountPath);
                if (closed || (reader == null && open.size() >= WARM_READS_LIMIT)) {
                    if (!closed) {
                        log.debug("mount {}: not warmed, {} reads open", mountPath, open.size());
                    }
                    asked.complete();
                    return;
                }
                if (reader != null) { // a listener's still asking, or a held one: asks (again) now
                    reader.warm().onComplete(asked);
                    return;
                }
                reader = new MountReader(this, loop, mountPath);
                here.put(mountPath, reader);
                open.add(reader);
                reader.warm().onComplete(asked);
                reader.connect();
            });
        });
        return Future.join(written).mapEmpty();
    }

    /**
     * Proxies {@code req} (GET or HEAD) to {@code http://host:httpPort/_stream<mountPath>} (query kept), the chosen
     * node's own passthrough, which counts the listener there; one upstream connection for this listener, read no
     * faster than the listener takes it. Not a listener of this node. Call it on the request's event loop.
     */
    @Override
    public void proxy(HttpServerRequest req, String mountPath, String host, int httpPort) {
        RemoteStream.start(this, req, mountPath, host, httpPort);
    }

    /**
     * The chosen node gave a proxied listener no stream: serves it from this node instead (on the request's event
     * loop, where the proxy's answer comes).
     *
     * @param why the failure's cause, or the status it answered
     */
    void proxyFailed(HttpServerRequest req, String mountPath, String node, String why) {
        proxyFallbacks.increment();
        log.info("proxied listener of {}: {} gave no stream ({}); serving it from this node", mountPath, node, why);
        serve(req, mountPath);
    }

    /** This node's listener sessions: who listens now, and the access log. */
    public ListenerSessions sessions() {
        return sessions;
    }

    /** This node's listeners now, all mounts. */
    public int listeners() {
        return listeners.get();
    }

    /** This node's listeners now, per mount, for mounts with at least one. */
    public Map<String, Integer> listenersByMount() {
        Map<String, Integer> out = new HashMap<>();
        byMount.forEach((mount, n) -> {
            int v = n.get();
            if (v > 0) {
                out.put(mount, v);
            }
        });
        return Map.copyOf(out);
    }

    /** Bytes sent (queued) to this node's listeners so far, metadata included; for the node's bandwidth. */
    public long bytesSent() {
        return bytesSent.sum();
    }

    /** Streams proxied now from other nodes for players that do not follow redirects. */
    public int proxied() {
        return proxied.get();
    }

    /** Listener streams held open, silent, while their mount is asked for again. */
    public int held() {
        return held.get();
    }

    /** Listeners whose socket had not taken the previous batch when the last one came. */
    public int stalled() {
        return stalled.get();
    }

    /** Reads of a mount from the local Icecast now (one per mount and event loop with listeners, or warmed). */
    public int readers() {
        return open.size();
    }

    /** Listeners dropped so far because they fell behind. */
    public long dropped() {
        return (long) dropped.count();
    }

    /** Stops serving: new listeners get 503, and the readers' upstreams close, which ends their listeners. */
    public void close() {
        closed = true;
        for (MountReader reader : open) {
            reader.context().runOnContext(v -> reader.close());
        }
        local.close();
        remote.close();
    }

    // What the readers and streams share, on their event loops.

    Vertx vertx() {
        return vertx;
    }

    PassthroughSettings settings() {
        return settings;
    }

    boolean closed() {
        return closed;
    }

    Future<HttpClientRequest> upstreamRequest(String mountPath) {
        return local.request(new RequestOptions().setHost(icecastHost).setPort(icecastPort).setMethod(HttpMethod.GET)
                .setURI(mountPath).putHeader("Icy-MetaData", "1").putHeader("User-Agent", USER_AGENT)
                .setConnectTimeout(localWaitMillis));
    }

    Future<HttpClientRequest> localRequest(RequestOptions options) {
        return local.request(options.setHost(icecastHost).setPort(icecastPort).setConnectTimeout(localWaitMillis));
    }

    Future<HttpClientRequest> remoteRequest(RequestOptions options) {
        return remote.request(options);
    }

    /** Icecast's response headers as a listener gets them: no hop-by-hop ones, no Server, no Date, no icy-metaint. */
    List<Map.Entry<String, String>> listenerHeaders(MultiMap upstream) {
        List<Map.Entry<String, String>> out = new ArrayList<>();
        for (Map.Entry<String, String> h : upstream) {
            String name = h.getKey().toLowerCase(Locale.ROOT);
            if (!NOT_RETURNED.contains(name) && !name.equals("icy-metaint")) {
                out.add(Map.entry(h.getKey(), h.getValue()));
            }
        }
        return List.copyOf(out);
    }

    void listenerJoined(String mount) {
        byMount.computeIfAbsent(mount, m -> new AtomicInteger()).incrementAndGet();
        listeners.incrementAndGet();
    }

    void listenerLeft(String mount) {
        byMount.get(mount).decrementAndGet();
        listeners.decrementAndGet();
    }

    void heldChanged(int delta) {
        held.addAndGet(delta);
    }

    void stalledChanged(int delta) {
        stalled.addAndGet(delta);
    }

    void proxiedChanged(int delta) {
        proxied.addAndGet(delta);
    }

    void sent(long bytes) {
        if (bytes > 0) {
            bytesSent.add(bytes);
        }
    }

    void proxiedBytes(long bytes) {
        bytesProxied.add(bytes);
    }

    void droppedOne() {
        dropped.increment();
    }

    void resumed(int streams) {
        resumed.increment(streams);
    }

    /** On the reader's event loop. */
    void readerClosed(MountReader reader) {
        open.remove(reader);
        Thread loop = Thread.currentThread();
        Map<String, MountReader> here = loops.get(loop);
        if (here != null) {
            here.remove(reader.mount(), reader);
            if (here.isEmpty()) {
                loops.remove(loop, here);
            }
        }
    }

    /**
     * Answers a listener whose stream could not be started: 503 with Retry-After when the upstream is unreachable
     * (or busy), 404 when the mount is not live there, the upstream's status otherwise.
     *
     * @param status the upstream's answer, or -1 when there was none
     */
    void refuse(ListenerStream l, String mount, int status, Throwable cause) {
        if (status < 0) {
            boolean retry = MountReader.unreachable(cause);
            log.debug("stream {}: no answer from upstream: {}", mount, String.valueOf(cause));
            (retry ? unreachable : badAnswers).increment();
            if (retry) {
                l.resp.putHeader("Retry-After", "2");
                l.text(503, "stream unavailable on this node; retry shortly");
            } else {
                l.text(502, "stream unavailable on this node");
            }
            return;
        }
        (status == 404 ? notLive : badAnswers).increment();
        if (status >= 500 || status == 403) {
            l.resp.putHeader("Retry-After", "2");
        }
        l.text(status, status == 404 ? "this mount is not live on this node" : "stream unavailable (" + status + ")");
    }
}
