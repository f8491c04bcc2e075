package radiod.cluster.liveness;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.options.PutOption;
import io.grpc.Status;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Json;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.testkit.Delegate;
import radiod.testkit.EtcdCluster;
import radiod.testkit.Ports;
import radiod.testkit.etcd.EtcdPrefix;

/**
 * A peer whose HTTP port refuses and who has stopped publishing loses its lease at once; a peer that refuses but still
 * publishes (starting up), whose port does not answer at all (frozen, partitioned), whose HTTP port listens on another
 * address than its first, or that was restarted under the same name, keeps it.
 *
 * <p>"Keeps it" is checked continuously for longer than a refusal takes to be judged ({@code during}), and only after
 * enough probes were made to judge one: a check that the prober never ran proves nothing.
 */
class RefusedPeersIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();
    @RegisterExtension
    final EtcdPrefix keys = EtcdPrefix.on(etcd, "refused");

    /** Longer than a refusal takes to be judged (REFUSED_FOR_MILLIS) plus a few probes. */
    static final Duration KEPT_FOR = Duration.ofMillis(RefusedPeers.REFUSED_FOR_MILLIS + 1750);
    /** Probes that span more than REFUSED_FOR_MILLIS. */
    static final int ENOUGH_PROBES = (int) (RefusedPeers.REFUSED_FOR_MILLIS / RefusedPeers.PROBE_MILLIS) + 4;

    Client client;
    EtcdOptions options;
    long lease;
    /** The peer as this node's view shows it. */
    final AtomicReference<NodeStatus> peer = new AtomicReference<>();
    /** What the prober saw, "host:port PROBE". */
    final ConcurrentLinkedQueue<String> probes = new ConcurrentLinkedQueue<>();

    @BeforeEach
    void aLease() {
        options = EtcdOptions.of(etcd.endpoints()).withPrefix(keys.prefix());
        client = EtcdClients.connect(options);
        lease = EtcdClients.await(client.getLeaseClient().grant(60), options, "grant").getID();
    }

    @AfterEach
    void close() {
        client.close();
    }

    /** The peer's keys in etcd, under its long lease: its node key holding {@code status}, and the master key. */
    void peerPublished(NodeStatus status) {
        EtcdClients.await(client.getKVClient().put(options.keys().node(status.name()), Keys.bytes(Json.encodeString(status)),
                PutOption.builder().withLeaseId(lease).build()), options, "put");
        EtcdClients.await(client.getKVClient().put(options.keys().master(), Keys.bytes("{}"),
                PutOption.builder().withLeaseId(lease).build()), options, "put");
    }

    ClusterSnapshot view() {
        NodeStatus me = status("node1", "127.0.0.1", 8080, "me", 1);
        return new ClusterSnapshot(1, Map.of("node1", me, "node2", peer.get()), Optional.empty(), Map.of(), Map.of(), Map.of());
    }

    /** A status whose first address is 127.0.0.1 and whose HTTP port listens on {@code httpAddress}. */
    static NodeStatus status(String name, String httpAddress, int httpPort, String instance, long updatedAt) {
        return new NodeStatus(name, List.of("127.0.0.1"), httpPort, 8000, 8100, 5353, true, false, false, 0, Map.of(), 0, 0,
                0, List.of(), "test", updatedAt, Map.of(), httpAddress + ":" + httpPort, instance);
    }

    static NodeStatus publishedAgain(NodeStatus s) {
        return status(s.name(), s.http().orElseThrow().host(), s.httpPort(), s.instance(), s.updatedAt() + 1);
    }

    RefusedPeers.Prober recording(RefusedPeers.Prober real) {
        return (host, port) -> {
            RefusedPeers.Probe p = real.probe(host, port);
            probes.add(host + ":" + port + " " + p);
            return p;
        };
    }

    RefusedPeers watching(RefusedPeers.Prober prober) {
        return new RefusedPeers(client, options, this::view, "node1", recording(prober)).start();
    }

    boolean peerKeysPresent() {
        return !EtcdClients.await(client.getKVClient().get(options.keys().node("node2")), options, "get").getKvs().isEmpty();
    }

    /** The peer keeps its lease for longer than a refusal takes to judge, over enough probes to judge one. */
    void keepsItsLease(RefusedPeers peers, Set<String> refusing) {
        await().during(KEPT_FOR).atMost(KEPT_FOR.plusSeconds(2)).pollInterval(Duration.ofMillis(50))
                .until(() -> peers.revocations() == 0);
        await().atMost(Duration.ofSeconds(10)).until(() -> probes.size() >= ENOUGH_PROBES);
        // Revocations only grow: none now means none during all those probes.
        assertEquals(0, peers.revocations(), "probes: " + probes);
        assertTrue(peerKeysPresent());
        assertEquals(refusing, peers.refusing(), "where no listener is sent");
    }

    @Test
    void aPeerWhosePortRefusesAndWhoStoppedPublishingLosesItsLeaseWithinTwoSeconds() {
        peer.set(status("node2", "127.0.0.1", Ports.free("127.0.0.1"), "a", 1)); // nothing listens: the kernel refuses
        peerPublished(peer.get());
        try (RefusedPeers peers = watching(RefusedPeers::connect)) {
            long start = System.nanoTime();
            // Listeners are kept away from it at its first refused probe, long before its lease can be judged.
            await().atMost(Duration.ofMillis(2 * RefusedPeers.PROBE_MILLIS + 250)).pollInterval(Duration.ofMillis(10))
                    .until(() -> peers.refusing().equals(Set.of("node2")));
            long refusedAfter = (System.nanoTime() - start) / 1_000_000;
            assertTrue(peerKeysPresent(), "told before its lease is revoked");
            await().atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(50)).until(() -> !peerKeysPresent());
            System.out.println("RefusedPeersIT: refusing " + refusedAfter + " ms after the start");
            long took = (System.nanoTime() - start) / 1_000_000;
            System.out.println("RefusedPeersIT: lease revoked " + took + " ms after the first probe could see the refusal");
            // Counted when the revoke's answer reaches the probe, which may be after a get sees the keys gone.
            await().atMost(Duration.ofSeconds(2)).until(() -> peers.revocations() == 1);
            assertFalse(EtcdClients.await(client.getKVClient().get(options.keys().master()), options, "get").getCount() > 0,
                    "the master key under the same lease is gone too");
        }
    }

    /**
     * A revoke etcd does not answer (a blip of its own at that moment) is tried again when the refusals have been
     * judged again, not left to the lease's expiry (60 s here; the TTL in a cluster).
     */
    @Test
    void aRevokeThatFailedIsTriedAgain() {
        peer.set(status("node2", "127.0.0.1", Ports.free("127.0.0.1"), "a", 1)); // nothing listens: the kernel refuses
        peerPublished(peer.get());
        AtomicInteger revokes = new AtomicInteger();
        Lease failingOnce = Delegate.of(Lease.class, client.getLeaseClient(), (method, args, call) ->
                method.getName().equals("revoke") && revokes.incrementAndGet() == 1
                        ? CompletableFuture.failedFuture(Status.UNAVAILABLE.withDescription("the test's blip").asRuntimeException())
                        : call.call());
        Client failingClient = Delegate.of(Client.class, client,
                (method, args, call) -> method.getName().equals("getLeaseClient") ? failingOnce : call.call());
        try (RefusedPeers peers = new RefusedPeers(failingClient, options, this::view, "node1", recording(RefusedPeers::connect))
                .start()) {
            long start = System.nanoTime();
            await().atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(20)).until(() -> revokes.get() >= 1);
            assertTrue(peerKeysPresent(), "the first revoke failed");
            // Judged again a refusal period later, and revoked.
            await().atMost(Duration.ofMillis(RefusedPeers.REFUSED_FOR_MILLIS + 2500)).pollInterval(Duration.ofMillis(50))
                    .until(() -> !peerKeysPresent());
            System.out.println("RefusedPeersIT: lease revoked at the second try, " + (System.nanoTime() - start) / 1_000_000
                    + " ms after the start");
            assertEquals(2, revokes.get());
            await().atMost(Duration.ofSeconds(2)).until(() -> peers.revocations() == 1);
        }
    }

    /**
     * A revoke etcd refuses outright (this node's etcd user may not revoke: a role without the lease permission) is
     * not sent again at each judgement: asking again will not change etcd's answer, and the lease expires by itself.
     */
    @Test
    void aRevokeEtcdRefusesIsNotSentAgain() {
        peer.set(status("node2", "127.0.0.1", Ports.free("127.0.0.1"), "a", 1)); // nothing listens: the kernel refuses
        peerPublished(peer.get());
        AtomicInteger revokes = new AtomicInteger();
        Lease refusing = Delegate.of(Lease.class, client.getLeaseClient(), (method, args, call) -> {
            if (!method.getName().equals("revoke")) {
                return call.call();
            }
            revokes.incrementAndGet();
            return CompletableFuture.failedFuture(Status.PERMISSION_DENIED
                    .withDescription("etcdserver: permission denied").asRuntimeException());
        });
        Client refusingClient = Delegate.of(Client.class, client,
                (method, args, call) -> method.getName().equals("getLeaseClient") ? refusing : call.call());
        try (RefusedPeers peers = new RefusedPeers(refusingClient, options, this::view, "node1",
                recording(RefusedPeers::connect)).start()) {
            await().atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(20)).until(() -> revokes.get() >= 1);
            // Two more judgements of the still-refusing peer: a retry would come at the first (≈1.5 s).
            await().during(Duration.ofMillis(2 * RefusedPeers.REFUSED_FOR_MILLIS + 500))
                    .atMost(Duration.ofMillis(2 * RefusedPeers.REFUSED_FOR_MILLIS + 2000))
                    .pollInterval(Duration.ofMillis(50)).until(() -> revokes.get() == 1);
            assertTrue(peerKeysPresent(), "refused: the lease and its keys stay until it expires");
            assertEquals(0, peers.revocations());
        }
    }

    @Test
    void aLivePeerWhoseHttpListensOnAnotherAddressThanItsFirstIsNeverRevoked() throws Exception {
        // Its HTTP server is bound to 127.0.0.2 only; its first published address, 127.0.0.1, refuses that port.
        try (ServerSocket http = bindOnlyOn("127.0.0.2")) {
            int port = http.getLocalPort();
            assertEquals(RefusedPeers.Probe.REFUSED, RefusedPeers.connect("127.0.0.1", port), "precondition");
            // It does not publish during the test (its view may lag, its presence may miss a beat): only the probe of
            // the endpoint it published can tell that it lives.
            peer.set(status("node2", "127.0.0.2", port, "a", 1));
            peerPublished(peer.get());
            try (RefusedPeers peers = watching(RefusedPeers::connect)) {
                keepsItsLease(peers, Set.of());
            }
            assertTrue(probes.stream().allMatch(p -> p.equals("127.0.0.2:" + port + " ACCEPTED")), "probes: " + probes);
        }
    }

    @Test
    void aPeerRestartedUnderTheSameNameKeepsItsNewLease() {
        // The view still shows the old process, refusing and silent; the node key already holds the new process's
        // status under the new process's lease (its HTTP port is not bound yet).
        int port = Ports.free("127.0.0.1");
        peer.set(status("node2", "127.0.0.1", port, "before-restart", 1));
        peerPublished(status("node2", "127.0.0.1", port, "after-restart", 2));
        try (RefusedPeers peers = watching(RefusedPeers::connect)) {
            keepsItsLease(peers, Set.of("node2"));
        }
        assertTrue(probes.stream().allMatch(p -> p.endsWith(" REFUSED")), "probes: " + probes);
    }

    @Test
    void aRefusingPeerThatStillPublishesKeepsItsLease() {
        // Refusing, but publishing every 500 ms, like a radiod whose HTTP port is not bound yet.
        peer.set(status("node2", "127.0.0.1", Ports.free("127.0.0.1"), "a", 1));
        peerPublished(peer.get());
        ScheduledExecutorService presence = Executors.newSingleThreadScheduledExecutor();
        try (RefusedPeers peers = watching(RefusedPeers::connect)) {
            presence.scheduleAtFixedRate(() -> peer.updateAndGet(RefusedPeersIT::publishedAgain), 500, 500,
                    TimeUnit.MILLISECONDS);
            keepsItsLease(peers, Set.of("node2"));
        } finally {
            presence.shutdownNow();
        }
        assertTrue(probes.stream().allMatch(p -> p.endsWith(" REFUSED")), "probes: " + probes);
    }

    @Test
    void aPeerWhosePortAcceptsOrDoesNotAnswerKeepsItsLease() throws Exception {
        try (ServerSocket listening = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            // Accepted (a frozen radiod's kernel still accepts), and silent.
            peer.set(status("node2", "127.0.0.1", listening.getLocalPort(), "a", 1));
            peerPublished(peer.get());
            try (RefusedPeers peers = watching(RefusedPeers::connect)) {
                keepsItsLease(peers, Set.of());
            }
        }
        probes.clear();
        // A port that never answers (a partition, a dead host) is not a refusal either.
        try (RefusedPeers peers = watching((a, p) -> RefusedPeers.Probe.OTHER)) {
            keepsItsLease(peers, Set.of());
        }
    }

    /** A server socket on {@code address} at a port that is free, and refuses, on 127.0.0.1 as well. */
    private static ServerSocket bindOnlyOn(String address) throws IOException {
        for (int attempt = 0; ; attempt++) {
            int port = Ports.free("127.0.0.1");
            ServerSocket s = new ServerSocket();
            try {
                s.bind(new InetSocketAddress(InetAddress.getByName(address), port));
                return s;
            } catch (IOException e) {
                s.close();
                if (attempt > 20) {
                    throw e;
                }
            }
        }
    }
}
