package radiod.controller.tls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.shredzone.acme4j.util.CSRBuilder;
import org.shredzone.acme4j.util.CertificateUtils;
import org.shredzone.acme4j.util.KeyPairUtils;

import radiod.cluster.tls.TlsCertificate;
import radiod.cluster.tls.TlsKey;

/** Certificate chains made on the spot (acme4j's test helpers), for the loader's and the status's tests. */
final class TestChains {
    /** A leaf, its key, and what would be stored in etcd for them. */
    record Issued(List<X509Certificate> chain, KeyPair key, TlsCertificate certificate, TlsKey tlsKey) {
    }

    /** RSA: acme4j's test certificates are signed with SHA256withRSA. */
    private static final KeyPair ROOT_KEY = KeyPairUtils.createKeyPair(2048);
    private static final X509Certificate ROOT = CertificateUtils.createTestRootCertificate("CN=radiod test root",
            Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(400)), ROOT_KEY);

    private TestChains() {
    }

    static Issued issue(Instant notBefore, Instant notAfter, String... names) {
        try {
            KeyPair key = AcmeOrder.newKeyPair();
            CSRBuilder csr = new CSRBuilder();
            csr.addDomains(names);
            csr.sign(key);
            X509Certificate leaf = CertificateUtils.createTestCertificate(csr.getCSR(), notBefore, notAfter, ROOT,
                    ROOT_KEY.getPrivate());
            List<X509Certificate> chain = List.of(leaf, ROOT);
            TlsCertificate certificate = AcmeDuty.describe(chain, "node1");
            return new Issued(chain, key, certificate, new TlsKey(Pem.privateKey(key.getPrivate()), certificate.serial()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Valid from yesterday for 90 days. */
    static Issued issue(String... names) {
        Instant now = Instant.now();
        return issue(now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(89)), names);
    }
}
