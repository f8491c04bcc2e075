package radiod.controller.node;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.model.Title;
import radiod.cluster.view.ClusterSnapshot;

/**
 * On the master: takes away an encoder's song title once no node has held any encoder of the mount for
 * {@link #GRACE_NANOS}. The encoder's own node removes it when the encoder leaves
 * ({@link NodeTitles#gone}); this covers the times it cannot: that node died (kill, power), etcd did not answer its
 * removal, or a write of the title was still on its way when the encoder left. Without it, listeners would hear the
 * last song's title for as long as the mount exists, over a later encoder that sends none.
 *
 * <p>While another encoder holds the mount the title stays: an update that reached a node other than the encoder's
 * is written with the session that node carries, which can still be the previous one for a moment after the encoder
 * reconnected elsewhere; that title is the live encoder's.
 *
 * <p>Titles set by hand (no session) stay. So do those of relayed mounts: their session is the master's pull of the
 * upstream, which no node lists among its encoders. Nor is anything judged from a view that is behind etcd
 * ({@link #BEHIND_NANOS}). Confined to the control thread.
 */
final class StaleTitles {
    private static final Logger log = LoggerFactory.getLogger(StaleTitles.class);
    /** Longer than a node takes to list a new encoder in its status (its next write, ≤ 1 s). */
    static final long GRACE_NANOS = TimeUnit.SECONDS.toNanos(5);
    /**
     * A view that has brought no new status of this node's own (published every second, ≤ 2 s apart when etcd is
     * slow) for this long is behind etcd (its watch stalled or being read again, or this node cannot publish): it may
     * not show a new encoder's node listing it, so nothing is judged from it, and the grace starts afresh once it is
     * current.
     */
    static final long BEHIND_NANOS = TimeUnit.SECONDS.toNanos(3);

    /** Removes the mount's title if it is still the session's; true when it did. */
    private final BiFunction<String, String, CompletableFuture<Boolean>> clearIfSession;
    /**
     * Since when (nanos) each title ("mount\nsession") has had no encoder of its mount held by any node, while this
     * node is master.
     */
    private final Map<String, Long> unheldSince = new HashMap<>();

    private final String self;
    /** This node's own status as the view last showed a new one ({@code updatedAt}), and when (nanos) it came. */
    private long ownUpdatedAt = Long.MIN_VALUE;
    private long ownSeenNanos;

    /** @param self this node's name: how often its own status comes back in the view says how current the view is */
    StaleTitles(String self, BiFunction<String, String, CompletableFuture<Boolean>> clearIfSession) {
        this.self = self;
        this.clearIfSession = clearIfSession;
    }

    /** Once a second, on the control thread; {@code master}: whether this node acts as master now. */
    void check(ClusterSnapshot view, boolean master, long nowNanos) {
        NodeStatus me = view.nodes().get(self);
        if (me != null && me.updatedAt() != ownUpdatedAt) {
            ownUpdatedAt = me.updatedAt();
            ownSeenNanos = nowNanos;
        }
        if (!master || !view.isRead() || me == null || nowNanos - ownSeenNanos > BEHIND_NANOS) {
            unheldSince.clear(); // a new master, or a view current again, waits the grace out afresh
            return;
        }
        Set<String> streamed = new HashSet<>(); // mounts some node holds an encoder of
        for (NodeStatus n : view.nodes().values()) {
            streamed.addAll(n.sources().keySet());
        }
        Set<String> unheld = new HashSet<>();
        for (Map.Entry<String, Title> e : view.titles().entrySet()) {
            String mount = e.getKey();
            String session = e.getValue().session();
            Mount m = view.mounts().get(mount);
            String key = mount + "\n" + session;
            if (session.isEmpty() || (m != null && m.upstreamUrl() != null) || streamed.contains(mount)) {
                continue;
            }
            unheld.add(key);
            long since = unheldSince.computeIfAbsent(key, k -> nowNanos);
            if (nowNanos - since >= GRACE_NANOS) {
                unheldSince.put(key, nowNanos); // if this removal does not take, the next one after another grace
                clearIfSession.apply(mount, session).whenComplete((removed, failure) -> {
                    if (failure != null) {
                        log.warn("title of {} not removed after its encoder left: {}", mount, failure.toString());
                    } else if (removed) {
                        log.info("title of {} removed: no node has held an encoder of it for {} s (its encoder's"
                                + " session was {})", mount, TimeUnit.NANOSECONDS.toSeconds(GRACE_NANOS), session);
                    }
                });
            }
        }
        unheldSince.keySet().retainAll(unheld);
    }
}
