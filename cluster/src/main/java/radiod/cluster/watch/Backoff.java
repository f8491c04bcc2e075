package radiod.cluster.watch;

import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff with jitter, capped: the n-th delay in a row is drawn uniformly from [d/2, d] where
 * d = min(initial × 2^(n-1), cap), and {@link #reset()} starts over. The lower half keeps a floor under the retry rate
 * (never more than one try per cap/2 once capped); the upper half spreads nodes that failed together. Not thread-safe:
 * one owner thread.
 */
public final class Backoff {
    private final long initialMillis;
    private final long capMillis;
    private final DoubleSupplier random;
    private long ceilingMillis;

    /** @param random uniform in [0, 1) */
    public Backoff(long initialMillis, long capMillis, DoubleSupplier random) {
        if (initialMillis < 1 || capMillis < initialMillis) {
            throw new IllegalArgumentException("backoff " + initialMillis + " ms to " + capMillis + " ms");
        }
        this.initialMillis = initialMillis;
        this.capMillis = capMillis;
        this.random = random;
        this.ceilingMillis = initialMillis;
    }

    public static Backoff of(long initialMillis, long capMillis) {
        return new Backoff(initialMillis, capMillis, () -> ThreadLocalRandom.current().nextDouble());
    }

    /** The delay before the next try; each call without a {@link #reset()} doubles the ceiling up to the cap. */
    public long next() {
        long d = ceilingMillis;
        ceilingMillis = Math.min(capMillis, ceilingMillis * 2);
        double r = Math.min(Math.max(random.getAsDouble(), 0), 1);
        return d - (long) Math.floor(d / 2.0 * r);
    }

    /** The last try succeeded: the next failure waits the initial delay again. */
    public void reset() {
        ceilingMillis = initialMillis;
    }
}
