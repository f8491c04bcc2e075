package radiod.redirector.balance;

import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/**
 * The filters a pipeline can use. A limit of 0 means "no limit" throughout.
 *
 * <p>One method with a switch rather than a body per constant: every filter is then of one class, so the pipeline's
 * call is inlined instead of dispatched through an interface to one of five classes (each decision makes a call per
 * filter and node).
 */
enum Filters implements Stage.Filter {
    /** The node's Icecast answered its last status poll. */
    ICECAST_ACTIVE("icecast_active"),
    /** The operator has not drained the node (neither in etcd nor by the node's own account). */
    NOT_DRAINED("not_drained"),
    /**
     * One more listener stays under the node's listener limit and under the mount's per-node limit (counted by the
     * node's radiod: Icecast only sees radiod's own readers).
     */
    LISTENERS_AVAILABLE("listeners_available"),
    /** One more listener of this mount's bitrate fits in the node's bandwidth limit. */
    BANDWIDTH_AVAILABLE("bandwidth_available"),
    /** The mount is live on the node's Icecast (radiod feeds it there). */
    HAS_MOUNT("has_mount");

    private final String id;

    Filters(String id) {
        this.id = id;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public boolean accepts(NodeStatus node, int listeners, long bps, Mount mount, ClusterSnapshot view) {
        return switch (this) {
            case ICECAST_ACTIVE -> node.icecastUp();
            case NOT_DRAINED -> !node.drained() && !view.isDrained(node.name());
            case LISTENERS_AVAILABLE -> (node.maxListeners() == 0 || listeners < node.maxListeners())
                    && (mount.maxListeners() == 0
                    || node.listenersByMount().getOrDefault(mount.path(), 0) < mount.maxListeners());
            case BANDWIDTH_AVAILABLE -> node.maxBandwidthBps() == 0 || bps + mount.bitsPerSecond() <= node.maxBandwidthBps();
            case HAS_MOUNT -> node.hasMount(mount.path());
        };
    }
}
