package radiod.controller.tls;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import radiod.cluster.tls.AcmeStatus;
import radiod.cluster.tls.TlsCertificate;
import radiod.cluster.tls.TlsState;

/** When the ACME duty tries: pure decisions on the cluster's TLS state and the clock, so they can be tested alone. */
final class RenewalPolicy {
    /**
     * What to do now.
     *
     * @param reason why a certificate is wanted, or null when none is
     * @param atMillis when to try (epoch ms): now or earlier to try at once, later to wait (the backoff)
     */
    record Decision(String reason, long atMillis) {
        boolean attemptNow(long nowMillis) {
            return reason != null && atMillis <= nowMillis;
        }
    }

    private RenewalPolicy() {
    }

    /**
     * When a certificate should be renewed: {@code renewBefore} before it expires, but for one that lives less than
     * three times that, when a third of its lifetime is left (so a short-lived certificate is not renewed at once and
     * forever).
     */
    static long renewAt(TlsCertificate c, Duration renewBefore) {
        long lifetime = c.notAfter() - c.notBefore();
        return c.notAfter() - Math.min(renewBefore.toMillis(), lifetime / 3);
    }

    /** Why a (new) certificate is wanted now, or empty. */
    static Optional<String> wanted(TlsState tls, String zone, Duration renewBefore, long nowMillis) {
        if (tls.certificate().isEmpty()) {
            return Optional.of("no certificate is stored");
        }
        TlsCertificate c = tls.certificate().get();
        if (!c.covers(zone)) {
            return Optional.of("the stored certificate is for " + c.names() + ", not " + zone + " and *." + zone);
        }
        if (nowMillis >= renewAt(c, renewBefore)) {
            return Optional.of("the certificate expires at " + Instant.ofEpochMilli(c.notAfter()));
        }
        if (tls.renewRequested()) {
            return Optional.of("renewal requested by " + tls.renew().map(r -> r.by().isEmpty() ? "an operator" : r.by())
                    .orElse("an operator"));
        }
        return Optional.empty();
    }

    /**
     * The decision: try at once when a certificate is wanted and either no attempt failed, the backoff after the last
     * failure is over, or a renewal request came that no attempt has served yet; else wait for the backoff.
     *
     * @param status the latest status (the view's, or this node's own newer one)
     */
    static Decision decide(TlsState tls, Optional<AcmeStatus> status, String zone, Duration renewBefore, long nowMillis) {
        Optional<String> reason = wanted(tls, zone, renewBefore, nowMillis);
        if (reason.isEmpty()) {
            return new Decision(null, 0);
        }
        boolean freshRequest = tls.renewRequested() && status.map(s -> tls.renewRevision() > s.renewHandled()).orElse(true);
        if (freshRequest || status.isEmpty() || !AcmeStatus.FAILED.equals(status.get().outcome())) {
            return new Decision(reason.get(), nowMillis);
        }
        return new Decision(reason.get(), status.get().nextAttempt());
    }

    /**
     * The wait after {@code failures} failed attempts in a row (at least 1): exponential from {@code initial} to
     * {@code cap}, drawn from [d/2, d] with {@code random} in [0, 1) so that retries do not come in step.
     */
    static long backoffMillis(int failures, Duration initial, Duration cap, double random) {
        int doublings = Math.max(0, Math.min(failures - 1, 40));
        long d = initial.toMillis();
        for (int i = 0; i < doublings && d < cap.toMillis(); i++) {
            d *= 2;
        }
        d = Math.min(d, cap.toMillis());
        double r = Math.min(Math.max(random, 0), 1);
        return d - (long) Math.floor(d / 2.0 * r);
    }
}
