package radiod.dns.zone;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import radiod.cluster.model.Drain;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/** Hand-built cluster snapshots for DNS tests. */
public final class Snapshots {
    private Snapshots() {
    }

    public static NodeStatus node(String name, boolean icecastUp, String... addresses) {
        return new NodeStatus(name, List.of(addresses), 8080, 8000, 8100, 53, icecastUp, false, false, 0, Map.of(),
                0, 0, 0, List.of(), "test", 1);
    }

    public static ClusterSnapshot of(long revision, List<NodeStatus> nodes, String... drained) {
        Map<String, NodeStatus> byName = new HashMap<>();
        nodes.forEach(n -> byName.put(n.name(), n));
        Map<String, Drain> drains = new HashMap<>();
        for (String d : drained) {
            drains.put(d, new Drain("test", 1));
        }
        return new ClusterSnapshot(revision, byName, Optional.empty(), Map.of(), Map.of(), drains);
    }
}
