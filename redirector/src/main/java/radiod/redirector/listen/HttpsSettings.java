package radiod.redirector.listen;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

import radiod.cluster.model.NodeName;

/**
 * The node's HTTPS listener port and how its URLs are written: a request that came over HTTPS is sent to
 * {@code https://<node>.<zone>[:port]/…}, a name the cluster's DNS answers and the certificate covers (a wildcard
 * {@code *.<zone>}, or the node names), never to an IP address. The port is the same on every node.
 *
 * @param port the HTTPS port (443 is left out of URLs)
 * @param zone the cluster's DNS zone, e.g. {@code radio.example.org}
 */
public record HttpsSettings(int port, String zone) {
    public HttpsSettings {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("https port must be between 1 and 65535, got " + port);
        }
        if (zone == null || zone.isBlank()) {
            throw new IllegalArgumentException("https needs the cluster's DNS zone for its URLs");
        }
        zone = zone.strip().toLowerCase(Locale.ROOT);
        while (zone.endsWith(".")) {
            zone = zone.substring(0, zone.length() - 1);
        }
    }

    /** {@code https://<node>.<zone>[:port]}, no trailing slash. */
    public String base(String node) {
        NodeName.validate(node);
        return "https://" + node + "." + zone + portPart();
    }

    private String portPart() {
        return port == 443 ? "" : ":" + port;
    }

    /**
     * A configured http cluster URL as HTTPS listeners get it: its host on this port ({@code http://radio.example.org}
     * becomes {@code https://radio.example.org}, with {@code :port} when not 443); an https URL as it is.
     */
    public String secure(String clusterUrl) {
        if (clusterUrl.regionMatches(true, 0, "https:", 0, 6)) {
            return clusterUrl;
        }
        try {
            URI u = new URI(clusterUrl);
            return "https://" + u.getRawAuthority().replaceFirst(":[0-9]*$", "") + portPart()
                    + (u.getRawPath() == null ? "" : u.getRawPath());
        } catch (URISyntaxException | NullPointerException e) {
            return clusterUrl;
        }
    }
}
