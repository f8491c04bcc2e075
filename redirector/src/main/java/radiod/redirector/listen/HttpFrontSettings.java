package radiod.redirector.listen;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import radiod.cluster.model.NodeName;
import radiod.redirector.balance.Pipeline;

/**
 * How the node's public HTTP front behaves.
 *
 * @param nodeName          this node, as the cluster knows it
 * @param bindHost          listen address
 * @param port              HTTP port
 * @param pipeline          load-balancing pipeline, e.g. {@link Pipeline#DEFAULT}; null for the default
 * @param proxyUserAgents   regular expressions (case-insensitive, matched anywhere) of players that do not follow
 *                          redirects: they are proxied instead; null for {@link PlayerAgents#DEFAULTS}
 * @param clusterUrl        base URL listeners use, e.g. {@code http://radio.example.org}, for playlists; null to
 *                          derive it from the request's Host header
 * @param retryAfterSeconds Retry-After of a 503 when no node can take a listener
 * @param icecastHost       the local Icecast's address
 * @param icecastPort       the local Icecast's port
 * @param eventLoops        event loops serving the port (one server instance each); 0 for one per CPU core
 * @param idleTimeoutSeconds a connection that neither sends nor receives for this long is closed
 *                          ({@link #IDLE_TIMEOUT_SECONDS} unless a test needs it shorter)
 */
public record HttpFrontSettings(String nodeName, String bindHost, int port, String pipeline, List<String> proxyUserAgents,
                                String clusterUrl, int retryAfterSeconds, String icecastHost, int icecastPort,
                                int eventLoops, int idleTimeoutSeconds) {
    /** How long an HTTP connection may sit idle before the front closes it. */
    public static final int IDLE_TIMEOUT_SECONDS = 60;

    public HttpFrontSettings {
        NodeName.validate(nodeName);
        if (bindHost == null || bindHost.isBlank()) {
            throw new IllegalArgumentException("http bind address is missing: use an IP literal such as 0.0.0.0");
        }
        checkPort("http port", port);
        pipeline = pipeline == null ? Pipeline.DEFAULT : pipeline;
        Pipeline.parse(pipeline);
        proxyUserAgents = List.copyOf(Objects.requireNonNullElse(proxyUserAgents, PlayerAgents.DEFAULTS));
        PlayerAgents.of(proxyUserAgents);
        if (clusterUrl != null) {
            clusterUrl = checkClusterUrl(clusterUrl);
        }
        if (retryAfterSeconds < 1 || retryAfterSeconds > 3600) {
            throw new IllegalArgumentException("retry-after must be between 1 and 3600 seconds, got " + retryAfterSeconds);
        }
        if (icecastHost == null || icecastHost.isBlank()) {
            throw new IllegalArgumentException("the local Icecast's address is missing");
        }
        checkPort("icecast port", icecastPort);
        if (eventLoops < 0 || eventLoops > 256) {
            throw new IllegalArgumentException("http event loops must be 0 (one per CPU core) to 256, got " + eventLoops);
        }
        if (idleTimeoutSeconds < 1) {
            throw new IllegalArgumentException("the http idle timeout must be at least 1 second, got " + idleTimeoutSeconds);
        }
    }

    /** With the usual idle timeout. */
    public HttpFrontSettings(String nodeName, String bindHost, int port, String pipeline, List<String> proxyUserAgents,
                             String clusterUrl, int retryAfterSeconds, String icecastHost, int icecastPort,
                             int eventLoops) {
        this(nodeName, bindHost, port, pipeline, proxyUserAgents, clusterUrl, retryAfterSeconds, icecastHost, icecastPort,
                eventLoops, IDLE_TIMEOUT_SECONDS);
    }

    /** One event loop per CPU core. */
    public HttpFrontSettings(String nodeName, String bindHost, int port, String pipeline, List<String> proxyUserAgents,
                             String clusterUrl, int retryAfterSeconds, String icecastHost, int icecastPort) {
        this(nodeName, bindHost, port, pipeline, proxyUserAgents, clusterUrl, retryAfterSeconds, icecastHost, icecastPort, 0);
    }

    /** {@link #eventLoops} with 0 resolved. */
    public int effectiveEventLoops() {
        return eventLoops == 0 ? Runtime.getRuntime().availableProcessors() : eventLoops;
    }

    private static void checkPort(String what, int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(what + " must be between 1 and 65535, got " + port);
        }
    }

    /**
     * The cluster URL as playlists use it (no trailing slash).
     *
     * @throws IllegalArgumentException saying what is wrong with it
     */
    public static String checkClusterUrl(String clusterUrl) {
        String url = clusterUrl.strip();
        while (url.endsWith("/")) {
            url = url.substring(0, url.length() - 1);
        }
        String problem = null;
        try {
            URI uri = new URI(url);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                problem = "its scheme must be http or https";
            } else if (uri.getHost() == null) {
                problem = "it has no host";
            } else if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
                problem = "it must not have a query or fragment";
            }
        } catch (java.net.URISyntaxException e) {
            problem = e.getReason();
        }
        if (problem != null) {
            throw new IllegalArgumentException("cluster URL '" + url + "' is not valid (" + problem
                    + "): use e.g. http://radio.example.org");
        }
        return url;
    }
}
