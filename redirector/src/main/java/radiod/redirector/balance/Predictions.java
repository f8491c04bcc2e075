package radiod.redirector.balance;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import radiod.cluster.model.NodeStatus;

/**
 * Load this node has sent to each node since that node last published its status: each decision adds one listener
 * and the mount's bitrate, and a newer status (a different {@code updatedAt}) starts the estimate afresh. This keeps
 * a burst of listeners between two status updates from piling onto one node.
 *
 * <p>Lock-free on the decision path: an estimate is one {@link AtomicLong} holding both counts (listeners in the
 * high 24 bits, bits per second in the low 40), so one atomic add reserves both and returns what was there before.
 */
final class Predictions {
    private static final int SHIFT = 40;
    private static final long BPS_MASK = (1L << SHIFT) - 1;
    /** Per listener; bounded so that millions of reservations cannot carry into the listener count. */
    private static final long MAX_UNIT_BPS = 1L << 24;

    /** The extra load on one node on top of its status published at {@code basedOn}. */
    static final class Estimate {
        final long basedOn;
        private final AtomicLong load = new AtomicLong();

        Estimate(long basedOn) {
            this.basedOn = basedOn;
        }

        /** Adds one listener of {@code bps}; returns the packed load before. */
        long reserve(long bps) {
            return load.getAndAdd(unit(bps));
        }

        /** Takes back a {@link #reserve} that lost a race for the node's last slot. */
        void release(long bps) {
            load.addAndGet(-unit(bps));
        }

        long packed() {
            return load.get();
        }
    }

    private final ConcurrentHashMap<String, Estimate> byNode = new ConcurrentHashMap<>();

    /** The packed extra load on the node relative to the status we hold, or 0 if we sent it nothing since. */
    long extra(NodeStatus node) {
        Estimate e = byNode.get(node.name());
        return e != null && e.basedOn == node.updatedAt() ? e.packed() : 0;
    }

    /**
     * The estimate to add to for this status of the node, starting a new one if the node has published since. If
     * another decision already saw a newer status, that newer estimate is returned.
     */
    Estimate estimateFor(NodeStatus node) {
        String name = node.name();
        long basedOn = node.updatedAt();
        Estimate e = byNode.get(name);
        while (e == null || e.basedOn < basedOn) {
            Estimate fresh = new Estimate(basedOn);
            boolean installed = e == null ? byNode.putIfAbsent(name, fresh) == null : byNode.replace(name, e, fresh);
            if (installed) {
                return fresh;
            }
            e = byNode.get(name);
        }
        return e;
    }

    /** Forgets nodes that left the cluster. */
    void retain(Map<String, NodeStatus> nodes) {
        byNode.keySet().retainAll(nodes.keySet());
    }

    static int listeners(long packed) {
        return (int) (packed >>> SHIFT);
    }

    static long bps(long packed) {
        return packed & BPS_MASK;
    }

    private static long unit(long bps) {
        return (1L << SHIFT) + Math.min(Math.max(bps, 0), MAX_UNIT_BPS);
    }
}
