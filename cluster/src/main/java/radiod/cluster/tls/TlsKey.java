package radiod.cluster.tls;

import java.util.Objects;

/**
 * The private key of the cluster's certificate, at {@code secret/tls/key}: written in the same transaction as the
 * certificate and readable only with radiod's etcd credentials. Never printed: {@link #toString()} hides it.
 *
 * @param key    PKCS#8 PEM ({@code -----BEGIN PRIVATE KEY-----})
 * @param serial the serial of the certificate it belongs to (hexadecimal), so that a pair that does not belong
 *               together is seen before the key is tried
 */
public record TlsKey(String key, String serial) {
    public TlsKey {
        if (key == null || !key.contains("-----BEGIN PRIVATE KEY-----") || !key.contains("-----END PRIVATE KEY-----")) {
            throw new IllegalArgumentException("key: not a PKCS#8 PEM private key");
        }
        if (key.length() > 16 * 1024) {
            throw new IllegalArgumentException("key: longer than 16384 characters");
        }
        serial = Objects.requireNonNullElse(serial, "");
    }

    @Override
    public String toString() {
        return "TlsKey[key=***, serial=" + serial + "]";
    }
}
