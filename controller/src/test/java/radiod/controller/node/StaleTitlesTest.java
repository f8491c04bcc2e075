package radiod.controller.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

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
    static final Mount SOMEONE = new Mount("/someone.mp3", "source", "pw", null, null, 0, 128, null);
    static final Mount RELAY = new Mount("/relay.mp3", "source", "pw", "http://192.0.2.7:8000/up.mp3", null, 0, 128, null);

    final List<String> cleared = new ArrayList<>();
    final StaleTitles stale = new StaleTitles("node1", (mount, session) -> {
        cleared.add(mount + " " + session);
        return CompletableFuture.completedFuture(true);
    });

    /** When the nodes published their statuses (epoch ms): each view brings new ones, as a current view does. */
    static final AtomicLong PUBLISHED = new AtomicLong(1_800_000_000_000L);

    static NodeStatus node(String name, Map<String, String> sources, long published) {
        return new NodeStatus(name, List.of("192.0.2.1"), 8080, 8000, 8001, 53, true, false, false, 0,
                Map.of(), 0, 0, 0, List.of(), "test", published, sources, "", "i-" + name);
    }

    static ClusterSnapshot view(Map<String, String> sources) {
        return view(sources, Map.of());
    }

    /** A view as {@link #view(Map)}, with {@code more} titles. */
    static ClusterSnapshot view(Map<String, String> sources, Map<String, Title> more) {
        Map<String, Title> titles = new java.util.HashMap<>(more);
        titles.putAll(Map.of(LIVE.path(), new Title("Last song", "s1", "node1", 1L),
                HAND.path(), new Title("Station ID", "", "radioctl", 1L),
                RELAY.path(), new Title("Upstream song", "node2-upstream-x", "node2", 1L)));
        long published = PUBLISHED.addAndGet(1_000);
        return new ClusterSnapshot(7, Map.of("node1", node("node1", sources, published),
                "node2", node("node2", Map.of(), published)),
                Optional.empty(), Map.of(LIVE.path(), LIVE, HAND.path(), HAND, SOMEONE.path(), SOMEONE, RELAY.path(), RELAY), Map.of(), Map.of(),
                titles, Map.of());
    }

    @Test
    void aTitleWhoseEncoderNoNodeHoldsGoesAfterTheGraceAndOnlyThat() {
        long t = 1_000 * SECOND;
        for (int i = 0; i < 10; i++) {
            stale.check(view(Map.of(LIVE.path(), "s1")), true, t += SECOND);
        }
        assertEquals(List.of(), cleared, "its encoder is held: the title stays");

        long left = t += SECOND;
        stale.check(view(Map.of()), true, left);
        stale.check(view(Map.of()), true, left + StaleTitles.GRACE_NANOS - 1);
        assertEquals(List.of(), cleared, "within the grace");
        stale.check(view(Map.of()), true, left + StaleTitles.GRACE_NANOS);
        assertEquals(List.of("/live.mp3 s1"), cleared, "after it; the title set by hand and the relay's stay");
        stale.check(view(Map.of()), true, left + StaleTitles.GRACE_NANOS + SECOND);
        assertEquals(1, cleared.size(), "once per grace");
        stale.check(view(Map.of()), true, left + 2 * StaleTitles.GRACE_NANOS);
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

    /**
     * The view has brought no new status of this node's own for {@link StaleTitles#BEHIND_NANOS}: it is behind etcd
     * (a watch stalled or read again), and may not show the node that lists a new encoder. Nothing goes; the grace
     * starts again once the view is current.
     */
    @Test
    void aViewBehindEtcdRemovesNothingAndTheGraceStartsAgainOnceItIsCurrent() {
        long t = 1_000 * SECOND;
        // Also a title an update tied to "some encoder" (its node knew no session of the mount yet): it goes as any.
        Map<String, Title> someone = Map.of(SOMEONE.path(), new Title("Sent to another node", Title.SOME_ENCODER, "node2", 1L));
        ClusterSnapshot stalled = view(Map.of(), someone);
        for (int i = 0; i <= 10; i++) { // the same statuses for 10 s
            stale.check(stalled, true, t + i * SECOND);
        }
        assertEquals(List.of(), cleared, "behind");
        stale.check(view(Map.of(), someone), true, t + 11 * SECOND); // current again
        stale.check(view(Map.of(), someone), true, t + 11 * SECOND + StaleTitles.GRACE_NANOS - 1);
        assertEquals(List.of(), cleared, "the grace from when it was current again");
        stale.check(view(Map.of(), someone), true, t + 11 * SECOND + StaleTitles.GRACE_NANOS);
        assertEquals(List.of("/live.mp3 s1", "/someone.mp3 ?"), cleared.stream().sorted().toList());
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
