package radiod.cluster.etcd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.Client;
import radiod.testkit.EtcdCluster;
import radiod.testkit.Ports;

/** jetcd 0.8.5 (on Vert.x 4.5 / Netty 4.1) against Debian's etcd 3.4: the pair radiod is built on. */
class EtcdSmokeIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    @Test
    void putGetAndLeaseWorkAgainstTheRealEtcd() {
        EtcdOptions options = EtcdOptions.of(etcd.endpoints());
        try (Client client = EtcdClients.connect(options)) {
            EtcdClients.await(client.getKVClient().put(Keys.bytes("/smoke"), Keys.bytes("hello")), options, "put");
            var got = EtcdClients.await(client.getKVClient().get(Keys.bytes("/smoke")), options, "get");
            assertEquals("hello", got.getKvs().get(0).getValue().toString());
            long lease = EtcdClients.await(client.getLeaseClient().grant(5), options, "grant").getID();
            assertTrue(EtcdClients.await(client.getLeaseClient().keepAliveOnce(lease), options, "keep-alive").getTTL() > 0);
        }
    }

    @Test
    void anUnreachableEtcdFailsWithinTheTimeoutInsteadOfHanging() {
        int closed = Ports.free("127.0.0.1");
        EtcdOptions options = new EtcdOptions(List.of("http://127.0.0.1:" + closed), null, null, null, null, null, null,
                Duration.ofMillis(800));
        long start = System.nanoTime();
        try (Client client = EtcdClients.connect(options)) {
            assertThrows(EtcdUnavailableException.class,
                    () -> EtcdClients.await(client.getKVClient().get(Keys.bytes("/x")), options, "get"));
        }
        assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 3000);
    }
}
