package radiod.redirector.listen;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * @param nodeName          this node
 * @param bindHost          listen address
 * @param port              HTTP port
 * @param pipeline          load-balancing pipeline spec
 * @param proxyUserAgents   regexes (case-insensitive, "find") of players that do not follow redirects: they are
 *                          proxied instead
 * @param clusterUrl        base URL listeners use (e.g. {@code http://radio.example.org}) for playlists; null to use
 *                          the request's Host header
 * @param retryAfterSeconds Retry-After on a 503
 * @param icecastHost       the local Icecast's address
 * @param icecastPort       the local Icecast's port
 */
public record HttpFrontSettings(String nodeName, String bindHost, int port, String pipeline, List<String> proxyUserAgents,
                                String clusterUrl, int retryAfterSeconds, String icecastHost, int icecastPort) {
    /**
     * Players known to mishandle 302 on streams: old Winamp and its SHOUTcast-era relatives, Windows Media
     * Player, some hardware/smart-speaker stacks and streaming boxes that speak bare HTTP/1.0.
     */
    public static final List<String> DEFAULT_PROXY_USER_AGENTS = List.of(
            "^WinampMPEG/", "^NSPlayer/", "Windows-Media-Player", "^RMA/", "^Roku/", "^Sonos", "^Shoutcast", "^iTunes/[0-9]\\.",
            "^FreeAmp/", "^xmms/", "^Squeezebox", "^Frontier Silicon", "^Reciva");

    public HttpFrontSettings {
        proxyUserAgents = List.copyOf(Objects.requireNonNullElse(proxyUserAgents, DEFAULT_PROXY_USER_AGENTS));
        for (String p : proxyUserAgents) {
            try {
                Pattern.compile(p);
            } catch (java.util.regex.PatternSyntaxException e) {
                throw new IllegalArgumentException("balancer.proxy_user_agents: '" + p + "' is not a valid regular expression");
            }
        }
        if (clusterUrl != null && clusterUrl.endsWith("/")) {
            clusterUrl = clusterUrl.substring(0, clusterUrl.length() - 1);
        }
    }
}
