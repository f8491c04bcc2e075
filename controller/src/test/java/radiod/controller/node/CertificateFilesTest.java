package radiod.controller.node;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import radiod.controller.config.RadiodConfig;
import radiod.redirector.tls.ServerTls;
import radiod.testkit.TlsAuthority;

/**
 * The certificate files: read at start (a pair that cannot be served stops the start, naming the field), then
 * watched: a pair replaced by rename, as certbot renews, is served within seconds; a bad pair is refused and the last
 * good certificate stays.
 */
class CertificateFilesTest {
    @TempDir
    static Path shared;
    static TlsAuthority ca;

    @BeforeAll
    static void authority() throws Exception {
        ca = TlsAuthority.create(Files.createDirectories(shared.resolve("ca")), "files");
    }

    static RadiodConfig.TlsPorts config(Path cert, Path key) {
        return new RadiodConfig.TlsPorts(0, 0, cert, key);
    }

    /** Puts the issued pair at the paths the way a renewer does: written aside, then renamed over. */
    static void install(TlsAuthority.Issued issued, Path cert, Path key) throws Exception {
        Path tmpCert = cert.resolveSibling(cert.getFileName() + ".new");
        Path tmpKey = key.resolveSibling(key.getFileName() + ".new");
        Files.copy(issued.chain(), tmpCert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(issued.key(), tmpKey, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmpCert, cert, StandardCopyOption.ATOMIC_MOVE);
        Files.move(tmpKey, key, StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void withoutFilesThereIsNothingToCheckAtStartWhetherTlsIsOffOrByAcme() {
        CertificateFiles.check(new RadiodConfig.TlsPorts(0, 0, null, null, null));
        CertificateFiles.check(new RadiodConfig.TlsPorts(0, 0, null, null,
                radiod.controller.tls.AcmeSettings.of("https://127.0.0.1:14000/dir")));
    }

    @Test
    void aPairThatCannotBeServedStopsTheStartNamingTheField(@TempDir Path dir) throws Exception {
        Path cert = dir.resolve("fullchain.pem");
        Path key = dir.resolve("privkey.pem");
        ServerTls tls = new ServerTls(new SimpleMeterRegistry());

        IllegalStateException missing = assertThrows(IllegalStateException.class,
                () -> new CertificateFiles(config(cert, key), tls).load());
        assertEquals("tls.certificate_file: cannot read " + cert + ": no such file", missing.getMessage());

        TlsAuthority.Issued good = ca.issue("start-good", List.of("node1.radio.test"));
        Files.copy(good.chain(), cert);
        IllegalStateException noKey = assertThrows(IllegalStateException.class,
                () -> new CertificateFiles(config(cert, key), tls).load());
        assertEquals("tls.key_file: cannot read " + key + ": no such file", noKey.getMessage());

        Instant now = Instant.now();
        TlsAuthority.Issued expired = ca.issue("start-expired", List.of("node1.radio.test"), now.minusSeconds(86400 * 3),
                now.minusSeconds(86400), TlsAuthority.KeyFormat.RSA_PKCS1);
        install(expired, cert, key);
        IllegalStateException old = assertThrows(IllegalStateException.class,
                () -> new CertificateFiles(config(cert, key), tls).load());
        assertTrue(old.getMessage().startsWith("tls.certificate_file " + cert + " and tls.key_file " + key + ": refused (expired)"),
                old.getMessage());
        assertThrows(IllegalStateException.class, () -> CertificateFiles.check(config(cert, key)), "--check-config too");
        assertTrue(tls.current().isEmpty(), "nothing served");

        Files.copy(good.key(), key, StandardCopyOption.REPLACE_EXISTING);
        IllegalStateException mixed = assertThrows(IllegalStateException.class,
                () -> new CertificateFiles(config(cert, key), tls).load());
        assertTrue(mixed.getMessage().contains("refused (key_mismatch)"), mixed.getMessage());

        install(good, cert, key);
        CertificateFiles.check(config(cert, key));
        new CertificateFiles(config(cert, key), tls).load();
        assertEquals(good.serial(), tls.current().orElseThrow().serial());
        assertTrue(tls.current().orElseThrow().origin().contains(cert.toString()));
    }

    @Test
    void aRenewedPairIsServedWithoutARestartAndABadOneIsRefusedKeepingTheLastGood(@TempDir Path dir) throws Exception {
        Path cert = dir.resolve("fullchain.pem");
        Path key = dir.resolve("privkey.pem");
        TlsAuthority.Issued first = ca.issue("watch-first", List.of("*.radio.test"));
        install(first, cert, key);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ServerTls tls = new ServerTls(registry);
        try (CertificateFiles files = new CertificateFiles(config(cert, key), tls)) {
            files.load();
            files.watch();
            assertEquals(first.serial(), tls.current().orElseThrow().serial());

            TlsAuthority.Issued renewed = ca.issue("watch-renewed", List.of("*.radio.test"), Instant.now().minusSeconds(60),
                    Instant.now().plusSeconds(90 * 86400), TlsAuthority.KeyFormat.EC_SEC1);
            install(renewed, cert, key);
            await().atMost(Duration.ofSeconds(5)).until(() -> tls.current().orElseThrow().serial().equals(renewed.serial()));

            // The key of another certificate: refused once, the renewed one stays.
            TlsAuthority.Issued other = ca.issue("watch-other", List.of("*.radio.test"));
            Files.copy(other.key(), key, StandardCopyOption.REPLACE_EXISTING);
            await().atMost(Duration.ofSeconds(5)).until(() ->
                    registry.get("radiod.tls.certificate.refused").tag("reason", "key_mismatch").counter().count() == 1);
            assertEquals(renewed.serial(), tls.current().orElseThrow().serial());

            // A file that goes away (mid-rename) keeps the certificate too; the next good pair is served.
            Files.delete(cert);
            TlsAuthority.Issued third = ca.issue("watch-third", List.of("*.radio.test"));
            install(third, cert, key);
            await().atMost(Duration.ofSeconds(5)).until(() -> tls.current().orElseThrow().serial().equals(third.serial()));
            assertEquals(1, registry.get("radiod.tls.certificate.refused").tag("reason", "key_mismatch").counter().count(),
                    "the bad pair was refused once, not every second");
            assertEquals(3, registry.get("radiod.tls.certificate.applied").counter().count());
        }
    }
}
