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
 * The cluster as the status page and {@code /status.json} show it: one snapshot, seen from one node, which also
 * says whether it believes itself master (so a test harness or an operator can compare every node's belief).
 *
 * @param self           the node answering
 * @param selfIsMaster   whether the node answering acts as master right now, by its own account
 * @param master         the holder of the {@code master} key in the view, or null when there is none
 * @param revision       etcd revision of the view
 * @param read           whether the node answering has read the cluster from etcd yet ({@link ClusterSnapshot#isRead});
 *                       until it has, its nodes and mounts are not known, and the empty lists below say nothing
 * @param totalListeners listeners across the cluster, all mounts
 * @param nodes          live nodes, by name
 * @param mounts         defined mounts, by path
 */
public record ClusterStatus(String self, boolean selfIsMaster, String master, long revision, boolean read,
                            int totalListeners, List<Node> nodes, List<MountRow> mounts) {

    /**
     * @param role          {@code master} for the holder of the master key, else {@code relay}
     * @param state         {@code up}, {@code down} (its Icecast does not answer) or {@code drained}
     * @param master        whether it holds the master key in the view
     * @param reportsMaster whether it says, in its own published status, that it acts as master
     */
    public record Node(String name, String role, String state, boolean master, boolean reportsMaster, List<String> addresses,
                       int httpPort, int listeners, int maxListeners, long bandwidthBps, long maxBandwidthBps,
                       boolean icecastUp, boolean drained, List<String> transcoders, String version, long updatedAt) {
    }

    /**
     * @param live            whether any node has the mount live
     * @param listenersByNode listeners per node on which the mount is live
     * @param total           listeners of the mount across the cluster
     * @param transcodedFrom  the source mount of a transcoded mount, else null
     * @param title           the song title now (from the encoder's metadata update or an operator), else null
     * @param peak            the most listeners of the mount across the cluster this node has seen at once
     * @param url             the mount's cluster URL as the asker reached this node (https over HTTPS); null when not
     *                        known
     */
    public record MountRow(String path, boolean live, Map<String, Integer> listenersByNode, int total, int bitrateKbps,
                           String transcodedFrom, String title, int peak, String url) {
    }

    public static ClusterStatus of(ClusterSnapshot s, String self, boolean selfIsMaster) {
        return of(s, self, selfIsMaster, Map.of());
    }

    /** @param peaks the most listeners of each mount seen at once so far (the current count counts too) */
    public static ClusterStatus of(ClusterSnapshot s, String self, boolean selfIsMaster, Map<String, Integer> peaks) {
        return of(s, self, selfIsMaster, peaks, null);
    }

    /**
     * @param peaks   the most listeners of each mount seen at once so far (the current count counts too)
     * @param baseUrl the cluster's base URL as the asker reached it (e.g. {@code https://radio.example.org}), for each
     *                mount's URL; null for none
     */
    public static ClusterStatus of(ClusterSnapshot s, String self, boolean selfIsMaster, Map<String, Integer> peaks,
                                   String baseUrl) {
        List<NodeStatus> sorted = new ArrayList<>(s.nodes().values());
        sorted.sort(Comparator.comparing(NodeStatus::name));
        List<Node> nodes = new ArrayList<>(sorted.size());
        int totalListeners = 0;
        for (NodeStatus n : sorted) {
            boolean drained = n.drained() || s.isDrained(n.name());
            boolean master = s.isMaster(n.name());
            String state = !n.icecastUp() ? "down" : drained ? "drained" : "up";
            nodes.add(new Node(n.name(), master ? "master" : "relay", state, master, n.master(), n.addresses(), n.httpPort(),
                    n.listeners(), n.maxListeners(), n.bandwidthBps(), n.maxBandwidthBps(), n.icecastUp(), drained,
                    n.transcoders(), n.version(), n.updatedAt()));
            totalListeners += n.listeners();
        }
        List<Mount> defined = new ArrayList<>(s.mounts().values());
        defined.sort(Comparator.comparing(Mount::path));
        List<MountRow> mounts = new ArrayList<>(defined.size());
        for (Mount m : defined) {
            Map<String, Integer> byNode = new LinkedHashMap<>();
            int total = 0;
            for (NodeStatus n : sorted) {
                Integer count = n.listenersByMount().get(m.path());
                if (count != null) {
                    byNode.put(n.name(), count);
                    total += count;
                }
            }
            mounts.add(new MountRow(m.path(), !byNode.isEmpty(), byNode, total, (int) (m.bitsPerSecond() / 1000),
                    m.isTranscoded() ? m.transcoding().sourceMount() : null, s.title(m.path()).orElse(null),
                    Math.max(total, peaks.getOrDefault(m.path(), 0)), baseUrl == null ? null : baseUrl + m.path()));
        }
        return new ClusterStatus(self, selfIsMaster, s.master().map(mi -> mi.name()).orElse(null), s.revision(),
                s.isRead(), totalListeners, nodes, mounts);
    }
}
