package radiod.cluster.liveness;

import java.util.Set;
import java.util.function.Supplier;

import radiod.cluster.view.ClusterSnapshot;

/**
 * The cluster as a listener should be sent into it: the view without the peers whose HTTP port refuses connections
 * right now ({@link RefusedPeers#refusing()}). A killed radiod stays in the view until its lease is revoked (after
 * 1.25 s of refusals) or runs out; a listener redirected there meanwhile finds nothing listening, and most players do
 * not try another node. With this, such a peer gets no new listener from the first refused probe on (within 250 ms).
 * Made once per view and set of refusing peers; the view itself while none refuses. Thread-safe.
 */
public final class ReachableView implements Supplier<ClusterSnapshot> {
    private final Supplier<ClusterSnapshot> view;
    private final Supplier<Set<String>> refusing;
    private volatile Made made;

    /** One picture made without some peers, and what it was made from. */
    private record Made(ClusterSnapshot from, Set<String> without, ClusterSnapshot snapshot) {
    }

    /** @param refusing the peers refusing now: the same set object until it changes, as {@link RefusedPeers} gives */
    public ReachableView(Supplier<ClusterSnapshot> view, Supplier<Set<String>> refusing) {
        this.view = view;
        this.refusing = refusing;
    }

    @Override
    public ClusterSnapshot get() {
        ClusterSnapshot snapshot = view.get();
        Set<String> without = refusing.get();
        if (without.isEmpty()) {
            return snapshot;
        }
        Made m = made;
        if (m == null || m.from != snapshot || m.without != without) {
            m = new Made(snapshot, without, snapshot.withoutNodes(without));
            made = m;
        }
        return m.snapshot;
    }
}
