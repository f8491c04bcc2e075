package radiod.redirector.listen;

import java.util.Locale;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import radiod.cluster.model.Mount;
import radiod.cluster.model.MountPath;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.balance.Pipeline;
import radiod.redirector.metrics.FrontMetrics;
import radiod.redirector.metrics.FrontMetrics.Outcome;

/**
 * What a listener can ask for, top to bottom: a mount (redirected to the node the pipeline picks, this one included;
 * proxied for players that do not follow redirects, or served here when that is this node; 503 when no node can
 * take it), a mount's stream from this node's Icecast ({@code /_stream/<mount>}), and playlists. Anything else is 404 — in particular
 * Icecast's own pages and {@code /admin/}, which are never proxied: only known mount paths reach an Icecast.
 *
 * <p>A player that does not follow redirects is proxied from the chosen node's {@code /_stream/}: that node's radiod
 * serves it from its own fan-out and counts it as its listener (this node does not), so the counts the balancer
 * and the operator see stay exact.
 */
public final class ListenerRoutes {
    /** Prefix of the passthrough URL that redirects point at. */
    public static final String STREAM_PREFIX = "/_stream";

    private static final CharSequence ZERO = HttpHeaders.createOptimized("0");

    private final HttpFrontSettings settings;
    private final Supplier<ClusterSnapshot> view;
    private final Pipeline pipeline;
    private final StreamServer streams;
    private final FrontMetrics metrics;
    private final PlayerAgents agents;
    private final Playlists playlists;
    private final String self;
    private final CharSequence retryAfter;
    private volatile HttpsSettings https;
    private volatile BooleanSupplier icecastOutOfService = () -> false;
    private volatile ToLongFunction<String> mountLostMillis = mount -> 0;
    /**
     * How long a mount that was live on this node's Icecast must have been missing from it before players coming back
     * to it are sent to a node that serves it: longer than a relay's reconnection or an Icecast's crash restart (a
     * second or two), far shorter than what a player held here would otherwise get (silence, then a 404).
     */
    public static final long MOUNT_LOST_MILLIS = 5_000;

    public ListenerRoutes(HttpFrontSettings settings, Supplier<ClusterSnapshot> view, Pipeline pipeline,
                          StreamServer streams, FrontMetrics metrics) {
        this.settings = settings;
        this.view = view;
        this.pipeline = pipeline;
        this.streams = streams;
        this.metrics = metrics;
        this.agents = PlayerAgents.of(settings.proxyUserAgents());
        this.playlists = new Playlists(settings);
        this.self = settings.nodeName();
        this.retryAfter = HttpHeaders.createOptimized(Integer.toString(settings.retryAfterSeconds()));
    }

    /**
     * Whether this node's own Icecast is out of service: down for a while after it was up (crashed and not back,
     * hung), not merely starting or restarting. Told by the node; never, until then.
     */
    public void icecastOutOfService(BooleanSupplier outOfService) {
        this.icecastOutOfService = outOfService;
    }

    /**
     * How long each mount, live on this node's Icecast earlier in this process, has been missing from it (a node cut
     * from the master loses its mounts there, its Icecast up); 0 while it is live, if it was never live here, and
     * while the node cannot vouch for its view (its lease). Told by the node; never, until then.
     */
    public void mountLostMillis(ToLongFunction<String> lostMillis) {
        this.mountLostMillis = lostMillis;
    }

    /** Where requests that came over HTTPS are sent ({@code https://<node>.<zone>[:port]}); null: no HTTPS port. */
    public void https(HttpsSettings settings) {
        this.https = settings;
        playlists.https(settings);
    }

    /** Any GET or HEAD that is not one of the front's own pages. */
    public void handle(HttpServerRequest req) {
        String path = req.path();
        if (isMalformed(path)) {
            Responses.text(req, 400, "bad request path");
            return;
        }
        ClusterSnapshot snapshot = view.get();
        if (!snapshot.isRead() && mayNameAMount(path)) {
            // Nothing read from etcd yet (a node starting, or started while etcd is down): which mounts exist is not
            // known, and a 404 stops many players for good. They are asked to come back instead.
            metrics.count(Outcome.UNAVAILABLE, null);
            req.response().putHeader(Responses.RETRY_AFTER, retryAfter);
            Responses.text(req, 503, "this node has not read the cluster's state from etcd yet; retry in "
                    + settings.retryAfterSeconds() + " s");
            return;
        }
        Mount mount = snapshot.mounts().get(path);
        if (mount != null) {
            listen(req, snapshot, mount);
            return;
        }
        if (path.startsWith(STREAM_PREFIX + "/")) {
            stream(req, snapshot, path.substring(STREAM_PREFIX.length()));
            return;
        }
        String lower = path.toLowerCase(Locale.ROOT);
        if (lower.endsWith(Playlists.M3U) || lower.endsWith(Playlists.PLS)) {
            String mountPath = path.substring(0, path.length() - 4);
            if (snapshot.mounts().containsKey(mountPath)) {
                playlists.serve(req, snapshot, mountPath, lower.substring(lower.length() - 4));
                return;
            }
        }
        if (MountPath.isValid(path)) {
            metrics.count(Outcome.NOT_FOUND, null);
            Responses.text(req, 404, "no such mount: " + path);
        } else {
            Responses.text(req, 404, "not found");
        }
    }

    /** Whether the path could name a mount: itself, its {@code /_stream/} path or a playlist of it. */
    private static boolean mayNameAMount(String path) {
        return MountPath.isValid(namedMount(path));
    }

    /** The mount a listener's URL names: the path itself, or the mount of its {@code /_stream/} path or playlist. */
    private static String namedMount(String path) {
        String lower = path.toLowerCase(Locale.ROOT);
        return path.startsWith(STREAM_PREFIX + "/") ? path.substring(STREAM_PREFIX.length())
                : lower.endsWith(Playlists.M3U) || lower.endsWith(Playlists.PLS) ? path.substring(0, path.length() - 4) : path;
    }

    /**
     * A listener's GET or HEAD of a known mount. A HEAD gets the same answer as a GET would, without counting a
     * listener in the predictions.
     */
    public void listen(HttpServerRequest req, ClusterSnapshot snapshot, Mount mount) {
        boolean head = req.method() == HttpMethod.HEAD;
        Optional<NodeStatus> chosen = head ? pipeline.preview(snapshot, mount) : pipeline.choose(snapshot, mount);
        if (chosen.isEmpty()) {
            metrics.count(Outcome.UNAVAILABLE, null);
            req.response().putHeader(Responses.RETRY_AFTER, retryAfter);
            Responses.text(req, 503, "no node can take a listener for " + mount.path() + " right now; retry in "
                    + settings.retryAfterSeconds() + " s");
            return;
        }
        NodeStatus node = chosen.get();
        String path = mount.path();
        boolean proxied = agents.needsProxy(req.getHeader(HttpHeaders.USER_AGENT));
        if (proxied && node.name().equals(self)) {
            metrics.count(Outcome.LOCAL, self);
            streams.serve(req, path);
        } else if (proxied) {
            metrics.count(Outcome.PROXY, node.name());
            streams.proxy(req, path, node.address(), node.httpPort());
        } else {
            // Redirected even when the chosen node is this one: the player then holds a URL of its node, and
            // reconnects there (after a restart, say) instead of asking the balancer again and moving around.
            redirect(req, node, path);
        }
    }

    /** 302 to {@code node}'s {@code /_stream/} of the mount, keeping the query string; counted as a redirect. */
    private void redirect(HttpServerRequest req, NodeStatus node, String mountPath) {
        metrics.count(Outcome.REDIRECT, node.name());
        String query = req.query();
        String location = locationBase(node, req.isSSL()) + STREAM_PREFIX + mountPath + (query == null ? "" : "?" + query);
        req.response().setStatusCode(302).putHeader(Responses.LOCATION, location)
                .putHeader(Responses.CACHE_CONTROL, Responses.NO_CACHE).putHeader(Responses.ALLOW_ORIGIN, Responses.ANY_ORIGIN)
                .putHeader(Responses.CONTENT_LENGTH, ZERO).end();
    }

    /**
     * An {@code OPTIONS} request (a browser's preflight) of {@code path}: answered for a listener's URLs (a mount, its
     * {@code /_stream/}, its playlists); false, nothing answered, for any other path.
     */
    public boolean preflight(HttpServerRequest req, String path) {
        if (path == null || isMalformed(path)) {
            return false;
        }
        ClusterSnapshot snapshot = view.get();
        String mount = namedMount(path);
        boolean known = snapshot.mounts().containsKey(mount) || snapshot.mounts().containsKey(path);
        // Before the view is read, answered for anything that may name a mount: the request then gets its 503.
        if (!known && (snapshot.isRead() || !MountPath.isValid(mount))) {
            return false;
        }
        Responses.preflight(req);
        return true;
    }

    /**
     * The lean path's decision ({@link LeanRedirects}) for a GET of a mount: the node to redirect to, chosen, reserved
     * and counted exactly as {@link #listen} does; null, with nothing counted, when the player gets the stream proxied
     * or no node can take it (the caller leaves the request to {@link #listen}).
     */
    NodeStatus redirectTarget(ClusterSnapshot snapshot, Mount mount, String userAgent) {
        if (agents.needsProxy(userAgent)) {
            return null;
        }
        Optional<NodeStatus> chosen = pipeline.choose(snapshot, mount);
        if (chosen.isEmpty()) {
            return null;
        }
        NodeStatus node = chosen.get();
        metrics.count(Outcome.REDIRECT, node.name());
        return node;
    }

    /**
     * Where a redirect to {@code node} points, without the path: {@code http://<address>:<port>}, or over HTTPS the
     * node's name in the cluster's zone, which the certificate covers and radiod's DNS answers.
     */
    String locationBase(NodeStatus node, boolean overHttps) {
        HttpsSettings secure = https;
        return secure != null && overHttps ? secure.base(node.name())
                : "http://" + Responses.hostForUrl(node.address()) + ':' + node.httpPort();
    }

    /**
     * {@code /_stream/<mount>}: the mount from this node's own Icecast, whatever the balancer would say, while this
     * node is in service. A player holds this URL and comes back to it (after a dropped connection, a restart of this
     * node's Icecast), so when this node serves nothing now (its Icecast out of service: down for a while after it was
     * up, hung; or the node drained), or nothing of that mount (live here before and missing for
     * {@link #MOUNT_LOST_MILLIS}), and another node can serve the mount, the player is sent there as a listener of
     * the mount would be; otherwise it is served here (held while the mount comes, or refused as before).
     * What passes is not a reason: a node starting or stopping, an Icecast restarting after a crash, a mount never live
     * here yet or lost for less. Those are over within a second or two, and a player sent away from a node just
     * restarted would meet the next node's restart in a rolling one (FireIT).
     */
    private void stream(HttpServerRequest req, ClusterSnapshot snapshot, String mountPath) {
        Mount mount = snapshot.mounts().get(mountPath);
        if (mount == null) {
            Responses.text(req, 404, "no such mount: " + mountPath);
            return;
        }
        NodeStatus elsewhere = elsewhere(req, snapshot, mount);
        if (elsewhere == null) {
            streams.serve(req, mountPath);
        } else if (agents.needsProxy(req.getHeader(HttpHeaders.USER_AGENT))) {
            metrics.count(Outcome.PROXY, elsewhere.name());
            streams.proxy(req, mountPath, elsewhere.address(), elsewhere.httpPort());
        } else {
            redirect(req, elsewhere, mountPath);
        }
    }

    /**
     * The node a request for this node's {@code /_stream/} of {@code mount} goes to instead, or null to serve it here:
     * null while this node is in service for the mount (its Icecast not out of service, the mount not lost here for
     * {@link #MOUNT_LOST_MILLIS}, and not drained by its own status or by a drain in the view), when a peer proxies the
     * request (it is never sent on twice), and when the balancer's choice is not another node that, by its status, can.
     */
    private NodeStatus elsewhere(HttpServerRequest req, ClusterSnapshot snapshot, Mount mount) {
        NodeStatus me = snapshot.nodes().get(self);
        boolean drained = snapshot.isDrained(self) || me != null && me.drained();
        if (!drained && !icecastOutOfService.getAsBoolean() && mountLostMillis.applyAsLong(mount.path()) < MOUNT_LOST_MILLIS
                || proxiedByAPeer(req)) {
            return null;
        }
        Optional<NodeStatus> chosen = req.method() == HttpMethod.HEAD ? pipeline.preview(snapshot, mount)
                : pipeline.choose(snapshot, mount);
        return chosen.filter(n -> !n.name().equals(self) && canServe(snapshot, n, mount)).orElse(null);
    }

    /** A peer proxying a player asks for this node's {@code /_stream/} with {@link Responses#PEER_VIA}. */
    private static boolean proxiedByAPeer(HttpServerRequest req) {
        for (String via : req.headers().getAll(Responses.VIA)) {
            if (via.contains(Responses.PEER_VIA)) {
                return true;
            }
        }
        return false;
    }

    /** By its status: its Icecast up, the mount live there, not drained (by its own status or by a drain in the view). */
    private static boolean canServe(ClusterSnapshot snapshot, NodeStatus node, Mount mount) {
        return node.icecastUp() && node.hasMount(mount.path()) && !node.drained() && !snapshot.isDrained(node.name());
    }

    /**
     * Paths no client has a reason to send: relative, dot segments (also percent-encoded), backslashes, encoded
     * slashes or NULs, control characters.
     */
    static boolean isMalformed(String path) {
        if (path == null || path.isEmpty() || path.charAt(0) != '/' || path.contains("//")) {
            return true;
        }
        // Dot segments ("/../", "/./", a final "/..") only: a mount may have dots inside a name (/live..mp3).
        if (path.endsWith("/.") || path.endsWith("/..") || path.contains("/./") || path.contains("/../")) {
            return true;
        }
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '\\') {
                return true;
            }
            if (c == '%' && i + 2 < path.length()) {
                String code = path.substring(i + 1, i + 3).toLowerCase(Locale.ROOT);
                if (code.equals("2e") || code.equals("2f") || code.equals("5c") || code.equals("00")) {
                    return true;
                }
            }
        }
        return false;
    }
}
