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
import radiod.cluster.tls.AcmeStatus;
import radiod.cluster.tls.TlsCertificate;
import radiod.cluster.tls.TlsState;
import radiod.cluster.view.ClusterSnapshot;

/**
 * The cluster as {@code radioctl status} shows it, built from one snapshot: the master, every node (live ones,
 * and drained or transcoder-holding ones that are not live, as down) and every mount's listeners per node.
 *
 * @param revision the etcd revision the report reflects
 * @param master   the master, or null when no node holds the master key
 * @param tls      the certificate and its renewal, or null when the cluster has neither (no ACME duty, none stored)
 */
public record StatusReport(long revision, Master master, List<Node> nodes, List<MountListeners> mounts, Tls tls) {
    /**
     * The cluster's certificate and who renews it.
     *
     * @param certificate the stored certificate, or null
     * @param renewal     the ACME duty, or null when no node holds it and none ever tried
     */
    public record Tls(Certificate certificate, Renewal renewal) {
    }

    /** What the stored certificate is for, who issued it, until when. */
    public record Certificate(List<String> names, String issuer, long notBefore, long notAfter, String serial,
                              String obtainedBy, long obtainedAt) {
    }

    /**
     * The ACME duty.
     *
     * @param holder      the node holding it now, or null
     * @param lastAttempt when the last attempt started, or null
     * @param outcome     {@code running}, {@code ok} or {@code failed}; null before any attempt
     * @param error       why the last attempt failed, or null
     * @param nextAttempt when the next attempt is due (after a failure), or when renewal starts (after a success)
     * @param failures    failed attempts in a row
     * @param requested   whether a renewal was requested and is not done yet
     */
    public record Renewal(String holder, Long lastAttempt, String outcome, String error, Long nextAttempt, int failures,
                          boolean requested) {
    }

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
        return new StatusReport(s.revision(), master, nodes, mounts, tls(s.tls()));
    }

    static Tls tls(TlsState t) {
        Certificate certificate = t.certificate().map(StatusReport::certificate).orElse(null);
        Renewal renewal = null;
        if (t.holder().isPresent() || t.status().isPresent()) {
            AcmeStatus st = t.status().orElse(null);
            renewal = new Renewal(t.holder().map(h -> h.node()).orElse(null),
                    st == null || st.lastAttempt() == 0 ? null : st.lastAttempt(), st == null ? null : st.outcome(),
                    st == null || st.error().isEmpty() ? null : st.error(),
                    st == null || st.nextAttempt() == 0 ? null : st.nextAttempt(), st == null ? 0 : st.failures(),
                    t.renewRequested());
        }
        return certificate == null && renewal == null ? null : new Tls(certificate, renewal);
    }

    private static Certificate certificate(TlsCertificate c) {
        return new Certificate(c.names(), c.issuer(), c.notBefore(), c.notAfter(), c.serial(), c.by(), c.at());
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
        if (tls != null) {
            sb.append('\n').append(renderTls(tls, System.currentTimeMillis()));
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

    /** The certificate's and the renewal's lines. */
    static String renderTls(Tls tls, long now) {
        StringBuilder sb = new StringBuilder();
        Certificate c = tls.certificate();
        if (c == null) {
            sb.append("certificate: none yet\n");
        } else {
            long days = Math.floorDiv(c.notAfter() - now, 86_400_000L);
            String left = c.notAfter() <= now ? "EXPIRED" : days < 1 ? "in less than a day" : "in " + days + " day"
                    + (days == 1 ? "" : "s");
            sb.append("certificate: ").append(String.join(", ", c.names())).append("; expires ")
                    .append(time(c.notAfter())).append(" (").append(left).append(")\n");
            sb.append("  issued by ").append(c.issuer().isEmpty() ? "(unknown)" : c.issuer()).append(", serial ")
                    .append(c.serial()).append("; obtained by ").append(c.obtainedBy().isEmpty() ? "(unknown)" : c.obtainedBy())
                    .append(" at ").append(time(c.obtainedAt())).append('\n');
        }
        Renewal r = tls.renewal();
        if (r == null) {
            sb.append("renewal: no node holds the ACME duty (tls.acme is not configured, or no node is up)\n");
            return sb.toString();
        }
        sb.append("renewal: ").append(r.holder() == null ? "no node holds the ACME duty now" : "by " + r.holder());
        if (r.outcome() == null || r.lastAttempt() == null) {
            sb.append("; no attempt yet");
        } else {
            sb.append("; last attempt ").append(time(r.lastAttempt())).append(": ");
            switch (r.outcome()) {
                case AcmeStatus.RUNNING -> sb.append("running");
                case AcmeStatus.OK -> sb.append("ok").append(r.nextAttempt() == null ? ""
                        : "; renews from " + time(r.nextAttempt()));
                default -> sb.append("FAILED (").append(r.failures()).append(" in a row): ")
                        .append(r.error() == null ? "no reason recorded" : r.error())
                        .append(r.nextAttempt() == null ? "" : "; next attempt " + time(r.nextAttempt()));
            }
        }
        if (r.requested()) {
            sb.append("; a renewal was requested (radioctl renew-certificate) and is not done yet");
        }
        return sb.append('\n').toString();
    }

    private static String time(Long epochMillis) {
        return epochMillis == null || epochMillis <= 0 ? "(unknown)"
                : Instant.ofEpochMilli(epochMillis).truncatedTo(ChronoUnit.SECONDS).toString();
    }
}
