package radiod.lifecycle.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class BackoffTest {
    private final Backoff backoff = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(10), Duration.ofSeconds(10), 0.2);

    @Test
    void theWaitDoublesAtEachCrashInARowUpToTheMaximum() {
        assertEquals(Duration.ofMillis(500), backoff.delay(0, 0));
        assertEquals(Duration.ofMillis(1000), backoff.delay(1, 0));
        assertEquals(Duration.ofMillis(8000), backoff.delay(4, 0));
        assertEquals(Duration.ofSeconds(10), backoff.delay(5, 0));
        assertEquals(Duration.ofSeconds(10), backoff.delay(62, 0), "a long run of crashes does not overflow");
    }

    @Test
    void jitterOnlyLengthensTheWaitByUpToItsFraction() {
        assertEquals(Duration.ofMillis(550), backoff.delay(0, 0.5));
        assertEquals(Duration.ofMillis(1199), backoff.delay(1, 0.9999));
        assertEquals(Duration.ofMillis(11_000), backoff.delay(9, 0.5));
    }

    @Test
    void aMaximumShorterThanTheMinimumIsRefusedNamingBoth() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ZERO, 0));
        assertEquals("backoff: max (PT1S) must not be shorter than min (PT2S)", e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ZERO, 1.5));
    }
}
