package radiod.redirector.admin;

import java.util.List;
import java.util.function.Supplier;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import radiod.cluster.admin.AdminTokens;
import radiod.cluster.model.Json;
import radiod.cluster.model.ListenerSession;
import radiod.cluster.model.MountPath;
import radiod.redirector.access.ListenerSessions;
import radiod.redirector.listen.Responses;

/**
 * The node's admin endpoints on its public HTTP port, for radioctl: {@code GET /_admin/listeners[?mount=/x]}, this
 * node's listeners now, as JSON. Every request must carry the cluster's admin token ({@code Authorization: Bearer
 * TOKEN}, the value at {@code admin/token} in etcd), compared in constant time; without it, or with another, the
 * answer is 401 and nothing else (listeners' addresses are personal data). Until the node has read the token from
 * etcd, the answer is 503.
 */
public final class AdminApi {
    /** Prefix of every admin path. */
    public static final String PREFIX = "/_admin/";
    public static final String LISTENERS = PREFIX + "listeners";

    private static final CharSequence JSON = HttpHeaders.createOptimized("application/json");
    private static final CharSequence NO_STORE = HttpHeaders.createOptimized("no-store");

    private final String node;
    private final Supplier<String> token;
    private final ListenerSessions sessions;

    /**
     * @param node     this node's name
     * @param token    the admin token as this node knows it now, or null while it does not know it yet
     * @param sessions this node's listener sessions
     */
    public AdminApi(String node, Supplier<String> token, ListenerSessions sessions) {
        this.node = node;
        this.token = token;
        this.sessions = sessions;
    }

    /** What {@code /_admin/listeners} answers: this node and its listeners, oldest first. */
    public record Listeners(String node, List<ListenerSession> listeners) {
    }

    /** {@code GET /_admin/listeners}. */
    public void listeners(HttpServerRequest req) {
        if (!authorized(req)) {
            return;
        }
        String mount;
        try {
            mount = req.getParam("mount");
        } catch (IllegalArgumentException e) { // a query string that does not decode (Netty's decoder: %zz)
            Responses.text(req, 400, "the query string is not valid percent-encoding");
            return;
        }
        if (mount != null && !MountPath.isValid(mount)) {
            Responses.text(req, 400, "mount must be a mount path such as /live.mp3");
            return;
        }
        req.response().putHeader(Responses.CONTENT_TYPE, JSON).putHeader(Responses.CACHE_CONTROL, NO_STORE)
                .end(Json.encodeString(new Listeners(node, sessions.current(mount))));
    }

    /** Whether the request has the token; if not, it has been answered (401, or 503 while there is no token). */
    boolean authorized(HttpServerRequest req) {
        String offered = bearer(req.getHeader(HttpHeaders.AUTHORIZATION));
        String expected = token.get();
        if (expected == null || expected.isEmpty()) {
            req.response().putHeader(Responses.RETRY_AFTER, "5");
            Responses.text(req, 503, "this node has not read the admin token from etcd yet; retry shortly");
            return false;
        }
        if (!AdminTokens.matches(expected, offered)) {
            req.response().putHeader("WWW-Authenticate", "Bearer realm=\"radiod admin\"");
            Responses.text(req, 401, offered == null
                    ? "the admin token is required (Authorization: Bearer TOKEN; radioctl reads it from etcd)"
                    : "wrong admin token");
            return false;
        }
        return true;
    }

    /** The token of an {@code Authorization: Bearer TOKEN} header, or null. */
    static String bearer(String header) {
        if (header == null) {
            return null;
        }
        String h = header.strip();
        if (h.length() < 7 || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        String t = h.substring(7).strip();
        return t.isEmpty() ? null : t;
    }
}
