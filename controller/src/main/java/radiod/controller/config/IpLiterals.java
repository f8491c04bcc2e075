package radiod.controller.config;

import radiod.cluster.model.Addresses;

/** Recognises IP literals without resolving names: the same as the addresses a node publishes. */
final class IpLiterals {
    private IpLiterals() {
    }

    static boolean isIp(String s) {
        return Addresses.isIpLiteral(s);
    }
}
