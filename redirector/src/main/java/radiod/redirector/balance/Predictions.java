package radiod.redirector.balance;

import java.util.concurrent.ConcurrentHashMap;

import radiod.cluster.model.NodeStatus;

/**
 * Load this node has sent to each node since that node last published its status: each redirect adds one
 * listener and the mount's bitrate, and a newer status (a changed {@code updatedAt}) replaces the estimate.
 * This keeps a burst of listeners between two status updates from piling onto one node.
 */
public final class Predictions {
    /** Extra load on top of a node's status published at {@code basedOn}. */
    record Extra(long basedOn, int listeners, long bps) {
    }

    private final ConcurrentHashMap<String, Extra> extras = new ConcurrentHashMap<>();

    /** Extra listeners predicted for the node on top of its published status. */
    public int listeners(NodeStatus node) {
        Extra e = extras.get(node.name());
        return e == null || e.basedOn != node.updatedAt() ? 0 : e.listeners;
    }

    public long bps(NodeStatus node) {
        Extra e = extras.get(node.name());
        return e == null || e.basedOn != node.updatedAt() ? 0 : e.bps;
    }

    /** Records that one listener of {@code bps} was sent to the node. */
    public void add(NodeStatus node, long bps) {
        long basedOn = node.updatedAt();
        extras.compute(node.name(), (k, e) -> e == null || e.basedOn != basedOn
                ? new Extra(basedOn, 1, bps)
                : new Extra(basedOn, e.listeners + 1, e.bps + bps));
    }
}
