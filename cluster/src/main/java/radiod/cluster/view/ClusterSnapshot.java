package radiod.cluster.view;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import radiod.cluster.model.Drain;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.model.Title;
import radiod.cluster.tls.TlsState;

/**
 * An immutable picture of the cluster at one etcd revision: what the redirector, DNS and transcoders
 * read on their hot paths.
 *
 * @param revision    etcd revision the picture reflects (0 before the first read)
 * @param nodes       live nodes by name
 * @param master      the current master, if any
 * @param mounts      mounts by path
 * @param transcoders node name running each transcoded mount, by mount path
 * @param drains      drained nodes by name
 * @param titles      current song titles, by mount path
 * @param kicks       outstanding requests to disconnect a mount's encoder: the etcd revision each was made at, by
 *                    mount path
 * @param tls         the certificate and its key, and the ACME duty's holder, status, challenges and renewal request
 */
public record ClusterSnapshot(long revision, Map<String, NodeStatus> nodes, Optional<MasterInfo> master,
                              Map<String, Mount> mounts, Map<String, String> transcoders,
                              Map<String, Drain> drains, Map<String, Title> titles, Map<String, Long> kicks,
                              TlsState tls) {
    public static final ClusterSnapshot EMPTY =
            new ClusterSnapshot(0, Map.of(), Optional.empty(), Map.of(), Map.of(), Map.of());

    /** A picture without titles or kicks. */
    public ClusterSnapshot(long revision, Map<String, NodeStatus> nodes, Optional<MasterInfo> master,
                           Map<String, Mount> mounts, Map<String, String> transcoders, Map<String, Drain> drains) {
        this(revision, nodes, master, mounts, transcoders, drains, Map.of(), Map.of());
    }

    /** A picture without TLS state. */
    public ClusterSnapshot(long revision, Map<String, NodeStatus> nodes, Optional<MasterInfo> master,
                           Map<String, Mount> mounts, Map<String, String> transcoders, Map<String, Drain> drains,
                           Map<String, Title> titles, Map<String, Long> kicks) {
        this(revision, nodes, master, mounts, transcoders, drains, titles, kicks, TlsState.NONE);
    }

    public ClusterSnapshot {
        nodes = Map.copyOf(nodes);
        master = Objects.requireNonNull(master);
        mounts = Map.copyOf(mounts);
        transcoders = Map.copyOf(transcoders);
        drains = Map.copyOf(drains);
        titles = Map.copyOf(titles);
        kicks = Map.copyOf(kicks);
        tls = Objects.requireNonNull(tls);
    }

    /** The same picture with another master (or none). */
    public ClusterSnapshot withMaster(Optional<MasterInfo> other) {
        return new ClusterSnapshot(revision, nodes, other, mounts, transcoders, drains, titles, kicks, tls);
    }

    /** The same picture with other TLS state. */
    public ClusterSnapshot withTls(TlsState other) {
        return new ClusterSnapshot(revision, nodes, master, mounts, transcoders, drains, titles, kicks, other);
    }

    /**
     * This picture without the status of the named nodes (everything else, their roles included, as it is); this very
     * picture when none of them is in it.
     */
    public ClusterSnapshot withoutNodes(Set<String> names) {
        if (names.stream().noneMatch(nodes::containsKey)) {
            return this;
        }
        Map<String, NodeStatus> kept = new HashMap<>(nodes);
        kept.keySet().removeAll(names);
        return new ClusterSnapshot(revision, kept, master, mounts, transcoders, drains, titles, kicks, tls);
    }

    /** The mount's current title, if it has one. */
    public Optional<String> title(String path) {
        Title t = titles.get(path);
        return t == null ? Optional.empty() : Optional.of(t.title());
    }

    public Optional<NodeStatus> node(String name) {
        return Optional.ofNullable(nodes.get(name));
    }

    public Optional<Mount> mount(String path) {
        return Optional.ofNullable(mounts.get(path));
    }

    /**
     * Whether this picture comes from etcd: false only for {@link #EMPTY}, what a node has before its first read
     * (etcd's revisions start at 1). Until then no answer about the cluster is known, not even "there is nothing".
     */
    public boolean isRead() {
        return revision > 0;
    }

    public boolean isDrained(String node) {
        return drains.containsKey(node);
    }

    public Set<String> drainedNodes() {
        return drains.keySet();
    }

    /** Whether the named node holds the {@code master} key. */
    public boolean isMaster(String node) {
        return master.map(m -> m.name().equals(node)).orElse(false);
    }
}
