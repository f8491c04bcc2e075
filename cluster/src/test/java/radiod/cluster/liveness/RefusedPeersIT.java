package radiod.cluster.liveness;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.PutOption;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.testkit.EtcdCluster;
import radiod.testkit.Ports;

/**
 * A peer whose HTTP port refuses and who has stopped publishing loses its lease at once; a peer that refuses but still
 * publishes (starting up), or whose port does not answer at all (frozen, partitioned), keeps it.
 */
class RefusedPeersIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    Client client;
    EtcdOptions options;
    long lease;
    final AtomicLong updatedAt = new AtomicLong(1);
    final AtomicReference<Integer> peerPort = new AtomicReference<>();

    @BeforeEach
    void peerWithALongLease() {
        options = EtcdOptions.of(etcd.endpoints()).withPrefix("/refused-" + System.nanoTime() + "/");
        client = EtcdClients.connect(options);
        lease = EtcdClients.await(client.getLeaseClient().grant(60), options, "grant").getID();
        EtcdClients.await(client.getKVClient().put(options.keys().node("node2"), Keys.bytes("{}"),
                PutOption.builder().withLeaseId(lease).build()), options, "put");
        EtcdClients.await(client.getKVClient().put(options.keys().master(), Keys.bytes("{}"),
                PutOption.builder().withLeaseId(lease).build()), options, "put");
    }

    @AfterEach
    void close() {
        client.close();
    }

    ClusterSnapshot view() {
        NodeStatus me = status("node1", Ports.free("127.0.0.1"), 1);
        NodeStatus peer = status("node2", peerPort.get(), updatedAt.get());
        return new ClusterSnapshot(1, Map.of("node1", me, "node2", peer), Optional.empty(), Map.of(), Map.of(), Map.of());
    }

    static NodeStatus status(String name, int httpPort, long updatedAt) {
        return new NodeStatus(name, List.of("127.0.0.1"), httpPort, 8000, 8100, 5353, true, false, false, 0, Map.of(), 0, 0,
                0, List.of(), "test", updatedAt);
    }

    boolean peerKeysPresent() {
        return !EtcdClients.await(client.getKVClient().get(options.keys().node("node2")), options, "get").getKvs().isEmpty();
    }

    @Test
    void aPeerWhosePortRefusesAndWhoStoppedPublishingLosesItsLeaseWithinTwoSeconds() {
        peerPort.set(Ports.free("127.0.0.1")); // nothing listens: the kernel refuses
        try (RefusedPeers peers = new RefusedPeers(client, options, this::view, "node1").start()) {
            long start = System.nanoTime();
            await().atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(50)).until(() -> !peerKeysPresent());
            long took = (System.nanoTime() - start) / 1_000_000;
            System.out.println("RefusedPeersIT: lease revoked " + took + " ms after the first probe could see the refusal");
            assertEquals(1, peers.revocations());
            assertFalse(EtcdClients.await(client.getKVClient().get(options.keys().master()), options, "get").getCount() > 0,
                    "the master key under the same lease is gone too");
        }
    }

    @Test
    void aPeerThatStillPublishesOrAcceptsKeepsItsLease() throws Exception {
        peerPort.set(Ports.free("127.0.0.1"));
        try (RefusedPeers peers = new RefusedPeers(client, options, this::view, "node1").start()) {
            // Refusing, but publishing every 500 ms, like a radiod whose HTTP port is not bound yet.
            for (int i = 0; i < 8; i++) {
                updatedAt.incrementAndGet();
                Thread.sleep(500);
            }
            assertEquals(0, peers.revocations());
        }
        try (ServerSocket listening = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
             RefusedPeers peers = new RefusedPeers(client, options, this::view, "node1").start()) {
            peerPort.set(listening.getLocalPort()); // accepted (a frozen radiod's kernel still accepts)
            Thread.sleep(3000);
            assertEquals(0, peers.revocations());
        }
        // A port that never answers is not a refusal either.
        try (RefusedPeers peers = new RefusedPeers(client, options, this::view, "node1", (a, p) -> RefusedPeers.Probe.OTHER).start()) {
            Thread.sleep(3000);
            assertEquals(0, peers.revocations());
        }
        assertEquals(true, peerKeysPresent());
    }
}
