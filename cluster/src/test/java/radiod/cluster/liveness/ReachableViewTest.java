package radiod.cluster.liveness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/** The view listeners are sent into: without the peers refusing connections, made once per view and set. */
class ReachableViewTest {
    static NodeStatus node(String name) {
        return RefusedPeersIT.status(name, "127.0.0.1", 8080, "i-" + name, 1);
    }

    static final Mount LIVE = new Mount("/live.mp3", "source", "pw", null, null, 0, 128, null);
    static final ClusterSnapshot THREE = new ClusterSnapshot(7,
            Map.of("node1", node("node1"), "node2", node("node2"), "node3", node("node3")),
            Optional.of(new MasterInfo("node2", List.of("127.0.0.2"), 8100, 8000, 8080, 1)),
            Map.of("/live.mp3", LIVE), Map.of("/live-64.mp3", "node2"), Map.of());

    final AtomicReference<ClusterSnapshot> view = new AtomicReference<>(THREE);
    final AtomicReference<Set<String>> refusing = new AtomicReference<>(Set.of());
    final ReachableView reachable = new ReachableView(view::get, refusing::get);

    @Test
    void whileNoPeerRefusesItIsTheViewItself() {
        assertSame(THREE, reachable.get());
        view.set(THREE.withoutNodes(Set.of("node3")));
        assertSame(view.get(), reachable.get());
    }

    @Test
    void aRefusingPeerIsLeftOutAndEverythingElseKept() {
        refusing.set(Set.of("node2"));
        ClusterSnapshot s = reachable.get();
        assertEquals(Set.of("node1", "node3"), s.nodes().keySet());
        // Its roles stay until its lease goes: only where listeners are sent changes.
        assertEquals(THREE.master(), s.master());
        assertEquals(THREE.transcoders(), s.transcoders());
        assertEquals(THREE.mounts(), s.mounts());
        assertEquals(THREE.revision(), s.revision());
        assertSame(s, reachable.get(), "made once for the same view and set");

        refusing.set(Set.of("node2", "node3"));
        assertEquals(Set.of("node1"), reachable.get().nodes().keySet());
        ClusterSnapshot next = new ClusterSnapshot(8, Map.of("node1", node("node1"), "node3", node("node3")),
                Optional.empty(), Map.of(), Map.of(), Map.of());
        view.set(next);
        assertEquals(Set.of("node1"), reachable.get().nodes().keySet(), "a new view is filtered too");

        refusing.set(Set.of());
        assertSame(next, reachable.get(), "accepting again: the view as it is");
    }

    @Test
    void refusingPeersNotInTheViewLeaveItAsItIs() {
        refusing.set(Set.of("node9"));
        assertSame(THREE, reachable.get());
    }
}
