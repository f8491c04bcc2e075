package radiod.radioctl.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import radiod.cluster.tls.AcmeHolder;
import radiod.cluster.tls.AcmeStatus;
import radiod.cluster.tls.RenewRequest;
import radiod.cluster.tls.TlsCertificate;
import radiod.cluster.tls.TlsState;
import radiod.cluster.view.ClusterSnapshot;

/** The certificate and its renewal in {@code radioctl status}. */
class StatusTlsTest {
    static final long T = 1_767_225_600_000L; // 2026-01-01T00:00:00Z
    static final long DAY = 86_400_000L;
    static final TlsCertificate CERT = new TlsCertificate("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            List.of("radio.example.org", "*.radio.example.org"), "CN=Pebble Intermediate CA 1a2b3c", T - DAY, T + 89 * DAY,
            "5f3e2a", "node1", T - DAY);

    static TlsState state(TlsCertificate c, AcmeHolder holder, AcmeStatus status, long renewRevision) {
        return new TlsState(Optional.ofNullable(c), c == null ? 0 : 10, Optional.empty(), Optional.ofNullable(holder),
                Optional.ofNullable(status), Map.of(), renewRevision == 0 ? Optional.empty()
                : Optional.of(new RenewRequest("radioctl", T)), renewRevision);
    }

    static String render(TlsState t) {
        return StatusReport.renderTls(StatusReport.tls(t), T);
    }

    @Test
    void theCertificateItsIssuerExpiryAndWhoRenewsIt() {
        AcmeStatus ok = new AcmeStatus("node2", T - DAY, AcmeStatus.OK, "", T + 59 * DAY, 0, T - DAY, 0);
        assertEquals("""
                certificate: radio.example.org, *.radio.example.org; expires 2026-03-31T00:00:00Z (in 89 days)
                  issued by CN=Pebble Intermediate CA 1a2b3c, serial 5f3e2a; obtained by node1 at 2025-12-31T00:00:00Z
                renewal: by node2; last attempt 2025-12-31T00:00:00Z: ok; renews from 2026-03-01T00:00:00Z
                """, render(state(CERT, new AcmeHolder("node2", T), ok, 0)));
    }

    @Test
    void aFailedAttemptShowsWhyAndWhenTheNextOneIsAndAnOutstandingRequestIsSaid() {
        AcmeStatus failed = new AcmeStatus("node2", T - 60_000, AcmeStatus.FAILED,
                "the CA could not validate *.radio.example.org by DNS-01: No TXT records found", T + 30_000, 3, 0, 11);
        String out = render(state(null, new AcmeHolder("node2", T), failed, 11));
        assertEquals("""
                certificate: none yet
                renewal: by node2; last attempt 2025-12-31T23:59:00Z: FAILED (3 in a row): the CA could not validate \
                *.radio.example.org by DNS-01: No TXT records found; next attempt 2026-01-01T00:00:30Z; a renewal was \
                requested (radioctl renew-certificate) and is not done yet
                """, out);
    }

    @Test
    void anExpiredCertificateAndNoHolderAreSaid() {
        TlsCertificate expired = new TlsCertificate(CERT.chain(), CERT.names(), "", T - 90 * DAY, T - 1, "1", "node1",
                T - 90 * DAY);
        String out = render(state(expired, null, null, 0));
        assertTrue(out.contains("(EXPIRED)"), out);
        assertTrue(out.contains("issued by (unknown)"), out);
        assertTrue(out.endsWith("renewal: no node holds the ACME duty (tls.acme is not configured, or no node is up)\n"), out);
    }

    @Test
    void aClusterWithoutTlsShowsNoCertificateLines() {
        StatusReport r = StatusReport.of(ClusterSnapshot.EMPTY);
        assertNull(r.tls());
        assertFalse(r.render().contains("certificate"), r.render());
        StatusReport with = StatusReport.of(ClusterSnapshot.EMPTY.withTls(state(CERT, new AcmeHolder("node2", T), null, 0)));
        assertTrue(with.render().contains("certificate: radio.example.org, *.radio.example.org; expires"), with.render());
        assertTrue(with.render().contains("renewal: by node2; no attempt yet"), with.render());
        assertEquals("node1", with.tls().certificate().obtainedBy());
    }
}
