package radiod.cluster.model;

import java.util.List;
import java.util.Optional;

/**
 * A host and port as a node publishes where it listens: {@code 192.0.2.1:8080}, {@code [2001:db8::1]:8080}.
 *
 * @param host an IP literal (IPv6 without brackets) or a host name
 * @param port 1 to 65535
 */
public record Endpoint(String host, int port) {
    public Endpoint {
        if (host == null || host.isBlank() || host.chars().anyMatch(c -> c <= ' ' || c == '[' || c == ']' || c == '/')) {
            throw new IllegalArgumentException("endpoint host '" + host + "' is not a host");
        }
        Ports.check("endpoint port", port);
    }

    /** Reads {@code host:port} or {@code [v6]:port}; empty when the text is not one. */
    public static Optional<Endpoint> parse(String text) {
        if (text == null || text.isEmpty()) {
            return Optional.empty();
        }
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            return Optional.empty();
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            return Optional.empty(); // an IPv6 literal must be bracketed
        }
        try {
            return Optional.of(new Endpoint(host, Integer.parseInt(text.substring(colon + 1))));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * Where a server bound to {@code bind} on {@code port} can be reached by a peer: the bind address itself, or for a
     * wildcard bind one of the node's addresses that the wildcard covers ({@code 0.0.0.0}: the first IPv4 address;
     * {@code ::}: the first IPv6 address, else the first address, as Linux's {@code ::} takes IPv4 too). Empty when no
     * published address is covered.
     */
    public static Optional<Endpoint> listening(String bind, List<String> addresses, int port) {
        if (!isWildcard(bind)) {
            return Optional.of(new Endpoint(bind, port));
        }
        boolean v6 = bind.indexOf(':') >= 0;
        Optional<String> covered = addresses.stream().filter(a -> (a.indexOf(':') >= 0) == v6).findFirst();
        if (covered.isEmpty() && v6) {
            covered = addresses.stream().findFirst();
        }
        return covered.map(a -> new Endpoint(a, port));
    }

    static boolean isWildcard(String ip) {
        return "0.0.0.0".equals(ip) || (ip.indexOf(':') >= 0 && ip.replace(":", "").replace("0", "").isEmpty());
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
