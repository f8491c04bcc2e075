package radiod.cluster.liveness;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdErrors;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Endpoint;
import radiod.cluster.model.Json;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.lifecycle.DaemonThreads;

/**
 * Notices a dead peer before its lease runs out. A radiod killed or crashed on a host that is still up leaves its
 * lease (and with it its node key, the master key if it held it, and its transcoders) alive for up to the TTL, while
 * that host's kernel refuses connections to its HTTP port at once. Every {@link #PROBE_MILLIS} this connects to each
 * peer's HTTP port, at exactly the endpoint the peer published for it ({@link NodeStatus#httpEndpoint()}: the address
 * its HTTP server is bound to, which need not be its first public address); a peer that has refused for
 * {@link #REFUSED_FOR_MILLIS} and has not published its status in that time (a live radiod publishes every second,
 * even while starting) has the lease of its node key revoked. Its keys go at once, and the others elect a master and
 * take over its transcoders without waiting for the TTL.
 *
 * <p>Revoking a live peer's lease would be worse than waiting: it still trusts its lease for a while, so two nodes
 * could act as master. Hence: a peer that did not publish where its HTTP port listens (an older radiod) is not probed;
 * only a refused connection counts ({@link ConnectException}, never a timeout or an unreachable host); and just before
 * revoking, the node key is read again and the lease is revoked only if the key still holds the very status the
 * refusals were judged by, from the same process ({@link NodeStatus#instance()}): a peer that published since, or was
 * restarted under the same name (a new process with a new lease), keeps its lease.
 *
 * <p>A frozen peer (its kernel still accepts), a partitioned one or a dead host (nothing answers) is not refused: it
 * is left to its lease as before, so fencing is unchanged. A firewall that rejects with a TCP reset between nodes
 * would make a live peer look dead; radiod's ports must be open between the nodes in any case.
 */
public final class RefusedPeers implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RefusedPeers.class);
    static final long PROBE_MILLIS = 250;
    static final long REFUSED_FOR_MILLIS = 1250;
    private static final int CONNECT_TIMEOUT_MILLIS = 300;

    /** How a peer's port answered. */
    enum Probe { ACCEPTED, REFUSED, OTHER }

    /** Probes one address and port; a test stands in for the network with its own. */
    interface Prober {
        Probe probe(String address, int port);
    }

    /** A peer refusing since {@code sinceMillis}, judged by the status it had published then. */
    private record Refusing(long sinceMillis, NodeStatus status) {
    }

    private final Client client;
    private final EtcdOptions options;
    private final Keys keys;
    private final Supplier<ClusterSnapshot> view;
    private final String self;
    private final Prober prober;
    private final ScheduledExecutorService thread;
    /** Peers refusing right now: since when, and their status when the refusals began. Probe thread only. */
    private final Map<String, Refusing> refusing = new HashMap<>();
    private final Set<Long> revoked = new HashSet<>();
    private volatile long revocations;
    /** The peers whose HTTP port refused the last probe; replaced, never changed, when it changes. */
    private volatile Set<String> refusingNow = Set.of();

    public RefusedPeers(Client client, EtcdOptions options, Supplier<ClusterSnapshot> view, String self) {
        this(client, options, view, self, RefusedPeers::connect);
    }

    RefusedPeers(Client client, EtcdOptions options, Supplier<ClusterSnapshot> view, String self, Prober prober) {
        this.client = client;
        this.options = options;
        this.keys = options.keys();
        this.view = view;
        this.self = self;
        this.prober = prober;
        this.thread = DaemonThreads.scheduled("radiod-peer-probe");
    }

    public RefusedPeers start() {
        thread.scheduleWithFixedDelay(this::probeAll, PROBE_MILLIS, PROBE_MILLIS, TimeUnit.MILLISECONDS);
        return this;
    }

    /**
     * The peers whose HTTP port refused this node's last probe of it: a listener sent there now would find nothing
     * listening ({@link ReachableView} leaves them out of redirects at once, 1.25 s before their lease can be revoked).
     * The same set object until it changes.
     */
    public Set<String> refusing() {
        return refusingNow;
    }

    /** Leases revoked so far. */
    public long revocations() {
        return revocations;
    }

    static Probe connect(String address, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, port), CONNECT_TIMEOUT_MILLIS);
            return Probe.ACCEPTED;
        } catch (ConnectException e) {
            // The host is up and nothing listens there (a reset to the SYN). A timeout (SocketTimeoutException) or an
            // unreachable host (NoRouteToHostException) is not a ConnectException, so not a refusal.
            return Probe.REFUSED;
        } catch (IOException | RuntimeException e) {
            return Probe.OTHER;
        }
    }

    void probeAll() {
        try {
            ClusterSnapshot snapshot = view.get();
            Set<String> seen = new HashSet<>();
            Set<String> refused = new HashSet<>();
            List<Refusing> judged = new ArrayList<>();
            for (NodeStatus peer : snapshot.nodes().values()) {
                if (peer.name().equals(self) || peer.http().isEmpty()) {
                    continue; // an older peer that does not say where it listens is left to its lease
                }
                seen.add(peer.name());
                if (probe(peer, System.nanoTime() / 1_000_000, judged)) {
                    refused.add(peer.name());
                }
            }
            refusing.keySet().retainAll(seen);
            Set<String> before = refusingNow;
            if (!refused.equals(before)) {
                for (String peer : refused) {
                    if (!before.contains(peer)) {
                        log.info("peer {}: its HTTP port refuses connections; sending no listeners there", peer);
                    }
                }
                for (String peer : before) {
                    if (!refused.contains(peer) && seen.contains(peer)) {
                        log.info("peer {}: its HTTP port accepts connections again", peer);
                    }
                }
                refusingNow = Set.copyOf(refused);
            }
            // After the listeners are kept away: a revoke waits for etcd (up to its call timeout when etcd is slow).
            long nowMillis = System.nanoTime() / 1_000_000;
            for (Refusing r : judged) {
                revoke(r.status(), nowMillis - r.sinceMillis());
            }
        } catch (RuntimeException e) {
            log.warn("peer probe failed: {}", e.toString());
        }
    }

    /** One probe of the peer; true when its port refused. Adds it to {@code judged} once it has refused long enough. */
    private boolean probe(NodeStatus peer, long nowMillis, List<Refusing> judged) {
        Endpoint http = peer.http().orElseThrow();
        if (prober.probe(http.host(), http.port()) != Probe.REFUSED) {
            refusing.remove(peer.name());
            return false;
        }
        Refusing since = refusing.get(peer.name());
        if (since == null || since.status().updatedAt() != peer.updatedAt()
                || !since.status().instance().equals(peer.instance())) {
            // First refusal, or the peer published since the refusals began (or was restarted): it is alive.
            refusing.put(peer.name(), new Refusing(nowMillis, peer));
            return true;
        }
        if (nowMillis - since.sinceMillis() >= REFUSED_FOR_MILLIS) {
            judged.add(since);
            refusing.remove(peer.name());
        }
        return true;
    }

    /**
     * Revokes the lease under which the peer's node key is held now, if the key still holds the status the refusals
     * were judged by: same process, nothing published since.
     */
    private void revoke(NodeStatus judged, long refusedMillis) {
        String peer = judged.name();
        long lease = 0;
        try {
            GetResponse r = EtcdClients.await(client.getKVClient().get(keys.node(peer)), options, "get node " + peer);
            if (r.getKvs().isEmpty()) {
                return;
            }
            KeyValue kv = r.getKvs().get(0);
            lease = kv.getLease();
            Optional<NodeStatus> now = Json.decode(kv.getKey().toString(), kv.getValue().getBytes(), NodeStatus.class);
            if (now.isEmpty() || !now.get().instance().equals(judged.instance())
                    || now.get().updatedAt() != judged.updatedAt()) {
                log.info("peer {}: its HTTP port {} refused for {} ms, but its node key now holds a newer status{}:"
                        + " leaving its lease", peer, judged.httpEndpoint(), refusedMillis,
                        now.filter(n -> !n.instance().equals(judged.instance())).isPresent() ? " from a new process" : "");
                return;
            }
            if (lease == 0 || !revoked.add(lease)) {
                return;
            }
            log.warn("peer {}: its HTTP port {} has refused connections for {} ms and it has not published since:"
                    + " revoking its lease {} so that its roles move now, not when the lease expires", peer,
                    judged.httpEndpoint(), refusedMillis, Long.toHexString(lease));
            EtcdClients.await(client.getLeaseClient().revoke(lease), options, "revoke lease of " + peer);
            revocations++;
        } catch (RuntimeException e) {
            if (EtcdErrors.isNotFound(e)) {
                // Expired, or revoked by another peer meanwhile: what the revoke was for has happened.
                log.info("peer {}: its lease is gone already", peer);
            } else if (EtcdErrors.isAnswered(e)) {
                log.warn("peer {}: etcd refused to revoke its lease: {}", peer, e.getMessage());
            } else {
                // Not answered (etcd may have missed a beat): tried again when the refusals have been judged again,
                // not left to the lease's own expiry, a TTL or more away.
                revoked.remove(lease);
                log.info("peer {}: could not revoke its lease (etcd unreachable?): {}", peer, e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        DaemonThreads.stop(thread, Duration.ofSeconds(2));
    }
}
