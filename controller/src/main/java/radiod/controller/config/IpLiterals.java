package radiod.controller.config;

import java.net.InetAddress;
import java.net.UnknownHostException;

import radiod.cluster.model.Addresses;

/** Recognises IP literals without resolving names: the same as the addresses a node publishes. */
final class IpLiterals {
    private IpLiterals() {
    }

    static boolean isIp(String s) {
        return Addresses.isIpLiteral(s);
    }

    /** Whether an IP literal can name one host to others: not the wildcard (0.0.0.0, ::), not multicast. */
    static boolean isReachable(String literal) {
        try {
            InetAddress a = InetAddress.getByName(literal); // a literal: parsed, never looked up
            return !a.isAnyLocalAddress() && !a.isMulticastAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
