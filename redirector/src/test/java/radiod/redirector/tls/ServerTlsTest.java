package radiod.redirector.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.ssl.NotSslRecordException;
import radiod.testkit.TlsAuthority;
import radiod.testkit.TlsAuthority.Issued;
import radiod.testkit.TlsAuthority.KeyFormat;

/**
 * {@link ServerTls}: PEM material in every key format a renewer writes is served; what cannot be served (unreadable,
 * another certificate's key, expired, not yet valid) is refused with its reason, counted, and the last good
 * certificate stays; failed handshakes are counted each and logged at most once per cause.
 */
class ServerTlsTest {
    static Path dir;
    static TlsAuthority ca;
    static Issued good;
    static Issued other;

    @BeforeAll
    static void authority() throws Exception {
        dir = Files.createTempDirectory("radiod-tls-test-");
        ca = TlsAuthority.create(dir, "unit");
        good = ca.issue("good", List.of("node1.radio.test", "*.radio.test"));
        other = ca.issue("other", List.of("node2.radio.test"));
    }

    @AfterAll
    static void clean() throws Exception {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static double refused(SimpleMeterRegistry r, String reason) {
        return r.get("radiod.tls.certificate.refused").tag("reason", reason).counter().count();
    }

    @Test
    void everyKeyFormatIsServedAndDescribed() {
        Instant now = Instant.now();
        for (KeyFormat f : KeyFormat.values()) {
            Issued i = ca.issue("fmt-" + f, List.of("node1.radio.test", "*.radio.test"), now.minusSeconds(60),
                    now.plusSeconds(86400), f);
            ServerTls tls = new ServerTls(new SimpleMeterRegistry());
            ServerTls.Result r = tls.apply(i.chainPem(), i.keyPem(), "files of " + f);
            assertEquals(ServerTls.Status.APPLIED, r.status(), f + ": " + r);
            assertEquals(List.of("node1.radio.test", "*.radio.test"), tls.names());
            assertEquals("radiod test CA unit", tls.issuer().orElseThrow());
            assertEquals(i.serial(), tls.current().orElseThrow().serial());
            assertEquals(2, tls.current().orElseThrow().chain().size(), "leaf and CA");
            assertTrue(Math.abs(tls.notAfter().orElseThrow().getEpochSecond() - now.plusSeconds(86400).getEpochSecond()) <= 1);
            assertTrue(tls.sslOptions().isPresent());
        }
    }

    @Test
    void theSameMaterialAgainChangesNothingAndTellsTheServersNothing() {
        ServerTls tls = new ServerTls(new SimpleMeterRegistry());
        List<Object> told = new java.util.ArrayList<>();
        tls.onChange(told::add);
        assertEquals(ServerTls.Status.APPLIED, tls.apply(good.chainPem(), good.keyPem(), "a").status());
        assertEquals(ServerTls.Status.UNCHANGED, tls.apply(good.chainPem(), good.keyPem(), "b").status());
        assertEquals(1, told.size());
        assertEquals(ServerTls.Status.APPLIED, tls.apply(other.chainPem(), other.keyPem(), "c").status());
        assertEquals(2, told.size());
        assertEquals(other.serial(), tls.current().orElseThrow().serial());
    }

    @Test
    void badMaterialIsRefusedWithItsReasonAndTheLastGoodCertificateStays() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ServerTls tls = new ServerTls(registry);
        List<Object> told = new java.util.ArrayList<>();
        tls.onChange(told::add);
        // Nothing yet: refused material leaves the ports without a certificate.
        ServerTls.Result first = tls.apply(good.chainPem(), other.keyPem(), "mismatched files");
        assertEquals(CertificateRefused.KEY_MISMATCH, first.reason(), first.toString());
        assertTrue(tls.current().isEmpty() && tls.sslOptions().isEmpty());

        assertTrue(tls.apply(good.chainPem(), good.keyPem(), "good files").ok());
        Instant now = Instant.now();
        Issued expired = ca.issue("expired", List.of("node1.radio.test"), now.minusSeconds(7 * 86400),
                now.minusSeconds(86400), KeyFormat.EC_PKCS8);
        Issued early = ca.issue("early", List.of("node1.radio.test"), now.plusSeconds(86400), now.plusSeconds(2 * 86400),
                KeyFormat.EC_SEC1);
        String keyInChain = good.chainPem() + good.keyPem();
        String encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQww\n"
                + "-----END ENCRYPTED PRIVATE KEY-----\n";
        String[] lines = good.chainPem().split("\n", -1);
        lines[1] = "AAAAAAAA" + lines[1].substring(8); // the leaf's DER starts with zeros: no certificate
        String corrupt = String.join("\n", lines);
        Object[][] cases = {
                {expired.chainPem(), expired.keyPem(), CertificateRefused.EXPIRED},
                {early.chainPem(), early.keyPem(), CertificateRefused.NOT_YET_VALID},
                {good.chainPem(), other.keyPem(), CertificateRefused.KEY_MISMATCH},
                {"", good.keyPem(), CertificateRefused.UNREADABLE},
                {"not pem at all", good.keyPem(), CertificateRefused.UNREADABLE},
                {good.chainPem(), "", CertificateRefused.UNREADABLE},
                {good.chainPem(), good.chainPem(), CertificateRefused.UNREADABLE},
                {keyInChain, good.keyPem(), CertificateRefused.UNREADABLE},
                {good.chainPem(), encrypted, CertificateRefused.UNREADABLE},
                {corrupt, good.keyPem(), CertificateRefused.UNREADABLE},
                {good.chainPem(), good.keyPem().replace("PRIVATE KEY-----\n", "PRIVATE KEY-----\n!!"),
                        CertificateRefused.UNREADABLE},
                {null, null, CertificateRefused.UNREADABLE},
        };
        for (Object[] c : cases) {
            ServerTls.Result r = tls.apply((String) c[0], (String) c[1], "case " + c[2]);
            assertEquals(ServerTls.Status.REFUSED, r.status(), r.toString());
            assertEquals(c[2], r.reason(), r.message());
            assertFalse(r.message().isBlank());
            assertEquals(good.serial(), tls.current().orElseThrow().serial(), "still the last good one");
        }
        assertEquals(1, told.size(), "servers were only told of the good certificate");
        assertEquals(1, refused(registry, CertificateRefused.EXPIRED));
        assertEquals(1, refused(registry, CertificateRefused.NOT_YET_VALID));
        assertEquals(2, refused(registry, CertificateRefused.KEY_MISMATCH));
        assertEquals(9, refused(registry, CertificateRefused.UNREADABLE));
        assertEquals(1, registry.get("radiod.tls.certificate.applied").counter().count());
    }

    @Test
    void whatIsCountedBeforeTheMetersAreRegisteredIsCarriedOver() {
        ServerTls tls = new ServerTls(); // a node reads its certificate files before Vert.x sets up its registry
        tls.apply(good.chainPem(), other.keyPem(), "mismatched");
        tls.apply(good.chainPem(), good.keyPem(), "good");
        tls.handshakeFailed("https", new NotSslRecordException("x"));
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        tls.meters(registry);
        assertEquals(1, refused(registry, CertificateRefused.KEY_MISMATCH));
        assertEquals(0, refused(registry, CertificateRefused.EXPIRED));
        assertEquals(1, registry.get("radiod.tls.certificate.applied").counter().count());
        tls.handshakeFailed("https", new NotSslRecordException("x"));
        assertEquals(2, registry.get("radiod.tls.handshake.failures").tag("port", "https").tag("cause", "not_tls")
                .counter().count());
        assertEquals(tls.notAfter().orElseThrow().getEpochSecond(),
                (long) registry.get("radiod.tls.certificate.expiry").gauge().value());
    }

    @Test
    void theExpiryGaugesFollowTheServedCertificate() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ServerTls tls = new ServerTls(registry);
        assertTrue(Double.isNaN(registry.get("radiod.tls.certificate.expiry").gauge().value()));
        tls.apply(good.chainPem(), good.keyPem(), "files");
        double expiry = registry.get("radiod.tls.certificate.expiry").gauge().value();
        assertEquals(tls.notAfter().orElseThrow().getEpochSecond(), (long) expiry);
        double remaining = registry.get("radiod.tls.certificate.remaining").gauge().value();
        assertTrue(remaining > 86400 && remaining <= 2 * 86400, "remaining " + remaining);
    }

    @Test
    void failedHandshakesAreEachCountedAndLoggedOncePerCause() {
        Logger logger = (Logger) LoggerFactory.getLogger(ServerTls.class);
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        try {
            ServerTls tls = new ServerTls(new SimpleMeterRegistry());
            for (int i = 0; i < 100; i++) {
                tls.handshakeFailed("https", new io.netty.handler.codec.DecoderException(new NotSslRecordException("not an SSL/TLS record: 474554")));
                tls.handshakeFailed("https", new javax.net.ssl.SSLHandshakeException("Insufficient buffer remaining"));
                tls.handshakeFailed("source", new NotSslRecordException("x"));
            }
            assertEquals(100, tls.handshakeFailures("https", "not_tls"));
            assertEquals(100, tls.handshakeFailures("https", "handshake"));
            assertEquals(100, tls.handshakeFailures("source", "not_tls"));
            assertEquals(3, lines.list.size(), lines.list.toString());
            assertTrue(lines.list.stream().allMatch(e -> e.getThrowableProxy() == null), "no stack traces");
            assertTrue(lines.list.get(0).getFormattedMessage().contains("does not speak TLS"), lines.list.get(0)::getFormattedMessage);
        } finally {
            logger.detachAppender(lines);
        }
    }
}
