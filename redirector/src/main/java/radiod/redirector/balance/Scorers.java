package radiod.redirector.balance;

import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;

/**
 * The scorers a pipeline can use. Both count free capacity in listeners of the requested mount, so that
 * {@code weighted} fills nodes in proportion to what they can still take. A node without a limit counts as a node
 * of a nominal size (10,000 listeners, 1 Gbit/s) and never scores below 1: it can always take one more.
 */
enum Scorers implements Stage.Scorer {
    /** Free listener slots. */
    LISTENERS_SCORE("listeners_score") {
        @Override
        public double score(NodeStatus node, int listeners, long bps, Mount mount) {
            int max = node.maxListeners();
            return max == 0 ? Math.max(1, NOMINAL_LISTENERS - listeners) : Math.max(0, max - listeners);
        }
    },
    /** Free bandwidth, in listeners of this mount's bitrate. */
    BANDWIDTH_SCORE("bandwidth_score") {
        @Override
        public double score(NodeStatus node, int listeners, long bps, Mount mount) {
            long max = node.maxBandwidthBps();
            double unit = mount.bitsPerSecond();
            return max == 0 ? Math.max(1, (NOMINAL_BPS - bps) / unit) : Math.max(0, (max - bps) / unit);
        }
    };

    static final int NOMINAL_LISTENERS = 10_000;
    static final long NOMINAL_BPS = 1_000_000_000L;

    private final String id;

    Scorers(String id) {
        this.id = id;
    }

    @Override
    public String id() {
        return id;
    }
}
