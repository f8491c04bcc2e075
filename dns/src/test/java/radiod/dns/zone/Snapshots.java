package radiod.dns.zone;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import radiod.cluster.model.Drain;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/** Hand-built cluster snapshots for the DNS tests. */
public final class Snapshots {
    private Snapshots() {
    }

    /** A node whose Icecast is up, not drained. */
    public static NodeStatus live(String name, String... addresses) {
        return node(name, true, false, addresses);
    }

    public static NodeStatus node(String name, boolean icecastUp, boolean drained, String... addresses) {
        return new NodeStatus(name, List.of(addresses), 8080, 8000, 8100, 53, icecastUp, drained, false, 0, Map.of(),
                0, 0, 0, List.of(), "test", 1);
    }

    public static ClusterSnapshot of(long revision, NodeStatus... nodes) {
        return withDrains(revision, List.of(), nodes);
    }

    /** A snapshot where the operator drained the named nodes (the {@code drain/<node>} keys). */
    public static ClusterSnapshot withDrains(long revision, List<String> drained, NodeStatus... nodes) {
        Map<String, NodeStatus> byName = new HashMap<>();
        Arrays.stream(nodes).forEach(n -> byName.put(n.name(), n));
        Map<String, Drain> drains = new HashMap<>();
        drained.forEach(d -> drains.put(d, new Drain("test", 1)));
        return new ClusterSnapshot(revision, byName, Optional.empty(), Map.of(), Map.of(), drains);
    }

    /** {@code count} live nodes {@code node1…} with IPv6 addresses {@code 2001:db8::1…}. */
    public static ClusterSnapshot ipv6Nodes(long revision, int count) {
        NodeStatus[] nodes = new NodeStatus[count];
        for (int i = 0; i < count; i++) {
            nodes[i] = live("node" + (i + 1), "2001:db8::" + Integer.toHexString(i + 1));
        }
        return of(revision, nodes);
    }
}
