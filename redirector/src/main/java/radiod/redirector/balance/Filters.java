package radiod.redirector.balance;

import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/** The filters a pipeline can use. A limit of 0 means "no limit" throughout. */
enum Filters implements Stage.Filter {
    /** The node's Icecast answered its last status poll. */
    ICECAST_ACTIVE("icecast_active") {
        @Override
        public boolean accepts(NodeStatus node, int listeners, long bps, Mount mount, ClusterSnapshot view) {
            return node.icecastUp();
        }
    },
    /** The operator has not drained the node (neither in etcd nor by the node's own account). */
    NOT_DRAINED("not_drained") {
        @Override
        public boolean accepts(NodeStatus node, int listeners, long bps, Mount mount, ClusterSnapshot view) {
            return !node.drained() && !view.isDrained(node.name());
        }
    },
    /**
     * One more listener stays under the node's listener limit and under the mount's per-node limit (counted by the
     * node's radiod: Icecast only sees radiod's own readers).
     */
    LISTENERS_AVAILABLE("listeners_available") {
        @Override
        public boolean accepts(NodeStatus node, int listeners, long bps, Mount mount, ClusterSnapshot view) {
            return (node.maxListeners() == 0 || listeners < node.maxListeners())
                    && (mount.maxListeners() == 0
                    || node.listenersByMount().getOrDefault(mount.path(), 0) < mount.maxListeners());
        }
    },
    /** One more listener of this mount's bitrate fits in the node's bandwidth limit. */
    BANDWIDTH_AVAILABLE("bandwidth_available") {
        @Override
        public boolean accepts(NodeStatus node, int listeners, long bps, Mount mount, ClusterSnapshot view) {
            return node.maxBandwidthBps() == 0 || bps + mount.bitsPerSecond() <= node.maxBandwidthBps();
        }
    },
    /** The mount is live on the node's Icecast (radiod feeds it there). */
    HAS_MOUNT("has_mount") {
        @Override
        public boolean accepts(NodeStatus node, int listeners, long bps, Mount mount, ClusterSnapshot view) {
            return node.hasMount(mount.path());
        }
    };

    private final String id;

    Filters(String id) {
        this.id = id;
    }

    @Override
    public String id() {
        return id;
    }
}
