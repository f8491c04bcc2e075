package radiod.controller.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tls.acme's settings: defaults, and a clear error naming the field for each bad one. */
class AcmeSettingsTest {
    static String error(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void defaults() {
        AcmeSettings s = AcmeSettings.of("https://127.0.0.1:14000/dir");
        assertEquals(Duration.ofDays(30), s.renewBefore());
        assertNull(s.email());
        assertNull(s.caFile());
        assertNull(s.withEmail("  ").email(), "an empty address is none");
        assertEquals("acme://letsencrypt.org/staging", AcmeSettings.of("acme://letsencrypt.org/staging").directory());
    }

    @Test
    void readFromYamlAsRadiodConfigReadsItsSections() throws Exception {
        var yaml = com.fasterxml.jackson.dataformat.yaml.YAMLMapper.builder()
                .propertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE)
                .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();
        AcmeSettings s = yaml.readValue("""
                directory: https://127.0.0.1:14000/dir
                email: hostmaster@radio.test
                ca_file: /etc/radiod/pebble-ca.pem
                renew_before_days: 20
                """, AcmeSettings.class);
        assertEquals(new AcmeSettings("https://127.0.0.1:14000/dir", "hostmaster@radio.test",
                Path.of("/etc/radiod/pebble-ca.pem"), 20), s);
        assertEquals(Duration.ofDays(20), s.renewBefore());
        assertEquals(Duration.ofDays(30), yaml.readValue("directory: https://ca/dir\n", AcmeSettings.class).renewBefore());
    }

    @Test
    void badValuesAreRefusedNamingTheField() {
        assertTrue(error(() -> new AcmeSettings(null, null, null, null)).startsWith("tls.acme.directory is required"));
        assertTrue(error(() -> AcmeSettings.of("http://127.0.0.1:14000/dir")).startsWith("tls.acme.directory must be an https://"));
        assertTrue(error(() -> AcmeSettings.of("not a url")).startsWith("tls.acme.directory"));
        assertTrue(error(() -> AcmeSettings.of("https:///dir")).startsWith("tls.acme.directory"));
        assertTrue(error(() -> AcmeSettings.of("https://ca/dir").withEmail("nobody")).startsWith("tls.acme.email: 'nobody'"));
        assertTrue(error(() -> new AcmeSettings("https://ca/dir", null, null, 0)).startsWith("tls.acme.renew_before_days"));
        assertTrue(error(() -> new AcmeSettings("https://ca/dir", null, null, 400)).startsWith("tls.acme.renew_before_days"));
        assertTrue(error(() -> AcmeSettings.of("acme://letsencrypt.org").withCaFile(Path.of("/x.pem")))
                .startsWith("tls.acme.ca_file needs an https://"));
    }

    @Test
    void aCaFileThatIsMissingOrHoldsNoCertificateIsRefusedNamingIt(@TempDir Path dir) throws Exception {
        assertTrue(error(() -> AcmeTrust.context(dir.resolve("missing.pem"))).startsWith("tls.acme.ca_file: "
                + dir.resolve("missing.pem") + ": no such file"));
        Path junk = Files.writeString(dir.resolve("junk.pem"), "hello\n");
        String e = error(() -> AcmeTrust.context(junk));
        assertTrue(e.startsWith("tls.acme.ca_file: " + junk + ": "), e);
        Path good = Files.writeString(dir.resolve("ca.pem"), Pem.certificates(TestChains.issue("radio.test").chain()));
        assertEquals("TLS", AcmeTrust.context(good).getProtocol());
    }
}
