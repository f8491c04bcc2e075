package radiod.cluster.tls;

import java.util.List;
import java.util.Objects;

/**
 * The cluster's certificate, at {@code tls/certificate}: the PEM chain (leaf first) and what it says, so that radioctl
 * and the renewing node need not parse it. Its private key is kept apart, at {@code secret/tls/key} ({@link TlsKey}),
 * where only radiod's etcd user may read it.
 *
 * @param chain     the certificate chain in PEM, leaf first
 * @param names     the names it is for (its subject alternative names), e.g. {@code radio.example.org} and
 *                  {@code *.radio.example.org}
 * @param issuer    the issuer's distinguished name
 * @param notBefore start of validity, epoch milliseconds
 * @param notAfter  end of validity, epoch milliseconds
 * @param serial    the leaf's serial number, hexadecimal
 * @param by        the node that obtained it
 * @param at        when it was stored, epoch milliseconds
 */
public record TlsCertificate(String chain, List<String> names, String issuer, long notBefore, long notAfter,
                             String serial, String by, long at) {
    /** A chain is a few kilobytes; this is far above any real one and keeps a corrupt value from being huge. */
    public static final int MAX_CHAIN_CHARS = 64 * 1024;

    public TlsCertificate {
        if (chain == null || !chain.contains("-----BEGIN CERTIFICATE-----") || !chain.contains("-----END CERTIFICATE-----")) {
            throw new IllegalArgumentException("chain: not a PEM certificate chain");
        }
        if (chain.length() > MAX_CHAIN_CHARS) {
            throw new IllegalArgumentException("chain: longer than " + MAX_CHAIN_CHARS + " characters");
        }
        if (names == null || names.isEmpty()) {
            throw new IllegalArgumentException("names: the certificate names no host");
        }
        for (String n : names) {
            if (n == null || n.isBlank() || n.length() > 253 || !n.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
                throw new IllegalArgumentException("names: '" + n + "' is not a host name");
            }
        }
        names = List.copyOf(names);
        issuer = Objects.requireNonNullElse(issuer, "");
        if (notAfter <= notBefore) {
            throw new IllegalArgumentException("notAfter must be after notBefore");
        }
        serial = Objects.requireNonNullElse(serial, "");
        by = Objects.requireNonNullElse(by, "");
    }

    /** Whether it is for this zone and every name in it: the apex and {@code *.<zone>}. */
    public boolean covers(String zone) {
        return names.contains(zone) && names.contains("*." + zone);
    }
}
