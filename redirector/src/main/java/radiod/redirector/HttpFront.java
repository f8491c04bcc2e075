package radiod.redirector;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import radiod.cluster.model.Json;
import radiod.cluster.model.MountPath;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.balance.Pipeline;
import radiod.redirector.listen.HttpFrontSettings;
import radiod.redirector.listen.ListenerRoutes;
import radiod.redirector.status.ClusterStatus;
import radiod.redirector.status.StatusPage;
import radiod.redirector.stream.Passthrough;

/**
 * The node's public HTTP port: listener redirects and streams, playlists, the status page, {@code /status.json}
 * and {@code /metrics}. Icecast's own pages and admin are never reachable through it.
 */
public final class HttpFront implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpFront.class);

    private final Vertx vertx;
    private final HttpFrontSettings settings;
    private final Supplier<ClusterSnapshot> view;
    private final BooleanSupplier selfIsMaster;
    private final PrometheusMeterRegistry registry;
    private final ListenerRoutes listeners;
    private final MultiGauge listenersByMount;
    private HttpServer server;
    private long timer = -1;

    /** @throws IllegalArgumentException if the pipeline names an unknown stage */
    public HttpFront(Vertx vertx, HttpFrontSettings settings, Supplier<ClusterSnapshot> view, BooleanSupplier selfIsMaster,
                     Passthrough passthrough, PrometheusMeterRegistry registry) {
        this.vertx = vertx;
        this.settings = settings;
        this.view = view;
        this.selfIsMaster = selfIsMaster;
        this.registry = registry;
        this.listeners = new ListenerRoutes(settings, view, Pipeline.parse(settings.pipeline()), passthrough, registry);
        Gauge.builder("radiod.master", () -> selfIsMaster.getAsBoolean() ? 1 : 0)
                .description("1 while this node acts as master").register(registry);
        Gauge.builder("radiod.icecast.up", () -> view.get().node(settings.nodeName()).map(n -> n.icecastUp() ? 1 : 0).orElse(0))
                .description("1 while this node's Icecast answers").register(registry);
        Gauge.builder("radiod.cluster.nodes", () -> view.get().nodes().size()).description("live nodes in the cluster view")
                .register(registry);
        Gauge.builder("radiod.cluster.master.present", () -> view.get().master().isPresent() ? 1 : 0)
                .description("1 while the cluster has a master").register(registry);
        this.listenersByMount = MultiGauge.builder("radiod.listeners").description("cluster-wide listeners per mount")
                .register(registry);
    }

    public Future<Void> start() {
        Router router = Router.router(vertx);
        router.get("/").handler(this::statusPage);
        router.get("/status.json").handler(this::statusJson);
        router.get("/metrics").handler(ctx -> ctx.response()
                .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(registry.scrape()));
        router.route().handler(this::listener);
        // A fixed send buffer (the kernel doubles it to 64 kB, 4 s of a 128 kbit/s stream) stops the kernel from
        // autotuning a stalled listener's buffer up to megabytes: with the 64 kB write queue, a listener costs at
        // most ~130 kB wherever it stalls.
        server = vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true).setIdleTimeout(60)
                .setSendBufferSize(32 * 1024)
                .setMaxInitialLineLength(2048).setMaxHeaderSize(8192).setCompressionSupported(false));
        server.requestHandler(router);
        timer = vertx.setPeriodic(1000, t -> updateListenerGauges());
        return server.listen(settings.port(), settings.bindHost()).<Void>mapEmpty()
                .onSuccess(v -> log.info("http front on {}:{} (pipeline {})", settings.bindHost(), settings.port(), settings.pipeline()));
    }

    private void listener(RoutingContext ctx) {
        HttpServerRequest req = ctx.request();
        if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
            ctx.response().putHeader("Allow", "GET, HEAD");
            text(ctx, 405, "only GET and HEAD are served here");
            return;
        }
        String path = req.path();
        if (path == null || path.contains("..") || path.contains("//")) {
            text(ctx, 400, "bad path");
            return;
        }
        String lower = path.toLowerCase(java.util.Locale.ROOT);
        if (lower.startsWith("/admin") || lower.endsWith(".xsl") || lower.startsWith("/status-json")) {
            text(ctx, 404, "not found");
            return;
        }
        if (path.startsWith("/_stream/")) {
            listeners.stream(req, path.substring("/_stream".length()));
            return;
        }
        if (lower.endsWith(".m3u") || lower.endsWith(".pls")) {
            listeners.playlist(req, path.substring(0, path.length() - 4), lower.endsWith(".m3u"));
            return;
        }
        if (!MountPath.isValid(path)) {
            text(ctx, 404, "not found");
            return;
        }
        listeners.listen(req, path);
    }

    private void statusPage(RoutingContext ctx) {
        ctx.response().putHeader("Content-Type", "text/html; charset=utf-8").putHeader("Cache-Control", "no-cache")
                .end(StatusPage.render(status()));
    }

    private void statusJson(RoutingContext ctx) {
        ctx.response().putHeader("Content-Type", "application/json").putHeader("Cache-Control", "no-cache")
                .end(Json.encodeString(status()));
    }

    private ClusterStatus status() {
        return ClusterStatus.of(view.get(), settings.nodeName(), selfIsMaster.getAsBoolean());
    }

    private void updateListenerGauges() {
        Map<String, Integer> totals = new HashMap<>();
        ClusterSnapshot s = view.get();
        s.mounts().keySet().forEach(m -> totals.put(m, 0));
        s.nodes().values().forEach(n -> n.listenersByMount().forEach((m, c) -> {
            if (totals.containsKey(m)) {
                totals.merge(m, c, Integer::sum);
            }
        }));
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        totals.forEach((m, c) -> rows.add(MultiGauge.Row.of(Tags.of("mount", m), c)));
        listenersByMount.register(rows, true);
    }

    private static void text(RoutingContext ctx, int status, String message) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8").end(message + "\n");
    }

    @Override
    public void close() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
        if (server != null) {
            server.close();
        }
    }
}
