package radiod.controller.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import radiod.cluster.tls.AcmeStatus;
import radiod.cluster.tls.RenewRequest;
import radiod.cluster.tls.TlsCertificate;
import radiod.cluster.tls.TlsState;

/** When the ACME duty tries, and how long it waits after failures. */
class RenewalPolicyTest {
    static final String ZONE = "radio.test";
    static final Duration THIRTY_DAYS = Duration.ofDays(30);
    static final long DAY = Duration.ofDays(1).toMillis();
    static final long NOW = 1_767_000_000_000L;
    static final String PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    static TlsCertificate certificate(long notBefore, long notAfter, String... names) {
        return new TlsCertificate(PEM, List.of(names), "CN=test", notBefore, notAfter, "1f", "node1", notBefore);
    }

    static TlsState state(TlsCertificate c, long certificateRevision, long renewRevision) {
        return new TlsState(Optional.ofNullable(c), c == null ? 0 : certificateRevision, Optional.empty(), Optional.empty(),
                Optional.empty(), Map.of(), renewRevision == 0 ? Optional.empty()
                : Optional.of(new RenewRequest("radioctl", NOW)), renewRevision);
    }

    static final TlsCertificate FRESH = certificate(NOW - DAY, NOW + 89 * DAY, ZONE, "*." + ZONE);

    static AcmeStatus failed(long nextAttempt, long renewHandled) {
        return new AcmeStatus("node1", NOW - 1000, AcmeStatus.FAILED, "boom", nextAttempt, 2, 0, renewHandled);
    }

    @Test
    void withoutACertificateOrWithOneForOtherNamesItTriesAtOnce() {
        RenewalPolicy.Decision d = RenewalPolicy.decide(state(null, 0, 0), Optional.empty(), ZONE, THIRTY_DAYS, NOW);
        assertTrue(d.attemptNow(NOW));
        assertEquals("no certificate is stored", d.reason());
        TlsCertificate apexOnly = certificate(NOW - DAY, NOW + 89 * DAY, ZONE);
        assertTrue(RenewalPolicy.decide(state(apexOnly, 5, 0), Optional.empty(), ZONE, THIRTY_DAYS, NOW).attemptNow(NOW));
        assertTrue(RenewalPolicy.decide(state(certificate(NOW - DAY, NOW + 89 * DAY, "other.test", "*.other.test"), 5, 0),
                Optional.empty(), ZONE, THIRTY_DAYS, NOW).reason().contains("not radio.test and *.radio.test"));
    }

    @Test
    void aFreshCertificateIsKeptAndRenewedThirtyDaysBeforeItExpires() {
        assertFalse(RenewalPolicy.decide(state(FRESH, 5, 0), Optional.empty(), ZONE, THIRTY_DAYS, NOW).attemptNow(NOW));
        assertEquals(NOW + 59 * DAY, RenewalPolicy.renewAt(FRESH, THIRTY_DAYS));
        long due = NOW + 59 * DAY;
        assertFalse(RenewalPolicy.decide(state(FRESH, 5, 0), Optional.empty(), ZONE, THIRTY_DAYS, due - 1).attemptNow(due - 1));
        RenewalPolicy.Decision d = RenewalPolicy.decide(state(FRESH, 5, 0), Optional.empty(), ZONE, THIRTY_DAYS, due);
        assertTrue(d.attemptNow(due));
        assertTrue(d.reason().startsWith("the certificate expires at"), d.reason());
    }

    @Test
    void aShortLivedCertificateIsRenewedWithAThirdOfItsLifeLeft() {
        TlsCertificate sixDays = certificate(NOW, NOW + 6 * DAY, ZONE, "*." + ZONE);
        assertEquals(NOW + 4 * DAY, RenewalPolicy.renewAt(sixDays, THIRTY_DAYS));
        assertFalse(RenewalPolicy.decide(state(sixDays, 5, 0), Optional.empty(), ZONE, THIRTY_DAYS, NOW + DAY)
                .attemptNow(NOW + DAY));
    }

    @Test
    void aRenewalRequestNewerThanTheCertificateIsServedAtOnceEvenDuringABackoff() {
        assertFalse(RenewalPolicy.decide(state(FRESH, 7, 6), Optional.empty(), ZONE, THIRTY_DAYS, NOW).attemptNow(NOW),
                "a request older than the certificate was served");
        RenewalPolicy.Decision d = RenewalPolicy.decide(state(FRESH, 7, 9), Optional.empty(), ZONE, THIRTY_DAYS, NOW);
        assertTrue(d.attemptNow(NOW));
        assertEquals("renewal requested by radioctl", d.reason());
        // The last attempt failed and its retry is an hour away: a new request does not wait for it...
        assertTrue(RenewalPolicy.decide(state(FRESH, 7, 9), Optional.of(failed(NOW + 3_600_000, 8)), ZONE, THIRTY_DAYS,
                NOW).attemptNow(NOW));
        // ...but once an attempt was made for it, the next one keeps to the backoff.
        RenewalPolicy.Decision waiting = RenewalPolicy.decide(state(FRESH, 7, 9), Optional.of(failed(NOW + 3_600_000, 9)),
                ZONE, THIRTY_DAYS, NOW);
        assertFalse(waiting.attemptNow(NOW));
        assertEquals(NOW + 3_600_000, waiting.atMillis());
        assertTrue(waiting.attemptNow(NOW + 3_600_000));
    }

    @Test
    void afterAFailureItWaitsForTheBackoffAndAfterASuccessOrARunningAttemptItDoesNot() {
        RenewalPolicy.Decision d = RenewalPolicy.decide(state(null, 0, 0), Optional.of(failed(NOW + 30_000, 0)), ZONE,
                THIRTY_DAYS, NOW);
        assertFalse(d.attemptNow(NOW));
        assertTrue(d.attemptNow(NOW + 30_000));
        AcmeStatus running = new AcmeStatus("node2", NOW - 5000, AcmeStatus.RUNNING, "", 0, 3, 0, 0);
        assertTrue(RenewalPolicy.decide(state(null, 0, 0), Optional.of(running), ZONE, THIRTY_DAYS, NOW).attemptNow(NOW),
                "a holder that died mid-attempt leaves it running: the next one tries");
    }

    @Test
    void theBackoffDoublesFromItsStartToItsCapWithJitterInTheUpperHalf() {
        Duration initial = Duration.ofSeconds(30);
        Duration cap = Duration.ofHours(1);
        assertEquals(30_000, RenewalPolicy.backoffMillis(1, initial, cap, 0));
        assertEquals(15_000, RenewalPolicy.backoffMillis(1, initial, cap, 1));
        assertEquals(60_000, RenewalPolicy.backoffMillis(2, initial, cap, 0));
        assertEquals(120_000, RenewalPolicy.backoffMillis(3, initial, cap, 0));
        assertEquals(3_600_000, RenewalPolicy.backoffMillis(8, initial, cap, 0), "30 s × 2^7 = 64 min: capped");
        assertEquals(3_600_000, RenewalPolicy.backoffMillis(1_000, initial, cap, 0));
        for (int failures = 1; failures < 12; failures++) {
            long d = Math.min(cap.toMillis(), initial.toMillis() << (failures - 1));
            for (double r : new double[] {0, 0.25, 0.5, 0.999}) {
                long wait = RenewalPolicy.backoffMillis(failures, initial, cap, r);
                assertTrue(wait >= d / 2 && wait <= d, failures + " failures, r " + r + ": " + wait);
            }
        }
    }
}
