package radiod.cluster.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** A watch's re-read backoff: doubling from 100 ms to a 5 s cap, jitter in the upper half, and a reset. */
class BackoffTest {
    private static List<Long> delays(Backoff b, int n) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(b.next());
        }
        return out;
    }

    @Test
    void withoutJitterTheDelayDoublesUpToTheCap() {
        Backoff b = new Backoff(100, 5000, () -> 0.0);
        assertEquals(List.of(100L, 200L, 400L, 800L, 1600L, 3200L, 5000L, 5000L, 5000L), delays(b, 9));
    }

    @Test
    void theMostJitterHalvesTheDelayAndNoMore() {
        Backoff b = new Backoff(100, 5000, () -> Math.nextDown(1.0));
        List<Long> got = delays(b, 8);
        long[] ceilings = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
        for (int i = 0; i < ceilings.length; i++) {
            assertTrue(got.get(i) >= ceilings[i] / 2 && got.get(i) <= ceilings[i] / 2 + 1, i + ": " + got);
        }
    }

    @Test
    void aResetStartsOverFromTheInitialDelay() {
        Backoff b = new Backoff(100, 5000, () -> 0.0);
        delays(b, 20);
        b.reset();
        assertEquals(List.of(100L, 200L, 400L), delays(b, 3));
    }

    @Test
    void randomJitterStaysInTheUpperHalfVariesAndKeepsTheRateBoundOnceCapped() {
        Random random = new Random(18);
        Backoff b = new Backoff(100, 5000, random::nextDouble);
        List<Long> got = delays(b, 1000);
        long ceiling = 100;
        for (long d : got) {
            assertTrue(d >= ceiling / 2 && d <= ceiling, d + " outside [" + ceiling / 2 + ", " + ceiling + "]");
            ceiling = Math.min(5000, ceiling * 2);
        }
        List<Long> capped = got.subList(10, got.size());
        assertTrue(new HashSet<>(capped).size() > 100, "jitter spreads the delays");
        // Once capped, never more than one try per 2.5 s: a failing etcd is not hammered.
        assertTrue(capped.stream().allMatch(d -> d >= 2500));
        // The first retries come quickly: a brief hiccup costs little.
        assertTrue(got.get(0) <= 100 && got.get(0) + got.get(1) + got.get(2) <= 700);
    }

    @Test
    void nonsenseBoundsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Backoff(0, 5000, () -> 0));
        assertThrows(IllegalArgumentException.class, () -> new Backoff(100, 50, () -> 0));
    }
}
