package radiod.cluster.tls;

import java.util.Objects;

/**
 * The ACME account's key, at {@code secret/acme/account}, readable only with radiod's etcd credentials: made once by
 * the first node to hold the ACME duty and used by every later one, so the CA sees one account for the cluster.
 * Never printed: {@link #toString()} hides the key.
 *
 * @param key       the private key, PKCS#8 PEM
 * @param publicKey the public key, X.509 SubjectPublicKeyInfo PEM ({@code -----BEGIN PUBLIC KEY-----})
 * @param by        the node that made it
 * @param at        when, epoch milliseconds
 */
public record AcmeAccount(String key, String publicKey, String by, long at) {
    public AcmeAccount {
        if (key == null || !key.contains("-----BEGIN PRIVATE KEY-----") || !key.contains("-----END PRIVATE KEY-----")) {
            throw new IllegalArgumentException("key: not a PKCS#8 PEM private key");
        }
        if (publicKey == null || !publicKey.contains("-----BEGIN PUBLIC KEY-----")) {
            throw new IllegalArgumentException("publicKey: not a PEM public key");
        }
        by = Objects.requireNonNullElse(by, "");
    }

    @Override
    public String toString() {
        return "AcmeAccount[key=***, by=" + by + ", at=" + at + "]";
    }
}
