package radiod.redirector.carry;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.vertx.core.buffer.Buffer;

/** What a hub's ring holds over time, on a clock the test moves: the bytes its gauge reports. */
class HubTest {
    static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    final AtomicLong now = new AtomicLong(1_000 * SECOND);
    final AtomicLong held = new AtomicLong();
    final Hub hub = new Hub("/live.mp3", now::get, held);

    static Buffer bytes(int n) {
        return Buffer.buffer(new byte[n]);
    }

    @Test
    void aQuietMountHoldsItsAudioForTheRingsAgeAndNotAfter() {
        Hub.Session s = hub.attachUpstream("s1", "content-type: audio/mpeg\r\n");
        hub.data(s, 0, bytes(10_000));
        now.addAndGet(10 * SECOND);
        hub.data(s, 10_000, bytes(5_000));
        assertEquals(15_000, held.get());

        now.addAndGet(10 * SECOND); // the first piece is exactly the ring's age old
        hub.expire();
        assertEquals(15_000, held.get(), "nothing is older than 20 s yet");
        now.addAndGet(1);
        hub.expire();
        assertEquals(5_000, held.get(), "the piece older than 20 s is gone, with no audio after it");
        now.addAndGet(10 * SECOND);
        hub.expire();
        assertEquals(0, held.get(), "the newest piece goes too once it is that old");
    }

    @Test
    void sessionsThatAreOverAreForgotten() {
        // An encoder ends; its END goes from the ring after 20 s while it is still the mount's current session.
        Hub.Session first = hub.attachIngest("s1", 1L, "content-type: audio/mpeg\r\n", null);
        hub.data(first, 0, bytes(1_000));
        hub.end(first, 1_000);
        now.addAndGet(21 * SECOND);
        hub.expire();
        // An ingest that attached and never sent audio, then the next encoder.
        hub.attachIngest("s2", 2L, "content-type: audio/mpeg\r\n", null);
        Hub.Session third = hub.attachIngest("s3", 3L, "content-type: audio/mpeg\r\n", null);
        hub.data(third, 0, bytes(1_000));
        assertEquals(3, hub.sessions());
        hub.expire();
        assertEquals(1, hub.sessions(), "only the session with audio in the ring is left");
        now.addAndGet(21 * SECOND);
        hub.expire();
        assertEquals(1, hub.sessions(), "the current session stays, for the next pull to find");
    }

    @Test
    void aStreamingMountKeepsTheRingsAge() {
        Hub.Session s = hub.attachUpstream("s1", "content-type: audio/mpeg\r\n");
        for (int i = 0; i < 30; i++) {
            hub.data(s, i * 1_000L, bytes(1_000));
            now.addAndGet(SECOND);
        }
        // Pieces came at 0…29 s; the last one's arrival dropped those older than 20 s then: 9…29 s are left.
        assertEquals(21_000, held.get());
        hub.expire(); // at 30 s
        assertEquals(20_000, held.get());
    }

    @Test
    void aBurstOverTheRingsBytesIsCutAsItComesAndClosingGivesBackEverything() {
        Hub.Session s = hub.attachUpstream("s1", "content-type: audio/mpeg\r\n");
        int piece = 64 * 1024;
        int pieces = Hub.MAX_BYTES / piece + 10;
        for (int i = 0; i < pieces; i++) {
            hub.data(s, (long) i * piece, bytes(piece));
        }
        assertEquals(Hub.MAX_BYTES, held.get());
        hub.close();
        assertEquals(0, held.get());
    }

    @Test
    void theGaugeIsTheSumOverHubs() {
        Hub other = new Hub("/other.ogg", now::get, held);
        hub.data(hub.attachUpstream("a", ""), 0, bytes(700));
        other.data(other.attachUpstream("b", ""), 0, bytes(300));
        assertEquals(1_000, held.get());
        now.addAndGet(21 * SECOND);
        other.expire();
        assertEquals(700, held.get());
    }
}
