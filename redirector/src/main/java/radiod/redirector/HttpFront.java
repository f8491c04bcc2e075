package radiod.redirector;

import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import radiod.cluster.model.Json;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.admin.AdminApi;
import radiod.redirector.balance.Pipeline;
import radiod.redirector.listen.HttpFrontSettings;
import radiod.redirector.listen.HttpsSettings;
import radiod.redirector.listen.LeanRedirects;
import radiod.redirector.listen.ListenerRoutes;
import radiod.redirector.listen.Responses;
import radiod.redirector.listen.StreamServer;
import radiod.redirector.metrics.FrontMetrics;
import radiod.redirector.listen.Playlists;
import radiod.redirector.status.ClusterStatus;
import radiod.redirector.status.IcecastStatusJson;
import radiod.redirector.status.StatusPage;
import radiod.redirector.stream.Passthrough;
import radiod.redirector.tls.ServerTls;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.SSLOptions;

/**
 * The node's public HTTP port: listener redirects and streams, playlists, the status page, {@code /status.json},
 * {@code /metrics} and the token-protected {@code /_admin/} endpoints ({@link AdminApi}). Icecast's own pages and admin are never reachable through it.
 *
 * <p>The port is served by one server instance per event loop ({@link HttpFrontSettings#effectiveEventLoops()}).
 * A plain GET of a known mount — the hot path, thousands per second in a listener rush — is answered inside the
 * connection's Netty pipeline ({@link LeanRedirects}): one map lookup in the current snapshot, one pipeline decision,
 * one 302 written as bytes. Other requests for a mount are answered before the Vert.x Web router is consulted.
 */
public final class HttpFront implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpFront.class);
    private static final CharSequence HTML = HttpHeaders.createOptimized("text/html; charset=utf-8");
    private static final CharSequence JSON = HttpHeaders.createOptimized("application/json");
    private static final CharSequence PROMETHEUS = HttpHeaders.createOptimized("text/plain; version=0.0.4; charset=utf-8");
    private static final CharSequence GET_HEAD = HttpHeaders.createOptimized("GET, HEAD");
    private static final long GAUGE_REFRESH_MS = 5000;

    private final Vertx vertx;
    private final HttpFrontSettings settings;
    private final Supplier<ClusterSnapshot> view;
    /** Where listeners are sent: the view without the peers refusing connections now. */
    private final Supplier<ClusterSnapshot> reachable;
    private final BooleanSupplier selfIsMaster;
    private final PrometheusMeterRegistry registry;
    private final StreamServer streamServer;
    private final FrontMetrics metrics;
    private final ListenerRoutes listeners;
    /** {@code radiod_http_connections{port}}: open connections on the public port (http or https). */
    public static final String CONNECTIONS = "radiod.http.connections";
    private final LeanRedirects leanPlain;
    private final LeanRedirects leanSecure;
    private final AtomicInteger openPlain = new AtomicInteger();
    private final AtomicInteger openSecure = new AtomicInteger();
    private final java.util.List<Meter> gauges = new java.util.ArrayList<>();
    private static final CharSequence JSON_UTF8 = HttpHeaders.createOptimized("application/json; charset=utf-8");
    private final Map<String, Integer> peaks = new ConcurrentHashMap<>();
    private final long started = System.currentTimeMillis();
    private volatile Function<String, Optional<IcecastStatusJson.Stream>> streams = m -> Optional.empty();
    private volatile String version = "";
    private final AdminApi admin;
    private volatile String deployment;
    private ServerTls tls;
    private HttpsSettings https;
    /** The HTTPS port's deployment: null until it is open. Guarded by this. */
    private Future<String> secureDeployment;
    private final java.util.List<HttpServer> secureServers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private Runnable tlsRegistration;
    private volatile boolean stopped;
    private volatile long timer = -1;

    /**
     * @param view         the cluster view, read on every request (a volatile read, never etcd)
     * @param selfIsMaster whether this node acts as master right now
     * @param streams      serves a mount from an Icecast to a listener (the passthrough)
     * @param registry     where the front's meters go and what {@code /metrics} shows
     * @throws IllegalArgumentException if the pipeline names an unknown stage
     */
    public HttpFront(Vertx vertx, HttpFrontSettings settings, Supplier<ClusterSnapshot> view, BooleanSupplier selfIsMaster,
                     StreamServer streams, PrometheusMeterRegistry registry) {
        this(vertx, settings, view, selfIsMaster, streams, registry, null);
    }

    /**
     * @param admin the {@code /_admin/} endpoints; null for none (404)
     */
    public HttpFront(Vertx vertx, HttpFrontSettings settings, Supplier<ClusterSnapshot> view, BooleanSupplier selfIsMaster,
                     StreamServer streams, PrometheusMeterRegistry registry, AdminApi admin) {
        this(vertx, settings, view, view, selfIsMaster, streams, registry, admin);
    }

    /**
     * @param view      the whole cluster: the status pages and the cluster meters show it, as every node does
     * @param reachable where listeners are sent: the view without the peers that refuse connections now
     * @param admin     the {@code /_admin/} endpoints; null for none (404)
     */
    public HttpFront(Vertx vertx, HttpFrontSettings settings, Supplier<ClusterSnapshot> view,
                     Supplier<ClusterSnapshot> reachable, BooleanSupplier selfIsMaster, StreamServer streams,
                     PrometheusMeterRegistry registry, AdminApi admin) {
        this.vertx = vertx;
        this.settings = settings;
        this.view = view;
        this.reachable = reachable;
        this.selfIsMaster = selfIsMaster;
        this.registry = registry;
        Pipeline pipeline = Pipeline.parse(settings.pipeline());
        this.metrics = new FrontMetrics(registry, view, selfIsMaster);
        this.listeners = new ListenerRoutes(settings, reachable, pipeline, streams, metrics);
        this.streamServer = streams;
        this.leanPlain = new LeanRedirects(listeners, reachable, false);
        this.leanSecure = new LeanRedirects(listeners, reachable, true);
        this.admin = admin;
        for (boolean secure : new boolean[] {false, true}) {
            AtomicInteger open = secure ? openSecure : openPlain;
            gauges.add(Gauge.builder(CONNECTIONS, open, AtomicInteger::get).tag("port", secure ? "https" : "http")
                    .description("open connections on the public HTTP(S) port: listeners streaming, players being "
                            + "redirected, status pages").register(registry));
        }
    }

    /** With the node's passthrough proxy as the stream server. */
    public HttpFront(Vertx vertx, HttpFrontSettings settings, Supplier<ClusterSnapshot> view, BooleanSupplier selfIsMaster,
                     Passthrough passthrough, PrometheusMeterRegistry registry) {
        this(vertx, settings, view, selfIsMaster, (StreamServer) passthrough, registry);
    }

    /**
     * Serves the same routes on an HTTPS port too, with the certificate {@code tls} holds: opened by {@link #start()}
     * if it holds one then, else as soon as one is applied. Requests that came over it are redirected (and given
     * playlist and status URLs) in https, to the chosen node's name in the zone. Call before {@link #start()}.
     */
    public HttpFront https(ServerTls tls, HttpsSettings https) {
        this.tls = tls;
        this.https = https;
        listeners.https(https);
        return this;
    }

    /** Binds the port on every event loop (and the HTTPS port, when there is a certificate); fails if it cannot be bound. */
    public Future<Void> start() {
        int instances = settings.effectiveEventLoops();
        Future<Void> plain = vertx.deployVerticle(() -> new Instance(false), new DeploymentOptions().setInstances(instances))
                .onSuccess(id -> {
                    deployment = id;
                    timer = vertx.setPeriodic(GAUGE_REFRESH_MS, t -> metrics.refreshClusterGauges());
                    log.info("http front on {}:{} ({} event loops, pipeline {})", settings.bindHost(), settings.port(),
                            instances, settings.pipeline());
                })
                .mapEmpty();
        if (tls == null) {
            return plain;
        }
        return plain.compose(v -> {
            Future<Void> secure;
            synchronized (this) {
                tlsRegistration = tls.onChange(this::certificateChanged);
                secure = tls.sslOptions().isPresent() ? openHttps() : Future.succeededFuture();
            }
            if (tls.sslOptions().isEmpty()) {
                log.info("https front on {}:{}: opens when a certificate comes", settings.bindHost(), https.port());
            }
            return secure;
        });
    }

    /** The HTTPS port, on every event loop. Guarded by this. */
    private Future<Void> openHttps() {
        int instances = settings.effectiveEventLoops();
        secureDeployment = vertx.deployVerticle(() -> new Instance(true), new DeploymentOptions().setInstances(instances))
                .onSuccess(id -> log.info("https front on {}:{} ({} event loops)", settings.bindHost(), https.port(), instances));
        return secureDeployment.mapEmpty();
    }

    /** A new certificate: the HTTPS servers take it for new handshakes; the first one opens the port. */
    private synchronized void certificateChanged(SSLOptions options) {
        if (stopped) {
            return;
        }
        if (secureDeployment == null) {
            openHttps().onFailure(e -> log.error("https front on {}:{} cannot open: {}", settings.bindHost(), https.port(),
                    e.getMessage()));
            return;
        }
        for (HttpServer s : secureServers) {
            s.updateSSLOptions(options).onFailure(e -> log.warn("https front: the new certificate was not taken: {}",
                    e.toString()));
        }
    }

    /** One server on one event loop; Vert.x spreads the port's connections over the instances. */
    private final class Instance extends AbstractVerticle {
        private final boolean secure;

        Instance(boolean secure) {
            this.secure = secure;
        }

        @Override
        public void start(Promise<Void> started) {
            Router router = router();
            // A fixed send buffer (the kernel doubles it to 64 kB, 4 s of a 128 kbit/s stream) keeps the kernel from
            // autotuning a stalled listener's buffer up to megabytes: with the 64 kB write queue of the passthrough,
            // a listener costs at most ~130 kB wherever it stalls (ListenerIT measures it).
            HttpServerOptions options = new HttpServerOptions()
                    .setSendBufferSize(32 * 1024)
                    .setTcpNoDelay(true)
                    .setHttp2ClearTextEnabled(false)
                    .setIdleTimeout(settings.idleTimeoutSeconds())
                    .setMaxInitialLineLength(4096)
                    .setMaxHeaderSize(8192)
                    .setCompressionSupported(false);
            HttpServer server;
            if (secure) {
                // Made and registered under the front's lock: a certificate applied meanwhile reaches this server too.
                synchronized (HttpFront.this) {
                    server = vertx.createHttpServer(tls.secure(options));
                    secureServers.add(server);
                }
                server.exceptionHandler(e -> tls.handshakeFailed("https", e));
            } else {
                server = vertx.createHttpServer(options);
            }
            LeanRedirects lean = secure ? leanSecure : leanPlain;
            AtomicInteger open = secure ? openSecure : openPlain;
            server.connectionHandler(conn -> {
                open.incrementAndGet();
                // On the channel, not conn.closeHandler(): that is one handler, which the passthrough sets for itself.
                if (conn instanceof io.vertx.core.net.impl.ConnectionBase base) {
                    base.channel().closeFuture().addListener(f -> open.decrementAndGet());
                } else {
                    conn.closeHandler(v -> open.decrementAndGet());
                }
                lean.install(conn);
            });
            streamServer.servesOn(context);
            server.requestHandler(req -> handle(req, router))
                    .listen(secure ? https.port() : settings.port(), settings.bindHost())
                    .<Void>mapEmpty()
                    .onComplete(started);
        }
    }

    private void handle(HttpServerRequest req, Router router) {
        HttpMethod method = req.method();
        if (method == HttpMethod.OPTIONS && listeners.preflight(req, req.path())) {
            return;
        }
        if (method != HttpMethod.GET && method != HttpMethod.HEAD) {
            req.response().putHeader(Responses.ALLOW, GET_HEAD);
            Responses.text(req, 405, "only GET and HEAD are served here");
            return;
        }
        String uri = req.uri();
        if (uri.isEmpty() || uri.charAt(0) != '/' && !absoluteHttpUrl(uri)) {
            Responses.text(req, 400, "the request target must be a path or an http URL");
            return;
        }
        String path = req.path();
        if (path != null) {
            ClusterSnapshot snapshot = reachable.get();
            Mount mount = snapshot.mounts().get(path);
            if (mount != null) {
                listeners.listen(req, snapshot, mount);
                return;
            }
        }
        router.handle(req);
    }

    /** An absolute-form request target, as a proxy sends: an http(s) URL with a host. */
    private static boolean absoluteHttpUrl(String target) {
        try {
            java.net.URI u = new java.net.URI(target);
            return u.getHost() != null && ("http".equalsIgnoreCase(u.getScheme()) || "https".equalsIgnoreCase(u.getScheme()));
        } catch (java.net.URISyntaxException e) {
            return false;
        }
    }

    private Router router() {
        Router router = Router.router(vertx);
        router.route("/").method(HttpMethod.GET).method(HttpMethod.HEAD).handler(this::statusPage);
        router.route("/status.json").method(HttpMethod.GET).method(HttpMethod.HEAD).handler(this::statusJson);
        router.route("/status-json.xsl").method(HttpMethod.GET).method(HttpMethod.HEAD).handler(this::icecastStatusJson);
        router.route("/metrics").method(HttpMethod.GET).method(HttpMethod.HEAD).handler(this::metrics);
        if (admin != null) {
            router.route(AdminApi.LISTENERS).method(HttpMethod.GET).handler(ctx -> admin.listeners(ctx.request()));
        }
        router.route().handler(ctx -> listeners.handle(ctx.request()));
        // A request the router refuses before any route (an HTTP/1.1 request without a valid Host): a plain 400, not
        // the router's ERROR line with a stack trace, which any client could have written for every request.
        router.errorHandler(400, ctx -> {
            if (!ctx.response().ended()) {
                Throwable why = ctx.failure();
                Responses.text(ctx.request(), 400, "bad request" + (why == null || why.getMessage() == null ? ""
                        : ": " + why.getMessage()));
            }
        });
        router.errorHandler(500, ctx -> {
            log.warn("http front: {} {} failed: {}", ctx.request().method(), ctx.request().path(), String.valueOf(ctx.failure()));
            if (!ctx.response().ended()) {
                Responses.text(ctx.request(), 500, "internal error");
            }
        });
        return router;
    }

    private void statusPage(RoutingContext ctx) {
        ctx.response().putHeader(Responses.CONTENT_TYPE, HTML).putHeader(Responses.CACHE_CONTROL, Responses.NO_CACHE)
                .putHeader("X-Content-Type-Options", "nosniff").end(StatusPage.render(status(ctx)));
    }

    private void statusJson(RoutingContext ctx) {
        ctx.response().putHeader(Responses.CONTENT_TYPE, JSON).putHeader(Responses.CACHE_CONTROL, Responses.NO_CACHE)
                .putHeader(Responses.ALLOW_ORIGIN, Responses.ANY_ORIGIN).end(Json.encodeString(status(ctx)));
    }

    /** The status with each mount's URL as the asker reached the cluster (https over HTTPS). */
    private ClusterStatus status(RoutingContext ctx) {
        ClusterSnapshot snapshot = view.get();
        return status(snapshot, Playlists.baseUrl(settings, https, ctx.request(), snapshot));
    }

    /** Icecast 2.4's {@code /status-json.xsl}, with the cluster's counts, for widgets written for Icecast. */
    private void icecastStatusJson(RoutingContext ctx) {
        ClusterSnapshot snapshot = view.get();
        if (!snapshot.isRead()) {
            // Icecast's shape cannot say "not known yet": an empty icestats would show every mount off air. A widget
            // keeps what it showed, or says it could not ask, as it does when Icecast itself is restarting.
            ctx.response().putHeader(Responses.RETRY_AFTER, Integer.toString(settings.retryAfterSeconds()));
            Responses.text(ctx.request(), 503, "this node has not read the cluster's state from etcd yet; retry in "
                    + settings.retryAfterSeconds() + " s");
            return;
        }
        ClusterStatus status = status(snapshot);
        String body = IcecastStatusJson.render(status, snapshot, streams,
                Playlists.baseUrl(settings, https, ctx.request(), snapshot), settings.nodeName(), version, started);
        ctx.response().putHeader(Responses.CONTENT_TYPE, JSON_UTF8).putHeader(Responses.CACHE_CONTROL, Responses.NO_CACHE)
                .putHeader(Responses.ALLOW_ORIGIN, Responses.ANY_ORIGIN).end(body);
    }

    /** How the listener routes learn that this node's Icecast is out of service (see {@link ListenerRoutes}). */
    public void icecastOutOfService(BooleanSupplier outOfService) {
        listeners.icecastOutOfService(outOfService);
    }

    /** How the listener routes learn how long a mount has been lost from this node's Icecast ({@link ListenerRoutes}). */
    public void mountLostMillis(ToLongFunction<String> lostMillis) {
        listeners.mountLostMillis(lostMillis);
    }

    /** Where {@code /status-json.xsl} learns each mount's stream (its encoder's headers, its start). */
    public void streams(Function<String, Optional<IcecastStatusJson.Stream>> streams, String version) {
        this.streams = streams;
        this.version = version;
    }

    private void metrics(RoutingContext ctx) {
        metrics.refreshClusterGauges();
        ctx.response().putHeader(Responses.CONTENT_TYPE, PROMETHEUS).putHeader(Responses.CACHE_CONTROL, Responses.NO_CACHE)
                .end(registry.scrape());
    }

    private ClusterStatus status(ClusterSnapshot snapshot) {
        return status(snapshot, null);
    }

    private ClusterStatus status(ClusterSnapshot snapshot, String baseUrl) {
        ClusterStatus s = ClusterStatus.of(snapshot, settings.nodeName(), selfIsMaster.getAsBoolean(), peaks, baseUrl);
        for (ClusterStatus.MountRow m : s.mounts()) {
            peaks.merge(m.path(), m.total(), Math::max);
        }
        return s;
    }

    /** Redirects answered by the lean path ({@link LeanRedirects}), both ports. */
    public long leanRedirects() {
        return leanPlain.answered() + leanSecure.answered();
    }

    /** The nodes whose lean answers are kept, either port. */
    public Set<String> leanNodesKept() {
        Set<String> kept = new HashSet<>(leanPlain.nodesKept());
        kept.addAll(leanSecure.nodesKept());
        return kept;
    }

    /** Of those, the ones answered from the request's bytes, ahead of Vert.x's decoder, both ports. */
    public long rawRedirects() {
        return leanPlain.answeredFromBytes() + leanSecure.answeredFromBytes();
    }

    /** Closes the port on every event loop and removes the front's meters. */
    public Future<Void> stop() {
        Future<String> secure;
        synchronized (this) {
            stopped = true;
            if (tlsRegistration != null) {
                tlsRegistration.run();
            }
            secure = secureDeployment;
            secureDeployment = null;
        }
        long t = timer;
        if (t >= 0) {
            vertx.cancelTimer(t);
        }
        metrics.close();
        gauges.forEach(registry::remove);
        String id = deployment;
        deployment = null;
        Future<Void> plain = id == null ? Future.succeededFuture() : vertx.undeploy(id);
        if (secure == null) {
            return plain;
        }
        Future<Void> tlsPort = secure.transform(r -> r.succeeded() ? vertx.undeploy(r.result()) : Future.<Void>succeededFuture());
        return Future.all(plain, tlsPort).mapEmpty();
    }

    /**
     * As {@link #stop()}; off the event loops it also waits (up to 5 s) for the port to be closed, so that closing
     * Vert.x right after does not race the undeployment.
     */
    @Override
    public void close() {
        Future<Void> stopped = stop();
        if (!io.vertx.core.Context.isOnVertxThread()) {
            try {
                stopped.toCompletionStage().toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                log.warn("http front on {}:{}: closing: {}", settings.bindHost(), settings.port(), String.valueOf(e.getCause()));
            }
        }
    }
}
