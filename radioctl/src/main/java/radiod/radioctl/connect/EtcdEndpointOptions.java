package radiod.radioctl.connect;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * Where etcd is and how radioctl reaches it: endpoints, key prefix, TLS files, the per-request timeout, the
 * config file, and the URL listeners use. A picocli mixin of the top command whose options every command
 * inherits, before or after its name.
 */
public final class EtcdEndpointOptions {
    @Option(names = "--endpoints", split = ",", paramLabel = "URL", scope = ScopeType.INHERIT, order = 100,
            description = "etcd endpoints, comma-separated (default: " + Settings.DEFAULT_ENDPOINT + ")")
    List<String> endpoints;

    @Option(names = "--prefix", paramLabel = "PREFIX", scope = ScopeType.INHERIT, order = 101,
            description = "radiod's etcd key prefix (default: /radiod/)")
    String prefix;

    @Option(names = "--cacert", paramLabel = "FILE", scope = ScopeType.INHERIT, order = 104,
            description = "PEM CA certificate that signed etcd's server certificate")
    Path caFile;

    @Option(names = "--cert", paramLabel = "FILE", scope = ScopeType.INHERIT, order = 105,
            description = "PEM client certificate for etcd, with --key")
    Path certFile;

    @Option(names = "--key", paramLabel = "FILE", scope = ScopeType.INHERIT, order = 106,
            description = "PEM (PKCS#8) client key for etcd")
    Path keyFile;

    @Option(names = "--timeout", paramLabel = "DURATION", scope = ScopeType.INHERIT, order = 107,
            converter = DurationConverter.class,
            description = "how long each etcd request may take, e.g. 5s, 500ms (default: 5s)")
    Duration timeout;

    @Option(names = "--config", paramLabel = "FILE", scope = ScopeType.INHERIT, order = 108,
            description = "YAML config file (default: /etc/radiod/radioctl.yml if present)")
    Path config;

    @Option(names = "--cluster-url", paramLabel = "URL", scope = ScopeType.INHERIT, order = 109,
            description = "the URL listeners use, e.g. http://radio.example.org (default: live nodes' addresses)")
    String clusterUrl;

    /** These flags with the etcd user and password given (or read) by {@link EtcdCredentialOptions}. */
    public Flags flags(String etcdUser, String etcdPassword) {
        return new Flags(endpoints, prefix, etcdUser, etcdPassword, caFile, certFile, keyFile, timeout, config, clusterUrl);
    }

    /** Converts {@code --timeout}. */
    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return Durations.parse("--timeout", value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
