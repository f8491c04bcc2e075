package radiod.radioctl.output;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

import radiod.cluster.model.Drain;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/**
 * The cluster as {@code radioctl status} shows it, built from one snapshot: the master, every node (live ones,
 * and drained or transcoder-holding ones that are not live, as down) and every mount's listeners per node.
 *
 * @param revision the etcd revision the report reflects
 * @param master   the master, or null when no node holds the master key
 */
public record StatusReport(long revision, Master master, List<Node> nodes, List<MountListeners> mounts) {
    /** Who holds the sources. */
    public record Master(String name, List<String> addresses, long electedAt) {
    }

    /**
     * One node.
     *
     * @param state {@code up}, {@code drained} (live and drained), or {@code down} (not live, or its Icecast does
     *              not answer)
     * @param role  {@code master} or {@code relay}; null when the node is not live
     */
    public record Node(String name, String state, String role, boolean live, boolean icecastUp, boolean drained,
                       String drainReason, Long drainedSince, List<String> addresses, int listeners, int maxListeners,
                       long bandwidthBps, long maxBandwidthBps, List<String> transcoders, String version,
                       Long updatedAt) {
    }

    /**
     * One mount's listeners.
     *
     * @param onAir           whether the mount is live on the master's Icecast (has its source); null without master
     * @param listenersByNode listeners per live node where the mount is live
     * @param transcoder      the node running the transcoder of a transcoded mount, or null
     * @param title           the song title now, or null
     * @param encoderOn       the nodes holding the mount's encoder now
     */
    public record MountListeners(String path, String type, Boolean onAir, Map<String, Integer> listenersByNode,
                                 int listeners, String transcoder, String title, List<String> encoderOn) {
    }

    public static StatusReport of(ClusterSnapshot s) {
        Master master = s.master().map(StatusReport::master).orElse(null);
        Map<String, List<String>> transcodersByNode = new TreeMap<>();
        s.transcoders().forEach((mount, node) -> transcodersByNode.computeIfAbsent(node, n -> new ArrayList<>()).add(mount));

        TreeSet<String> names = new TreeSet<>(s.nodes().keySet());
        names.addAll(s.drains().keySet());
        names.addAll(transcodersByNode.keySet());
        s.master().ifPresent(m -> names.add(m.name()));

        List<Node> nodes = new ArrayList<>();
        for (String name : names) {
            Optional<NodeStatus> live = s.node(name);
            Drain drain = s.drains().get(name);
            TreeSet<String> transcoders = new TreeSet<>(transcodersByNode.getOrDefault(name, List.of()));
            live.ifPresent(n -> transcoders.addAll(n.transcoders()));
            if (live.isPresent()) {
                NodeStatus n = live.get();
                String state = drain != null ? "drained" : n.icecastUp() ? "up" : "down";
                nodes.add(new Node(name, state, s.isMaster(name) ? "master" : "relay", true, n.icecastUp(), drain != null,
                        drain == null ? null : drain.reason(), drain == null ? null : drain.since(), n.addresses(),
                        n.listeners(), n.maxListeners(), n.bandwidthBps(), n.maxBandwidthBps(), List.copyOf(transcoders),
                        n.version(), n.updatedAt()));
            } else {
                List<String> addresses = s.master().filter(m -> m.name().equals(name)).map(MasterInfo::addresses)
                        .orElse(List.of());
                nodes.add(new Node(name, "down", null, false, false, drain != null, drain == null ? null : drain.reason(),
                        drain == null ? null : drain.since(), addresses, 0, 0, 0, 0, List.copyOf(transcoders), null, null));
            }
        }

        List<MountListeners> mounts = new ArrayList<>();
        Optional<NodeStatus> masterNode = s.master().flatMap(m -> s.node(m.name()));
        for (Mount m : s.mounts().values().stream().sorted((a, b) -> a.path().compareTo(b.path())).toList()) {
            Map<String, Integer> byNode = new LinkedHashMap<>();
            int total = 0;
            for (String name : new TreeSet<>(s.nodes().keySet())) {
                Integer n = s.nodes().get(name).listenersByMount().get(m.path());
                if (n != null) {
                    byNode.put(name, n);
                    total += n;
                }
            }
            mounts.add(new MountListeners(m.path(), MountReport.type(m),
                    masterNode.map(n -> n.hasMount(m.path())).orElse(null), byNode, total, s.transcoders().get(m.path()),
                    s.title(m.path()).orElse(null), encoderNodes(s, m.path())));
        }
        return new StatusReport(s.revision(), master, nodes, mounts);
    }

    /** The live nodes whose source front holds an encoder of the mount. */
    public static List<String> encoderNodes(ClusterSnapshot s, String mount) {
        return s.nodes().values().stream().filter(n -> n.sources().containsKey(mount)).map(NodeStatus::name).sorted()
                .toList();
    }

    private static Master master(MasterInfo m) {
        return new Master(m.name(), m.addresses(), m.electedAt());
    }

    /** The human form: the master, a table of nodes, a table of mounts, then notes. */
    public String render() {
        StringBuilder sb = new StringBuilder();
        if (master == null) {
            sb.append("master: none (no node holds the master key; encoders cannot broadcast until one does)\n");
        } else {
            sb.append("master: ").append(master.name()).append(" (").append(String.join(", ", master.addresses()))
                    .append("), elected ").append(time(master.electedAt())).append('\n');
        }
        sb.append('\n');
        if (nodes.isEmpty()) {
            sb.append("no nodes are live\n");
        } else {
            Table t = new Table("NODE", "STATE", "ROLE", "ADDRESSES", "LISTENERS", "BANDWIDTH", "TRANSCODERS");
            for (Node n : nodes) {
                if (!n.live()) {
                    t.row(n.name(), n.state(), "-", n.addresses().isEmpty() ? "-" : String.join(",", n.addresses()),
                            "-", "-", n.transcoders().isEmpty() ? "-" : String.join(",", n.transcoders()));
                    continue;
                }
                t.row(n.name(), n.state(), n.role(), String.join(",", n.addresses()),
                        n.listeners() + " / " + (n.maxListeners() == 0 ? "no limit" : n.maxListeners()),
                        Units.ofLimit(Units.bitsPerSecond(n.bandwidthBps()), n.maxBandwidthBps(),
                                Units.bitsPerSecond(n.maxBandwidthBps())),
                        n.transcoders().isEmpty() ? "-" : String.join(",", n.transcoders()));
            }
            sb.append(t.render());
        }
        sb.append('\n');
        if (mounts.isEmpty()) {
            sb.append("no mounts yet (`radioctl create-mount PATH` creates one)\n");
        } else {
            List<String> liveNodes = nodes.stream().filter(Node::live).map(Node::name).toList();
            List<String> headers = new ArrayList<>(List.of("MOUNT", "TYPE", "ON AIR"));
            headers.addAll(liveNodes);
            headers.add("TOTAL");
            Table t = new Table(headers.toArray(String[]::new));
            for (MountListeners m : mounts) {
                List<Object> cells = new ArrayList<>(List.of(m.path(), m.type(),
                        m.onAir() == null ? "-" : m.onAir() ? "yes" : "no"));
                for (String node : liveNodes) {
                    cells.add(m.listenersByNode().containsKey(node) ? m.listenersByNode().get(node) : "-");
                }
                cells.add(m.listeners());
                t.row(cells.toArray());
            }
            sb.append(t.render());
        }
        List<String> notes = new ArrayList<>();
        for (MountListeners m : mounts) {
            if (m.title() != null) {
                notes.add(m.path() + " now playing: " + m.title());
            }
        }
        for (Node n : nodes) {
            if (n.drained()) {
                notes.add(n.name() + " is drained since " + time(n.drainedSince())
                        + (n.drainReason() == null || n.drainReason().isEmpty() ? "" : ": " + n.drainReason()));
            }
            if (n.live() && !n.icecastUp()) {
                notes.add(n.name() + ": its Icecast does not answer (radiod restarts it)");
            }
            if (!n.live()) {
                notes.add(n.name() + " is not live (no status in etcd)");
            }
        }
        if (!notes.isEmpty()) {
            sb.append('\n');
            notes.forEach(n -> sb.append(n).append('\n'));
        }
        return sb.toString();
    }

    private static String time(Long epochMillis) {
        return epochMillis == null || epochMillis <= 0 ? "(unknown)"
                : Instant.ofEpochMilli(epochMillis).truncatedTo(ChronoUnit.SECONDS).toString();
    }
}
