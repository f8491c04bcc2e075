package radiod.radioctl.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * radioctl's connection settings come from flags, then the environment, then the config file, then the defaults;
 * mistakes name the file and the setting.
 */
class SettingsTest {
    @TempDir
    Path dir;

    private Path config(String yaml) throws IOException {
        Path p = dir.resolve("radioctl.yml");
        Files.writeString(p, yaml);
        return p;
    }

    private static Flags endpointsFlag(String... endpoints) {
        return new Flags(List.of(endpoints), null, null, null, null, null, null, null, null, null);
    }

    @Test
    void withNothingGivenTheDefaultsApply() {
        Settings s = Settings.resolve(Flags.NONE, Map.of(), dir.resolve("absent.yml"));
        assertEquals(List.of("http://127.0.0.1:2379"), s.etcd().endpoints());
        assertEquals("/radiod/", s.etcd().prefix());
        assertEquals(Duration.ofSeconds(5), s.timeout());
        assertNull(s.etcd().username());
        assertNull(s.clusterUrl());
        assertNull(s.configFile());
    }

    @Test
    void flagsBeatTheEnvironmentWhichBeatsTheFileWhichBeatsTheDefaults() throws IOException {
        Path file = config("""
                etcd:
                  endpoints: [http://10.0.0.1:2379, http://10.0.0.2:2379]
                  prefix: /file/
                  username: fileuser
                  password: filepw
                  timeout: 7s
                  lease_ttl: 5
                cluster_url: http://file.example.org
                """);
        Map<String, String> env = Map.of("RADIOCTL_ENDPOINTS", "http://10.1.1.1:2379, http://10.1.1.2:2379",
                "RADIOCTL_PREFIX", "envprefix", "RADIOCTL_TIMEOUT", "900ms");

        Settings fileOnly = Settings.resolve(Flags.NONE, Map.of(), file);
        assertEquals(List.of("http://10.0.0.1:2379", "http://10.0.0.2:2379"), fileOnly.etcd().endpoints());
        assertEquals("/file/", fileOnly.etcd().prefix());
        assertEquals("fileuser", fileOnly.etcd().username());
        assertEquals(Duration.ofSeconds(7), fileOnly.timeout());
        assertEquals("http://file.example.org", fileOnly.clusterUrl());
        assertEquals(file, fileOnly.configFile());

        Settings envOverFile = Settings.resolve(Flags.NONE, env, file);
        assertEquals(List.of("http://10.1.1.1:2379", "http://10.1.1.2:2379"), envOverFile.etcd().endpoints());
        assertEquals("/envprefix/", envOverFile.etcd().prefix());
        assertEquals(Duration.ofMillis(900), envOverFile.timeout());
        assertEquals("fileuser", envOverFile.etcd().username(), "not in the environment: from the file");

        Settings flagsOverAll = Settings.resolve(new Flags(List.of("http://127.0.0.9:1234"), "/flag/", "u", "p", null,
                null, null, Duration.ofSeconds(2), null, "https://flag.example.org:8443/"), env, file);
        assertEquals(List.of("http://127.0.0.9:1234"), flagsOverAll.etcd().endpoints());
        assertEquals("/flag/", flagsOverAll.etcd().prefix());
        assertEquals("u", flagsOverAll.etcd().username());
        assertEquals(Duration.ofSeconds(2), flagsOverAll.timeout());
        assertEquals("https://flag.example.org:8443", flagsOverAll.clusterUrl());
    }

    @Test
    void aConfigFileNamedByFlagOrEnvironmentMustExist() {
        Path missing = dir.resolve("nope.yml");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Settings.resolve(
                new Flags(null, null, null, null, null, null, null, null, missing, null), Map.of(), null));
        assertEquals("config " + missing + ": no such file", e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Settings.resolve(Flags.NONE, Map.of("RADIOCTL_CONFIG", missing.toString()), null));
    }

    @Test
    void configFileMistakesNameTheFileAndTheSetting() throws IOException {
        Path typo = config("etcd:\n  endpoint: http://x:1\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Settings.resolve(Flags.NONE, Map.of(), typo));
        assertTrue(e.getMessage().startsWith("config " + typo + ": etcd.endpoint is not a known setting (known here: "),
                e.getMessage());

        Path badYaml = config("etcd:\n  prefix: a: b\n");
        e = assertThrows(IllegalArgumentException.class, () -> Settings.resolve(Flags.NONE, Map.of(), badYaml));
        assertTrue(e.getMessage().startsWith("config " + badYaml + ": not valid YAML"), e.getMessage());

        Path badTimeout = config("etcd:\n  timeout: soon\n");
        e = assertThrows(IllegalArgumentException.class, () -> Settings.resolve(Flags.NONE, Map.of(), badTimeout));
        assertEquals("config " + badTimeout + ": etcd.timeout 'soon' is not a duration: use e.g. 5s, 500ms, 1m or 5 (seconds)",
                e.getMessage());
    }

    @Test
    void tlsFilesInTheConfigAreRelativeToItAndMustBeReadable() throws IOException {
        Files.writeString(dir.resolve("ca.pem"), "x");
        Path file = config("etcd:\n  endpoints: https://10.0.0.1:2379\n  tls:\n    ca_file: ca.pem\n");
        assertEquals(dir.resolve("ca.pem"), Settings.resolve(Flags.NONE, Map.of(), file).etcd().caFile());

        Path missing = config("etcd:\n  tls:\n    ca_file: missing.pem\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Settings.resolve(Flags.NONE, Map.of(), missing));
        assertTrue(e.getMessage().contains("missing.pem is not readable"), e.getMessage());
    }

    @Test
    void badEndpointsAndClusterUrlsSayWhatIsAllowed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Settings.resolve(endpointsFlag("127.0.0.1:2379"), Map.of(), null));
        assertEquals("--endpoints: '127.0.0.1:2379' is not a URL: use http://host:port or https://host:port", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Settings.resolve(Flags.NONE,
                Map.of("RADIOCTL_CLUSTER_URL", "http://radio.example.org/live"), null));
        assertEquals("cluster URL 'http://radio.example.org/live' is not valid: use http://host[:port] or "
                + "https://host[:port], e.g. http://radio.example.org", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Settings.resolve(new Flags(null, null, "root", null, null, null, null, null, null, null), Map.of(), null));
        assertEquals("--etcd-user and --etcd-password must be given together", e.getMessage());
    }

    @Test
    void durationsTakeTheUsualUnits() {
        assertEquals(Duration.ofSeconds(5), Durations.parse("t", "5"));
        assertEquals(Duration.ofSeconds(5), Durations.parse("t", "5s"));
        assertEquals(Duration.ofMillis(250), Durations.parse("t", "250ms"));
        assertEquals(Duration.ofMillis(1500), Durations.parse("t", "1.5s"));
        assertEquals(Duration.ofMinutes(1), Durations.parse("t", "1m"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("t", "0"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("t", "1h"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("t", "10m"));
    }
}
