package radiod.radioctl.connect;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.Keys;

/**
 * Where radioctl finds etcd and how it names the cluster, resolved in this order: command-line flags, then
 * environment variables, then the config file, then the defaults ({@value #DEFAULT_ENDPOINT}, prefix
 * {@code /radiod/}, timeout 5 s).
 *
 * @param etcd       endpoints, prefix, credentials, TLS and the timeout on each etcd request
 * @param clusterUrl the URL listeners use, e.g. {@code http://radio.example.org}, or null if not configured
 * @param configFile the config file that was read, or null
 */
public record Settings(EtcdOptions etcd, String clusterUrl, Path configFile) {
    public static final Path DEFAULT_CONFIG = Path.of("/etc/radiod/radioctl.yml");
    public static final String DEFAULT_ENDPOINT = "http://127.0.0.1:2379";
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    public static final String ENV_CONFIG = "RADIOCTL_CONFIG";
    public static final String ENV_ENDPOINTS = "RADIOCTL_ENDPOINTS";
    public static final String ENV_PREFIX = "RADIOCTL_PREFIX";
    public static final String ENV_ETCD_USER = "RADIOCTL_ETCD_USER";
    public static final String ENV_ETCD_PASSWORD = "RADIOCTL_ETCD_PASSWORD";
    public static final String ENV_CACERT = "RADIOCTL_CACERT";
    public static final String ENV_CERT = "RADIOCTL_CERT";
    public static final String ENV_KEY = "RADIOCTL_KEY";
    public static final String ENV_TIMEOUT = "RADIOCTL_TIMEOUT";
    public static final String ENV_CLUSTER_URL = "RADIOCTL_CLUSTER_URL";

    /**
     * @param env           the environment (System.getenv() in production)
     * @param defaultConfig read if it exists and neither {@code --config} nor {@value #ENV_CONFIG} names a file
     * @throws IllegalArgumentException naming the bad setting and what is allowed
     */
    public static Settings resolve(Flags flags, Map<String, String> env, Path defaultConfig) {
        Function<String, String> envVar = name -> {
            String v = env.get(name);
            return v == null || v.isBlank() ? null : v.trim();
        };
        Path configPath = first(flags.config(), path(envVar.apply(ENV_CONFIG)));
        ConfigFile file = ConfigFile.EMPTY;
        if (configPath != null) {
            file = ConfigFile.load(configPath);
        } else if (defaultConfig != null && Files.isRegularFile(defaultConfig)) {
            configPath = defaultConfig;
            file = ConfigFile.load(defaultConfig);
        }
        ConfigFile.Etcd fe = file.etcd();

        List<String> endpoints = first(flags.endpoints(),
                envVar.apply(ENV_ENDPOINTS) == null ? null : splitEndpoints(envVar.apply(ENV_ENDPOINTS)),
                fe.endpoints() == null || fe.endpoints().isEmpty() ? null : fe.endpoints(),
                List.of(DEFAULT_ENDPOINT));
        String prefix = first(flags.prefix(), envVar.apply(ENV_PREFIX), fe.prefix(), Keys.DEFAULT_PREFIX);
        String user = first(flags.etcdUser(), envVar.apply(ENV_ETCD_USER), fe.username());
        String password = first(flags.etcdPassword(), envVar.apply(ENV_ETCD_PASSWORD), fe.password());
        Path ca = first(flags.caFile(), path(envVar.apply(ENV_CACERT)), fe.tls().caFile());
        Path cert = first(flags.certFile(), path(envVar.apply(ENV_CERT)), fe.tls().certFile());
        Path key = first(flags.keyFile(), path(envVar.apply(ENV_KEY)), fe.tls().keyFile());
        Duration timeout = flags.timeout();
        if (timeout == null && envVar.apply(ENV_TIMEOUT) != null) {
            timeout = Durations.parse(ENV_TIMEOUT, envVar.apply(ENV_TIMEOUT));
        }
        if (timeout == null && fe.timeout() != null) {
            timeout = Durations.parse("config " + configPath + ": etcd.timeout", fe.timeout());
        }
        timeout = first(timeout, DEFAULT_TIMEOUT);
        String clusterUrl = first(flags.clusterUrl(), envVar.apply(ENV_CLUSTER_URL), file.clusterUrl());

        EtcdOptions options;
        try {
            options = new EtcdOptions(endpoints, normalizePrefix(prefix), user, password, ca, cert, key, timeout);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage()
                    .replace("etcd.endpoints", "--endpoints")
                    .replace("etcd.username and etcd.password", "--etcd-user and --etcd-password")
                    .replace("etcd.tls.cert_file and etcd.tls.key_file", "--cert and --key"));
        }
        return new Settings(options, clusterUrl == null ? null : validateClusterUrl(clusterUrl), configPath);
    }

    /** {@code a,b , c} → [a, b, c]. */
    public static List<String> splitEndpoints(String csv) {
        return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    /** The cluster URL without a trailing slash; throws naming the value and the allowed form. */
    public static String validateClusterUrl(String url) {
        String allowed = ": use http://host[:port] or https://host[:port], e.g. http://radio.example.org";
        URI uri;
        try {
            uri = URI.create(url.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cluster URL '" + url + "' is not a URL" + allowed);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        boolean noPath = uri.getRawPath() == null || uri.getRawPath().isEmpty() || uri.getRawPath().equals("/");
        if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null || !noPath
                || uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException("cluster URL '" + url + "' is not valid" + allowed);
        }
        String s = uri.toString();
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    /** The prefix as etcd keys need it: a leading and trailing slash ({@code radiod} → {@code /radiod/}). */
    static String normalizePrefix(String prefix) {
        String p = prefix.startsWith("/") ? prefix : "/" + prefix;
        return p.endsWith("/") ? p : p + "/";
    }

    public Duration timeout() {
        return etcd.callTimeout();
    }

    @SafeVarargs
    private static <T> T first(T... values) {
        for (T v : values) {
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    private static Path path(String s) {
        return s == null ? null : Path.of(s);
    }
}
