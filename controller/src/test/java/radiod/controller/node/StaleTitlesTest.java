package radiod.controller.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.model.Title;
import radiod.cluster.view.ClusterSnapshot;

/** Which titles the master takes away, and when, on a clock the test moves. */
class StaleTitlesTest {
    static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    static final Mount LIVE = new Mount("/live.mp3", "source", "pw", null, null, 0, 128, null);
    static final Mount HAND = new Mount("/hand.mp3", "source", "pw", null, null, 0, 128, null);
    static final Mount RELAY = new Mount("/relay.mp3", "source", "pw", "http://192.0.2.7:8000/up.mp3", null, 0, 128, null);

    final List<String> cleared = new ArrayList<>();
    final StaleTitles stale = new StaleTitles((mount, session) -> {
        cleared.add(mount + " " + session);
        return CompletableFuture.completedFuture(true);
    });

    static NodeStatus node(String name, Map<String, String> sources) {
        return new NodeStatus(name, List.of("192.0.2.1"), 8080, 8000, 8001, 53, true, false, false, 0,
                Map.of(), 0, 0, 0, List.of(), "test", 1L, sources, "", "i-" + name);
    }

    static ClusterSnapshot view(Map<String, String> sources) {
        return new ClusterSnapshot(7, Map.of("node1", node("node1", sources), "node2", node("node2", Map.of())),
                Optional.empty(), Map.of(LIVE.path(), LIVE, HAND.path(), HAND, RELAY.path(), RELAY), Map.of(), Map.of(),
                Map.of(LIVE.path(), new Title("Last song", "s1", "node1", 1L),
                        HAND.path(), new Title("Station ID", "", "radioctl", 1L),
                        RELAY.path(), new Title("Upstream song", "node2-upstream-x", "node2", 1L)), Map.of());
    }

    @Test
    void aTitleWhoseEncoderNoNodeHoldsGoesAfterTheGraceAndOnlyThat() {
        long t = 1_000 * SECOND;
        ClusterSnapshot held = view(Map.of(LIVE.path(), "s1"));
        for (int i = 0; i < 10; i++) {
            stale.check(held, true, t += SECOND);
        }
        assertEquals(List.of(), cleared, "its encoder is held: the title stays");

        ClusterSnapshot gone = view(Map.of());
        long left = t += SECOND;
        stale.check(gone, true, left);
        stale.check(gone, true, left + StaleTitles.GRACE_NANOS - 1);
        assertEquals(List.of(), cleared, "within the grace");
        stale.check(gone, true, left + StaleTitles.GRACE_NANOS);
        assertEquals(List.of("/live.mp3 s1"), cleared, "after it; the title set by hand and the relay's stay");
        stale.check(gone, true, left + StaleTitles.GRACE_NANOS + SECOND);
        assertEquals(1, cleared.size(), "once per grace");
        stale.check(gone, true, left + 2 * StaleTitles.GRACE_NANOS);
        assertEquals(2, cleared.size(), "again after another grace, had the removal not taken");
    }

    @Test
    void aSessionHeldAgainWithinTheGraceOrANodeThatIsNotMasterRemovesNothing() {
        long t = 1_000 * SECOND;
        stale.check(view(Map.of()), true, t);
        stale.check(view(Map.of(LIVE.path(), "s1")), true, t + 3 * SECOND); // listed by its node in time
        stale.check(view(Map.of()), true, t + 6 * SECOND); // gone again: the grace starts afresh
        stale.check(view(Map.of()), true, t + 10 * SECOND);
        assertEquals(List.of(), cleared);
        for (int i = 0; i < 20; i++) {
            stale.check(view(Map.of()), false, t + i * SECOND);
        }
        assertEquals(List.of(), cleared, "not master");
        stale.check(view(Map.of()), true, t + 30 * SECOND); // a master now: the grace from here
        stale.check(view(Map.of()), true, t + 34 * SECOND);
        assertEquals(List.of(), cleared);
        stale.check(view(Map.of()), true, t + 35 * SECOND);
        assertEquals(List.of("/live.mp3 s1"), cleared);
    }

    @Test
    void aViewNotReadYetRemovesNothing() {
        for (int i = 0; i < 20; i++) {
            stale.check(ClusterSnapshot.EMPTY, true, i * SECOND);
        }
        assertEquals(List.of(), cleared);
    }

    @Test
    void whileAnotherEncoderHoldsTheMountItsTitleStays() {
        // The encoder reconnected elsewhere (a new session); a title sent at once to a third node was written with
        // the session that node still carried: the old one. It is the live encoder's title.
        long t = 1_000 * SECOND;
        for (int i = 0; i < 20; i++) {
            stale.check(view(Map.of(LIVE.path(), "s2")), true, t + i * SECOND);
        }
        assertEquals(List.of(), cleared);
        stale.check(view(Map.of()), true, t + 20 * SECOND); // that encoder gone too: the grace from here
        stale.check(view(Map.of()), true, t + 25 * SECOND);
        assertEquals(List.of("/live.mp3 s1"), cleared);
    }
}
