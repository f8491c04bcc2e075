package radiod.redirector.status;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/**
 * The cluster as the status page and {@code /status.json} show it, built from one snapshot and this node's
 * own account of its role.
 */
public record ClusterStatus(String self, boolean selfIsMaster, String master, long revision, List<Node> nodes,
                            List<MountRow> mounts) {

    public record Node(String name, String role, String state, List<String> addresses, int listeners, long bandwidthBps,
                       long maxBandwidthBps, int maxListeners, boolean icecastUp, boolean drained, boolean master,
                       List<String> transcoders) {
    }

    public record MountRow(String path, Map<String, Integer> listenersByNode, int total, String transcodedFrom,
                           boolean live) {
    }

    public static ClusterStatus of(ClusterSnapshot s, String self, boolean selfIsMaster) {
        List<Node> nodes = new ArrayList<>();
        s.nodes().values().stream().sorted(Comparator.comparing(NodeStatus::name)).forEach(n -> {
            boolean drained = n.drained() || s.isDrained(n.name());
            String state = !n.icecastUp() ? "icecast down" : drained ? "drained" : "up";
            boolean master = s.isMaster(n.name());
            nodes.add(new Node(n.name(), master ? "master" : "relay", state, n.addresses(), n.listeners(), n.bandwidthBps(),
                    n.maxBandwidthBps(), n.maxListeners(), n.icecastUp(), drained, master, n.transcoders()));
        });
        List<MountRow> mounts = new ArrayList<>();
        s.mounts().values().stream().sorted(Comparator.comparing(Mount::path)).forEach(m -> {
            Map<String, Integer> byNode = new LinkedHashMap<>();
            int total = 0;
            boolean live = false;
            for (Node n : nodes) {
                NodeStatus st = s.nodes().get(n.name());
                Integer count = st.listenersByMount().get(m.path());
                if (count != null) {
                    live = true;
                    byNode.put(n.name(), count);
                    total += count;
                }
            }
            mounts.add(new MountRow(m.path(), byNode, total, m.isTranscoded() ? m.transcoding().sourceMount() : null, live));
        });
        return new ClusterStatus(self, selfIsMaster, s.master().map(mi -> mi.name()).orElse(null), s.revision(), nodes, mounts);
    }
}
