package radiod.radioctl.connect;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The connection settings given on the command line; null where a flag was not given, so that the
 * environment, then the config file, then the defaults fill in.
 */
public record Flags(List<String> endpoints, String prefix, String etcdUser, String etcdPassword, Path caFile,
                    Path certFile, Path keyFile, Duration timeout, Path config, String clusterUrl) {
    public static final Flags NONE = new Flags(null, null, null, null, null, null, null, null, null, null);

    public Flags {
        endpoints = endpoints == null || endpoints.isEmpty() ? null : List.copyOf(endpoints);
    }
}
