package radiod.redirector.balance;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import radiod.cluster.model.NodeStatus;

/**
 * Load this node has sent to each node since that node last published its status: each decision adds one listener
 * and the mount's bitrate, and a newer status (a different {@code updatedAt}) starts the estimate afresh. This keeps
 * a burst of listeners between two status updates from piling onto one node.
 *
 * <p>Lock-free on the decision path: an estimate is one atomic long holding both counts (listeners in the
 * high 24 bits, bits per second in the low 40), so one atomic add reserves both and returns what was there before.
 * Far from a node's limits, a thread reserves several listeners at once and hands them out itself ({@link Pipeline}),
 * so that event loops deciding side by side do not write to the one estimate they all read on every decision.
 */
final class Predictions {
    private static final int SHIFT = 40;
    private static final long BPS_MASK = (1L << SHIFT) - 1;
    /** Per listener; bounded so that millions of reservations cannot carry into the listener count. */
    private static final long MAX_UNIT_BPS = 1L << 24;

    /**
     * The extra load on one node on top of its status published at {@code basedOn}. The packed load is a field of the
     * estimate itself, not an {@code AtomicLong} beside it: one load fewer to chase on every decision.
     */
    static final class Estimate {
        private static final VarHandle LOAD = field(Estimate.class, "load", long.class);

        final long basedOn;
        @SuppressWarnings("unused") // through LOAD
        private volatile long load;

        Estimate(long basedOn) {
            this.basedOn = basedOn;
        }

        /** Adds {@code count} listeners of {@code bps}; returns the packed load before. */
        long reserve(long bps, int count) {
            return (long) LOAD.getAndAdd(this, units(bps, count));
        }

        /** Takes back a {@link #reserve} that lost a race for the node's last slots. */
        void release(long bps, int count) {
            LOAD.getAndAdd(this, -units(bps, count));
        }

        long packed() {
            return load;
        }
    }

    /**
     * Where one node's current estimate is kept. The pipeline finds a node's slot once per node map (beside the node
     * in its sorted array), not by name on every decision.
     */
    static final class Slot {
        private static final VarHandle ESTIMATE = field(Slot.class, "estimate", Estimate.class);

        private volatile Estimate estimate;

        /** The estimate on top of this status of the node, or null if we sent it nothing since. */
        Estimate current(NodeStatus node) {
            Estimate e = estimate;
            return e != null && e.basedOn == node.updatedAt() ? e : null;
        }

        /**
         * The estimate to add to for this status of the node, starting a new one if the node has published since. If
         * another decision already saw a newer status, that newer estimate is returned.
         */
        Estimate estimateFor(NodeStatus node) {
            long basedOn = node.updatedAt();
            Estimate e = estimate;
            while (e == null || e.basedOn < basedOn) {
                Estimate fresh = new Estimate(basedOn);
                if (ESTIMATE.compareAndSet(this, e, fresh)) {
                    return fresh;
                }
                e = estimate;
            }
            return e;
        }
    }

    private final ConcurrentHashMap<String, Slot> byNode = new ConcurrentHashMap<>();

    /** The node's slot, made on first use. */
    Slot slot(String node) {
        return byNode.computeIfAbsent(node, n -> new Slot());
    }

    /** The packed extra load on the node relative to the status we hold, or 0 if we sent it nothing since. */
    long extra(NodeStatus node) {
        Slot s = byNode.get(node.name());
        Estimate e = s == null ? null : s.current(node);
        return e != null ? e.packed() : 0;
    }

    /** Forgets nodes that left the cluster. */
    void retain(Map<String, NodeStatus> nodes) {
        byNode.keySet().retainAll(nodes.keySet());
    }

    private static VarHandle field(Class<?> owner, String name, Class<?> type) {
        try {
            return MethodHandles.lookup().findVarHandle(owner, name, type);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static int listeners(long packed) {
        return (int) (packed >>> SHIFT);
    }

    static long bps(long packed) {
        return packed & BPS_MASK;
    }

    /** {@code count} listeners of {@code bps}, packed as an estimate counts them. */
    static long units(long bps, int count) {
        return unit(bps) * count;
    }

    private static long unit(long bps) {
        return (1L << SHIFT) + Math.min(Math.max(bps, 0), MAX_UNIT_BPS);
    }
}
