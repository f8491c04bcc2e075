package radiod.transcoder.process;

import java.time.Duration;
import java.util.Objects;

/**
 * When a crashed liquidsoap is started again, and when this node gives up on it.
 *
 * @param maxFailures give up after this many crashes within {@code window}
 * @param window      how far back crashes count; a run that lasted longer than this also resets the backoff
 * @param minBackoff  wait before the first restart, doubled after each crash
 * @param maxBackoff  longest wait between restarts
 * @param stopGrace   how long a stopped liquidsoap has after SIGTERM before SIGKILL
 */
public record RestartPolicy(int maxFailures, Duration window, Duration minBackoff, Duration maxBackoff, Duration stopGrace) {
    public static final RestartPolicy DEFAULT = new RestartPolicy(5, Duration.ofSeconds(60), Duration.ofMillis(500),
            Duration.ofSeconds(8), Duration.ofSeconds(2));

    public RestartPolicy {
        if (maxFailures < 1) {
            throw new IllegalArgumentException("maxFailures must be at least 1, got " + maxFailures);
        }
        check("window", window);
        check("minBackoff", minBackoff);
        check("maxBackoff", maxBackoff);
        check("stopGrace", stopGrace);
        if (maxBackoff.compareTo(minBackoff) < 0) {
            throw new IllegalArgumentException("maxBackoff (" + maxBackoff + ") must not be shorter than minBackoff ("
                    + minBackoff + ")");
        }
    }

    private static void check(String name, Duration value) {
        Objects.requireNonNull(value, name + " is missing");
        if (value.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative, got " + value);
        }
    }
}
