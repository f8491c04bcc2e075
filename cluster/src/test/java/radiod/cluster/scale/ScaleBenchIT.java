package radiod.cluster.scale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import radiod.testkit.EtcdCluster;

/** {@link ScaleBench} small (10 nodes, 2 transcoded mounts): issue 17's goals hold per node. */
class ScaleBenchIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    @Test
    void tenNodesAtRestWriteAtMostOncePerSecondEachSeeChangesAndReplaceTheirMasterWithinASecond() throws Exception {
        int quietSeconds = 10;
        Map<String, String> f = ScaleBench.run(etcd.member(0).endpoint(), 10, 2, quietSeconds, 5, 2);
        System.out.println(f);
        // The goal is at most one write per second per node; presence writes once a second, so a window of W seconds
        // counts W puts per node, or W + 1 when a node's puts fall on both of its edges: that one put is the
        // measurement's own error, 1/W per node per second, and nothing more is allowed.
        assertTrue(Double.parseDouble(f.get("rest_writes_per_s_per_node")) <= 1.0 + 1.0 / quietSeconds,
                "writes at rest: " + f);
        // At rest nothing but presence puts and lease keep-alives: no reads, no transactions (no campaign, no verify).
        assertEquals(null, f.get("rest_unary_Range_per_s"), "reads at rest: " + f);
        assertEquals(null, f.get("rest_unary_Txn_per_s"), "transactions at rest: " + f);
        assertTrue(Long.parseLong(f.get("change_every_view_p99_ms")) <= 1000, "view propagation: " + f);
        assertTrue(Long.parseLong(f.get("failover_max_ms")) <= 1000, "failover after a lease revoke: " + f);
    }
}
