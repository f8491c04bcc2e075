package radiod.redirector.listen;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.http.HttpServerRequest;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.balance.Pipeline;
import radiod.redirector.stream.Passthrough;

/**
 * A listener's {@code GET /<mount>}: the pipeline picks a node; another node gets a 302 to its
 * {@code /_stream/<mount>}, this node serves the stream itself, players that do not follow redirects are
 * proxied, and when no node can take the listener the answer is 503 with Retry-After.
 */
final class Redirects {
    private final HttpFrontSettings settings;
    private final Supplier<ClusterSnapshot> view;
    private final Pipeline pipeline;
    private final Passthrough passthrough;
    private final List<Pattern> proxyAgents;
    private final MeterRegistry registry;
    private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();

    Redirects(HttpFrontSettings settings, Supplier<ClusterSnapshot> view, Pipeline pipeline, Passthrough passthrough,
              MeterRegistry registry) {
        this.settings = settings;
        this.view = view;
        this.pipeline = pipeline;
        this.passthrough = passthrough;
        this.registry = registry;
        this.proxyAgents = settings.proxyUserAgents().stream().map(p -> Pattern.compile(p, Pattern.CASE_INSENSITIVE)).toList();
    }

    void handle(HttpServerRequest req, String path) {
        ClusterSnapshot snapshot = view.get();
        Optional<Mount> mount = snapshot.mount(path);
        if (mount.isEmpty()) {
            count("not_found", "none");
            Responses.text(req, 404, "no such mount: " + path);
            return;
        }
        Optional<NodeStatus> chosen = pipeline.choose(snapshot, mount.get());
        if (chosen.isEmpty()) {
            count("unavailable", "none");
            req.response().putHeader("Retry-After", Integer.toString(settings.retryAfterSeconds()));
            Responses.text(req, 503, "no node can take a listener for " + path + " right now; retry shortly");
            return;
        }
        NodeStatus node = chosen.get();
        if (node.name().equals(settings.nodeName())) {
            count("local", node.name());
            passthrough.serve(req, path, settings.icecastHost(), settings.icecastPort());
            return;
        }
        if (doesNotFollowRedirects(req.getHeader("User-Agent"))) {
            count("proxy", node.name());
            passthrough.serve(req, path, node.address(), node.icecastPort());
            return;
        }
        count("redirect", node.name());
        String query = req.query();
        String location = "http://" + Responses.hostForUrl(node.address()) + ":" + node.httpPort() + "/_stream" + path
                + (query == null ? "" : "?" + query);
        req.response().setStatusCode(302).putHeader("Location", location).putHeader("Cache-Control", "no-cache")
                .putHeader("Content-Length", "0");
        req.response().end();
    }

    private boolean doesNotFollowRedirects(String agent) {
        if (agent == null || agent.isEmpty()) {
            return false;
        }
        for (Pattern p : proxyAgents) {
            if (p.matcher(agent).find()) {
                return true;
            }
        }
        return false;
    }

    private void count(String outcome, String node) {
        counters.computeIfAbsent(outcome + '\0' + node, k -> Counter.builder("radiod.redirects")
                .description("listener requests by outcome and target node")
                .tag("outcome", outcome).tag("node", node).register(registry)).increment();
    }
}
