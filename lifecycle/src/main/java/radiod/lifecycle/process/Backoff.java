package radiod.lifecycle.process;

import java.time.Duration;
import java.util.Objects;

/**
 * How long to wait before starting a crashed child again: {@code min} doubled at each crash in a row up to
 * {@code max}, plus up to {@code jitter} of that at random (so that nodes that lost their children together do not
 * restart them in step). A run that lasted {@code stableAfter} or longer counts as a calm one: the next crash waits
 * {@code min} again.
 *
 * @param jitter a fraction between 0 and 1; the delay is never shorter than the doubled step
 */
public record Backoff(Duration min, Duration max, Duration stableAfter, double jitter) {
    public Backoff {
        Objects.requireNonNull(min, "min");
        Objects.requireNonNull(max, "max");
        Objects.requireNonNull(stableAfter, "stableAfter");
        if (min.isNegative() || stableAfter.isNegative()) {
            throw new IllegalArgumentException("backoff: min and stableAfter must not be negative, got " + min + " and "
                    + stableAfter);
        }
        if (max.compareTo(min) < 0) {
            throw new IllegalArgumentException("backoff: max (" + max + ") must not be shorter than min (" + min + ")");
        }
        if (!(jitter >= 0 && jitter <= 1)) {
            throw new IllegalArgumentException("backoff: jitter must be between 0 and 1, got " + jitter);
        }
    }

    /**
     * The wait before restart number {@code step + 1} of a run of crashes ({@code step} 0 after a calm run).
     *
     * @param random a number in [0, 1): which part of the jitter to add
     */
    public Duration delay(int step, double random) {
        long base = min.toMillis();
        for (int i = 0; i < step && base < max.toMillis(); i++) {
            base *= 2;
        }
        base = Math.min(base, max.toMillis());
        return Duration.ofMillis(base + (long) (base * jitter * random));
    }
}
