package radiod.radioctl.connect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

/**
 * radioctl's config file ({@code /etc/radiod/radioctl.yml} by default). Its {@code etcd:} section has the
 * same shape as radiod.yml's, so it can be copied from there:
 *
 * <pre>
 * etcd:
 *   endpoints: [https://10.0.0.1:2379, https://10.0.0.2:2379]
 *   prefix: /radiod/
 *   username: radioctl
 *   password: secret
 *   tls: {ca_file: ca.pem, cert_file: client.pem, key_file: client-key.pem}   # relative to this file
 *   timeout: 5s
 * cluster_url: http://radio.example.org
 * </pre>
 */
public record ConfigFile(Etcd etcd, String clusterUrl) {
    private static final ObjectMapper YAML = YAMLMapper.builder(new YAMLFactory())
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
            .build();

    public static final ConfigFile EMPTY = new ConfigFile(null, null);

    public ConfigFile {
        etcd = Objects.requireNonNullElseGet(etcd, () -> new Etcd(null, null, null, null, null, null, null));
    }

    /**
     * The etcd section; {@code lease_ttl} is accepted (and ignored) so that radiod.yml's section can be
     * pasted unchanged.
     */
    public record Etcd(List<String> endpoints, String prefix, String username, String password, Tls tls,
                       String timeout, Integer leaseTtl) {
        public Etcd {
            if (endpoints != null) {
                endpoints = endpoints.stream().flatMap(e -> Settings.splitEndpoints(e).stream()).toList();
            }
            tls = Objects.requireNonNullElseGet(tls, () -> new Tls(null, null, null));
        }
    }

    public record Tls(Path caFile, Path certFile, Path keyFile) {
        Tls relativeTo(Path dir) {
            return new Tls(resolve(dir, caFile), resolve(dir, certFile), resolve(dir, keyFile));
        }

        private static Path resolve(Path dir, Path p) {
            return p == null || dir == null ? p : dir.resolve(p);
        }
    }

    /** Reads a config file; every problem is one line naming the file (and the setting). */
    public static ConfigFile load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("config " + file + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException("config " + file + ": cannot read: " + e.getMessage());
        }
        ConfigFile c = parse(file.toString(), text);
        Path dir = file.toAbsolutePath().getParent();
        Etcd e = c.etcd();
        return new ConfigFile(new Etcd(e.endpoints(), e.prefix(), e.username(), e.password(), e.tls().relativeTo(dir),
                e.timeout(), e.leaseTtl()), c.clusterUrl());
    }

    public static ConfigFile parse(String origin, String yaml) {
        if (yaml.isBlank()) {
            return EMPTY;
        }
        try {
            ConfigFile c = YAML.readValue(yaml, ConfigFile.class);
            return c == null ? EMPTY : c;
        } catch (UnrecognizedPropertyException e) {
            throw new IllegalArgumentException("config " + origin + ": " + path(e) + " is not a known setting (known here: "
                    + e.getKnownPropertyIds().stream().map(Object::toString).sorted().collect(Collectors.joining(", ")) + ")");
        } catch (JsonMappingException e) {
            if (e.getCause() instanceof StreamReadException syntax) {
                throw notYaml(origin, syntax);
            }
            if (e.getCause() instanceof IllegalArgumentException iae) {
                throw new IllegalArgumentException("config " + origin + ": " + iae.getMessage());
            }
            String field = path(e);
            throw new IllegalArgumentException("config " + origin + ": " + (field.isEmpty() ? "" : field + ": ")
                    + e.getOriginalMessage().lines().findFirst().orElse("invalid value"));
        } catch (StreamReadException e) {
            throw notYaml(origin, e);
        } catch (IOException e) {
            throw new IllegalArgumentException("config " + origin + ": cannot read: " + e.getMessage());
        }
    }

    private static IllegalArgumentException notYaml(String origin, StreamReadException e) {
        return new IllegalArgumentException("config " + origin + ": not valid YAML: "
                + e.getOriginalMessage().lines().findFirst().orElse("")
                + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
    }

    private static String path(JsonMappingException e) {
        return e.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[");
    }
}
