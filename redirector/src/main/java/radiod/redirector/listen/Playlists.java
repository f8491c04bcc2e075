package radiod.redirector.listen;

import java.util.regex.Pattern;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.HostAndPort;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/**
 * {@code /<mount>.m3u} and {@code /<mount>.pls}: one entry, the mount's cluster URL, so that the player comes back
 * through a redirect and the load balancer each time it (re)connects.
 */
public final class Playlists {
    /** Extensions, as they end a request path. */
    static final String M3U = ".m3u";
    static final String PLS = ".pls";

    private static final CharSequence M3U_TYPE = HttpHeaders.createOptimized("audio/x-mpegurl");
    private static final CharSequence PLS_TYPE = HttpHeaders.createOptimized("audio/x-scpls");
    /** A Host header we are willing to write into a playlist: a name or IP literal, optional port. */
    private static final Pattern HOST = Pattern.compile("([A-Za-z0-9][A-Za-z0-9.-]{0,252}|\\[[0-9A-Fa-f:.]{2,45}\\])(:[0-9]{1,5})?");

    private final HttpFrontSettings settings;
    private volatile HttpsSettings https;

    Playlists(HttpFrontSettings settings) {
        this.settings = settings;
    }

    void https(HttpsSettings https) {
        this.https = https;
    }

    void serve(HttpServerRequest req, ClusterSnapshot view, String mount, String extension) {
        String url = streamUrl(req, view, mount);
        String title = mount.substring(1);
        if (extension.equals(M3U)) {
            req.response().putHeader(Responses.CONTENT_TYPE, M3U_TYPE).putHeader(Responses.CACHE_CONTROL, Responses.NO_CACHE)
                    .putHeader(Responses.ALLOW_ORIGIN, Responses.ANY_ORIGIN)
                    .end("#EXTM3U\n#EXTINF:-1," + title + "\n" + url + "\n");
        } else {
            req.response().putHeader(Responses.CONTENT_TYPE, PLS_TYPE).putHeader(Responses.CACHE_CONTROL, Responses.NO_CACHE)
                    .putHeader(Responses.ALLOW_ORIGIN, Responses.ANY_ORIGIN)
                    .end("[playlist]\nNumberOfEntries=1\nFile1=" + url + "\nTitle1=" + title + "\nLength1=-1\nVersion=2\n");
        }
    }

    /** The mount's URL on the cluster (configured, else as the listener reached us), query string kept. */
    String streamUrl(HttpServerRequest req, ClusterSnapshot view, String mount) {
        String query = req.query();
        return baseUrl(settings, https, req, view) + mount + (query == null || query.isEmpty() ? "" : "?" + query);
    }

    /** The cluster's base URL: configured, else as the listener reached this node, else this node's address. */
    public static String baseUrl(HttpFrontSettings settings, HttpServerRequest req, ClusterSnapshot view) {
        return baseUrl(settings, null, req, view);
    }

    /**
     * As {@link #baseUrl(HttpFrontSettings, HttpServerRequest, ClusterSnapshot)}, in https for a request that came over
     * HTTPS: a configured http cluster URL is given the https scheme and port; without a usable Host header, the
     * node's name in the cluster's zone.
     *
     * @param https the node's HTTPS port; null when it has none
     */
    public static String baseUrl(HttpFrontSettings settings, HttpsSettings https, HttpServerRequest req, ClusterSnapshot view) {
        boolean secure = https != null && req.isSSL();
        String base = settings.clusterUrl();
        if (base != null) {
            return secure ? https.secure(base) : base;
        }
        HostAndPort authority = req.authority();
        String host = authority == null ? null : authority.host() + (authority.port() < 0 ? "" : ":" + authority.port());
        if (host == null || !HOST.matcher(host).matches()) {
            if (secure) {
                return https.base(settings.nodeName());
            }
            String address = view.node(settings.nodeName()).map(NodeStatus::address).orElse(settings.bindHost());
            host = Responses.hostForUrl(address) + (settings.port() == 80 ? "" : ":" + settings.port());
        }
        return (secure ? "https://" : "http://") + host;
    }
}
