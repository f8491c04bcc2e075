package radiod.redirector.access;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/**
 * Who a listener is: the TCP peer, unless the peer is a trusted proxy (a configured address range, or another node
 * of the cluster, which proxies players that do not follow redirects and names them in {@code X-Forwarded-For}):
 * then the rightmost address of {@code X-Forwarded-For} that is not itself trusted, walking from the right, as
 * nginx's {@code real_ip_recursive} does. Everything left of that was written by the client or by proxies nobody
 * vouches for, and is ignored. An entry that is not an IP address stops the walk at the last trusted hop.
 *
 * <p>Addresses are parsed as literals only, never resolved; they are written in their usual short form (IPv6 as in
 * RFC 5952, IPv4-mapped IPv6 as IPv4).
 */
public final class ClientAddresses {
    /** No trusted proxies: the peer is always the listener. */
    public static final ClientAddresses PEER_ONLY = new ClientAddresses(List.of(), () -> ClusterSnapshot.EMPTY);

    private final List<Range> trusted;
    private final Supplier<ClusterSnapshot> view;
    /** The cluster's node addresses, canonical, with the view they were taken from. */
    private volatile PeerSet peerSet = new PeerSet(null, Set.of());

    private record PeerSet(ClusterSnapshot from, Set<String> canonical) {
    }

    /**
     * @param trustedProxies addresses or CIDR ranges, e.g. {@code 10.0.0.0/8}, {@code 2001:db8::/32},
     *                       {@code 192.0.2.7}
     * @param view           the cluster view, whose nodes' addresses are trusted as proxies too; read on every new
     *                       session, its addresses parsed again only when it is another snapshot
     * @throws IllegalArgumentException naming the first entry that is not an address or range
     */
    public ClientAddresses(List<String> trustedProxies, Supplier<ClusterSnapshot> view) {
        List<Range> ranges = new ArrayList<>();
        for (String s : Objects.requireNonNullElse(trustedProxies, List.<String>of())) {
            ranges.add(Range.parse(s));
        }
        this.trusted = List.copyOf(ranges);
        this.view = view;
    }

    /** Checks a list of trusted proxies; throws {@link IllegalArgumentException} naming the first bad entry. */
    public static void validate(List<String> trustedProxies) {
        new ClientAddresses(trustedProxies, () -> ClusterSnapshot.EMPTY);
    }

    /** The listener's address for {@code req}: see the class comment. */
    public String of(HttpServerRequest req) {
        SocketAddress remote = req.remoteAddress();
        String peer = remote == null ? null : remote.hostAddress();
        if (peer == null) {
            return "-";
        }
        return choose(peer, req.headers().getAll("X-Forwarded-For"));
    }

    /** The listener's address, given the TCP peer and the {@code X-Forwarded-For} headers in the order received. */
    public String choose(String peer, List<String> forwardedFor) {
        byte[] p = parseAddress(peer);
        if (p == null) {
            return peer;
        }
        String last = format(p);
        if (forwardedFor == null || forwardedFor.isEmpty() || !trusted(p)) {
            return last;
        }
        List<String> hops = new ArrayList<>();
        for (String header : forwardedFor) {
            for (String part : header.split(",")) {
                String h = part.strip();
                if (!h.isEmpty()) {
                    hops.add(h);
                }
            }
        }
        for (int i = hops.size() - 1; i >= 0; i--) {
            byte[] a = parseAddress(withoutPort(hops.get(i)));
            if (a == null) {
                return last;
            }
            last = format(a);
            if (!trusted(a)) {
                return last;
            }
        }
        return last;
    }

    private boolean trusted(byte[] address) {
        for (Range r : trusted) {
            if (r.contains(address)) {
                return true;
            }
        }
        return peerSet().contains(format(address));
    }

    private Set<String> peerSet() {
        ClusterSnapshot now = view.get();
        PeerSet cached = peerSet;
        if (cached.from() == now) {
            return cached.canonical();
        }
        Set<String> canonical = new HashSet<>();
        for (NodeStatus n : now.nodes().values()) {
            for (String s : n.addresses()) {
                byte[] a = parseAddress(s);
                if (a != null) {
                    canonical.add(format(a));
                }
            }
        }
        peerSet = new PeerSet(now, Set.copyOf(canonical));
        return canonical;
    }

    /** {@code 192.0.2.7:5555} → {@code 192.0.2.7}, {@code [2001:db8::1]:5555} → {@code 2001:db8::1}. */
    static String withoutPort(String hop) {
        if (hop.startsWith("[")) {
            int close = hop.indexOf(']');
            return close < 0 ? hop : hop.substring(1, close);
        }
        int colon = hop.indexOf(':');
        if (colon > 0 && hop.indexOf(':', colon + 1) < 0) {
            return hop.substring(0, colon);
        }
        return hop;
    }

    /** An IPv4 (4 bytes) or IPv6 (16 bytes) literal, IPv4-mapped IPv6 as IPv4; null if it is not one. */
    static byte[] parseAddress(String s) {
        if (s == null || s.isEmpty() || s.length() > 45) {
            return null;
        }
        if (s.indexOf(':') < 0) {
            return parseV4(s);
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.')) {
                return null;
            }
        }
        try {
            // A string with a colon is only ever parsed as an IPv6 literal by the JDK, never looked up.
            InetAddress a = InetAddress.getByName(s);
            return a.getAddress();
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private static byte[] parseV4(String s) {
        byte[] out = new byte[4];
        int part = 0;
        int value = -1;
        for (int i = 0; i <= s.length(); i++) {
            char c = i < s.length() ? s.charAt(i) : '.';
            if (c == '.') {
                if (value < 0 || part > 3) {
                    return null;
                }
                out[part++] = (byte) value;
                value = -1;
            } else if (c >= '0' && c <= '9') {
                if (value == 0) {
                    return null; // no leading zeros: 010 is octal to some parsers
                }
                value = (value < 0 ? 0 : value * 10) + (c - '0');
                if (value > 255) {
                    return null;
                }
            } else {
                return null;
            }
        }
        return part == 4 ? out : null;
    }

    /** IPv4 dotted, IPv6 in RFC 5952's short form. */
    static String format(byte[] a) {
        if (a.length == 4) {
            return (a[0] & 0xff) + "." + (a[1] & 0xff) + "." + (a[2] & 0xff) + "." + (a[3] & 0xff);
        }
        int[] words = new int[8];
        for (int i = 0; i < 8; i++) {
            words[i] = (a[2 * i] & 0xff) << 8 | (a[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; ) {
            if (words[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && words[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLength - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(words[i]));
        }
        return sb.toString();
    }

    /** An address range: an address and a prefix length. */
    record Range(byte[] network, int bits) {
        static Range parse(String s) {
            String text = s == null ? "" : s.strip();
            int slash = text.indexOf('/');
            byte[] address = parseAddress(slash < 0 ? text : text.substring(0, slash));
            if (address == null) {
                throw new IllegalArgumentException("'" + s + "' is not an IP address or CIDR range (e.g. 10.0.0.0/8, "
                        + "2001:db8::/32, 192.0.2.7)");
            }
            int max = address.length * 8;
            int bits = max;
            if (slash >= 0) {
                try {
                    bits = Integer.parseInt(text.substring(slash + 1));
                } catch (NumberFormatException e) {
                    bits = -1;
                }
                // A mapped IPv6 range (::ffff:10.0.0.0/104) was turned into IPv4: its prefix counts from bit 96.
                if (address.length == 4 && text.indexOf(':') >= 0) {
                    bits -= 96;
                }
                if (bits < 0 || bits > max) {
                    throw new IllegalArgumentException("'" + s + "': the prefix length must be 0 to " + max);
                }
            }
            return new Range(address, bits);
        }

        boolean contains(byte[] address) {
            if (address.length != network.length) {
                return false;
            }
            int full = bits / 8;
            for (int i = 0; i < full; i++) {
                if (address[i] != network[i]) {
                    return false;
                }
            }
            int rest = bits % 8;
            if (rest == 0) {
                return true;
            }
            int mask = 0xff << (8 - rest) & 0xff;
            return (address[full] & mask) == (network[full] & mask);
        }
    }
}
