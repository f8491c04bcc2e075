package radiod.cluster.tls;

import java.util.Objects;
import java.util.Set;

/**
 * How the ACME duty is doing, at {@code tls/status}: written by the node that holds it at the start and end of every
 * attempt, read by radioctl status, the metrics, and the next holder (which keeps the backoff going).
 *
 * @param holder       the node that made the last attempt
 * @param lastAttempt  when it started, epoch milliseconds (0: never)
 * @param outcome      {@code running}, {@code ok} or {@code failed}
 * @param error        why the last attempt failed; empty otherwise
 * @param nextAttempt  when the next attempt is due, epoch milliseconds (after a failure: the backoff; after a success:
 *                     when renewal starts)
 * @param failures     failed attempts in a row
 * @param lastSuccess  when a certificate was last obtained, epoch milliseconds (0: never)
 * @param renewHandled the etcd revision of the last {@code tls/renew} request an attempt was started for (0: none)
 */
public record AcmeStatus(String holder, long lastAttempt, String outcome, String error, long nextAttempt, int failures,
                         long lastSuccess, long renewHandled) {
    public static final String RUNNING = "running";
    public static final String OK = "ok";
    public static final String FAILED = "failed";
    private static final Set<String> OUTCOMES = Set.of(RUNNING, OK, FAILED);
    public static final int MAX_ERROR_CHARS = 2000;

    public AcmeStatus {
        holder = Objects.requireNonNullElse(holder, "");
        if (outcome == null || !OUTCOMES.contains(outcome)) {
            throw new IllegalArgumentException("outcome must be one of " + OUTCOMES + ", got " + outcome);
        }
        error = Objects.requireNonNullElse(error, "");
        if (error.length() > MAX_ERROR_CHARS) {
            error = error.substring(0, MAX_ERROR_CHARS);
        }
        if (failures < 0) {
            throw new IllegalArgumentException("failures must be 0 or more, got " + failures);
        }
    }
}
