package radiod.cluster.etcd;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import io.etcd.jetcd.ByteSequence;

/**
 * The layout of radiod's keys under one prefix (default {@code /radiod/}); docs/ARCHITECTURE.md lists every key with its value and lifetime.
 * Mount keys keep the mount path's leading slash out: {@code mounts/live.mp3} holds {@code /live.mp3}.
 */
public final class Keys {
    public static final String DEFAULT_PREFIX = "/radiod/";
    public static final String NODES = "nodes/";
    public static final String MASTER = "master";
    public static final String MOUNTS = "mounts/";
    public static final String TRANSCODERS = "transcoders/";
    public static final String DRAIN = "drain/";
    public static final String TITLES = "titles/";
    public static final String KICKS = "kicks/";
    public static final String ADMIN_TOKEN = "admin/token";
    /** The cluster's certificate chain and what it is for (no private key: that is under {@link #SECRET}). */
    public static final String TLS_CERTIFICATE = "tls/certificate";
    /** An operator's request to renew the certificate now (radioctl renew-certificate). */
    public static final String TLS_RENEW = "tls/renew";
    /** How the ACME duty's last attempt went and when it tries next. */
    public static final String TLS_STATUS = "tls/status";
    /** The ACME duty's election: the node that obtains and renews the certificate. */
    public static final String ACME_HOLDER = "acme/holder";
    /** DNS-01 challenge records every node's DNS serves while an order is validated; on the renewing node's lease. */
    public static final String ACME_CHALLENGES = "acme/challenges/";
    /**
     * Keys only radiod's etcd user may read (the roles script leaves this subtree out of radioctl's ranges, and
     * {@link radiod.cluster.view.Snapshots#read} reads around it).
     */
    public static final String SECRET = "secret/";
    /** The certificate's private key (PKCS#8 PEM). */
    public static final String TLS_KEY = SECRET + "tls/key";
    /** The ACME account's key. */
    public static final String ACME_ACCOUNT = SECRET + "acme/account";

    private final String prefix;

    public Keys(String prefix) {
        if (prefix == null || prefix.isEmpty() || !prefix.startsWith("/") || !prefix.endsWith("/")) {
            throw new IllegalArgumentException("etcd key prefix must start and end with '/', got '" + prefix + "'");
        }
        this.prefix = prefix;
    }

    public String prefix() {
        return prefix;
    }

    public ByteSequence all() {
        return bytes(prefix);
    }

    public ByteSequence node(String name) {
        return bytes(prefix + NODES + name);
    }

    public ByteSequence nodes() {
        return bytes(prefix + NODES);
    }

    public ByteSequence master() {
        return bytes(prefix + MASTER);
    }

    public ByteSequence mount(String path) {
        return bytes(prefix + MOUNTS + path.substring(1));
    }

    public ByteSequence mounts() {
        return bytes(prefix + MOUNTS);
    }

    public ByteSequence transcoder(String mountPath) {
        return bytes(prefix + TRANSCODERS + mountPath.substring(1));
    }

    public ByteSequence title(String mountPath) {
        return bytes(prefix + TITLES + mountPath.substring(1));
    }

    public ByteSequence kick(String mountPath) {
        return bytes(prefix + KICKS + mountPath.substring(1));
    }

    public ByteSequence drain(String node) {
        return bytes(prefix + DRAIN + node);
    }

    public ByteSequence adminToken() {
        return bytes(prefix + ADMIN_TOKEN);
    }

    public ByteSequence tlsCertificate() {
        return bytes(prefix + TLS_CERTIFICATE);
    }

    public ByteSequence tlsKey() {
        return bytes(prefix + TLS_KEY);
    }

    public ByteSequence tlsRenew() {
        return bytes(prefix + TLS_RENEW);
    }

    public ByteSequence tlsStatus() {
        return bytes(prefix + TLS_STATUS);
    }

    public ByteSequence acmeHolder() {
        return bytes(prefix + ACME_HOLDER);
    }

    public ByteSequence acmeAccount() {
        return bytes(prefix + ACME_ACCOUNT);
    }

    public ByteSequence acmeChallenge(String id) {
        return bytes(prefix + ACME_CHALLENGES + id);
    }

    public ByteSequence acmeChallenges() {
        return bytes(prefix + ACME_CHALLENGES);
    }

    /** The first key of the {@link #SECRET} subtree. */
    public ByteSequence secrets() {
        return bytes(prefix + SECRET);
    }

    /** The first key after the {@link #SECRET} subtree (its prefix's range end). */
    public ByteSequence afterSecrets() {
        return bytes(prefix + SECRET.substring(0, SECRET.length() - 1) + (char) ('/' + 1));
    }

    /** The first key after everything under the prefix (the prefix's range end). */
    public ByteSequence end() {
        return bytes(prefix.substring(0, prefix.length() - 1) + (char) ('/' + 1));
    }

    /** A key relative to the prefix, e.g. {@code nodes/a}, or empty if the key is not under it. */
    public Optional<String> relative(ByteSequence key) {
        String k = key.toString(StandardCharsets.UTF_8);
        return k.startsWith(prefix) ? Optional.of(k.substring(prefix.length())) : Optional.empty();
    }

    public static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
