package radiod.cluster.model;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The addresses a node publishes: IPv4 or IPv6 literals, never names. Peers connect to them and redirects put them in
 * {@code Location}, so a name (looked up on the hot path) or anything else read from a corrupt value is refused.
 */
public final class Addresses {
    private static final Pattern V4 = Pattern.compile(
            "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");
    private static final Pattern V6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

    private Addresses() {
    }

    /** Returns the addresses, copied, if there is at least one and each is an IP literal; else throws naming {@code owner}. */
    static List<String> check(String owner, List<String> addresses) {
        List<String> copy = List.copyOf(addresses == null ? List.of() : addresses);
        if (copy.isEmpty()) {
            throw new IllegalArgumentException(owner + " has no address");
        }
        for (String a : copy) {
            if (!isIpLiteral(a)) {
                throw new IllegalArgumentException(owner + " has an address that is not an IP literal: '" + a + "'");
            }
        }
        return copy;
    }

    /** Whether {@code s} is an IPv4 or IPv6 literal (no brackets, no zone); never looks a name up. */
    public static boolean isIpLiteral(String s) {
        if (s == null) {
            return false;
        }
        if (V4.matcher(s).matches()) {
            return true;
        }
        if (!s.contains(":") || !V6.matcher(s).matches()) {
            return false;
        }
        try {
            InetAddress.getByName(s); // with a ':', parsed as an IPv6 literal and never looked up
            return true;
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
