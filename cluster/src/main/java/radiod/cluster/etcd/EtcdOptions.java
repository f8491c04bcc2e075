package radiod.cluster.etcd;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

import radiod.cluster.model.Redact;

/**
 * How to reach etcd: endpoints, optional user/password and TLS, radiod's key prefix, and the timeout
 * put on every call (so nothing hangs when etcd is away).
 *
 * @param endpoints   e.g. {@code http://127.0.0.1:2379}; {@code https://} when TLS is used
 * @param prefix      key prefix, default {@code /radiod/}
 * @param username    etcd user, or null
 * @param password    etcd password, or null
 * @param caFile      PEM CA to verify the etcd server, or null
 * @param certFile    PEM client certificate, or null
 * @param keyFile     PEM client key (PKCS#8), or null
 * @param callTimeout timeout put on each etcd request
 */
public record EtcdOptions(List<String> endpoints, String prefix, String username, String password, Path caFile,
                          Path certFile, Path keyFile, Duration callTimeout) {
    public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(2);

    public EtcdOptions {
        endpoints = List.copyOf(Objects.requireNonNullElse(endpoints, List.of()));
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("etcd.endpoints: at least one endpoint is needed, e.g. http://127.0.0.1:2379");
        }
        for (String e : endpoints) {
            URI uri;
            try {
                uri = URI.create(e);
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("etcd.endpoints: '" + Redact.url(e)
                        + "' is not a URL: use http://host:port or https://host:port");
            }
            if (uri.getHost() == null || uri.getPort() < 1
                    || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
                throw new IllegalArgumentException("etcd.endpoints: '" + Redact.url(e)
                        + "' is not valid: use http://host:port or https://host:port");
            }
        }
        prefix = Objects.requireNonNullElse(prefix, Keys.DEFAULT_PREFIX);
        new Keys(prefix);
        if ((username == null) != (password == null)) {
            throw new IllegalArgumentException("etcd.username and etcd.password must be given together");
        }
        if ((certFile == null) != (keyFile == null)) {
            throw new IllegalArgumentException("etcd.tls.cert_file and etcd.tls.key_file must be given together");
        }
        for (Path p : new Path[] {caFile, certFile, keyFile}) {
            if (p != null && !Files.isReadable(p)) {
                throw new IllegalArgumentException("etcd TLS file " + p + " is not readable");
            }
        }
        callTimeout = Objects.requireNonNullElse(callTimeout, DEFAULT_CALL_TIMEOUT);
        if (callTimeout.isNegative() || callTimeout.isZero()) {
            throw new IllegalArgumentException("etcd call timeout must be positive, got " + callTimeout);
        }
    }

    public static EtcdOptions of(List<String> endpoints) {
        return new EtcdOptions(endpoints, Keys.DEFAULT_PREFIX, null, null, null, null, null, null);
    }

    public EtcdOptions withPrefix(String newPrefix) {
        return new EtcdOptions(endpoints, newPrefix, username, password, caFile, certFile, keyFile, callTimeout);
    }

    /** The same options for a subset of the endpoints (a client that must keep away from a member). */
    public EtcdOptions withEndpoints(List<String> newEndpoints) {
        return new EtcdOptions(newEndpoints, prefix, username, password, caFile, certFile, keyFile, callTimeout);
    }

    public boolean usesTls() {
        return caFile != null || certFile != null || endpoints.stream().anyMatch(e -> e.startsWith("https:"));
    }

    public Keys keys() {
        return new Keys(prefix);
    }
}
