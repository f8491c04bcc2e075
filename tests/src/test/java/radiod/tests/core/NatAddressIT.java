package radiod.tests.core;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.HttpURLConnection;
import java.net.URI;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;
import radiod.testkit.Ports;
import radiod.testkit.encoder.Tone;

/**
 * A node behind a NAT: it publishes the NAT's public address ({@code node.addresses}) and listens on its own
 * ({@code node.bind}). Its peers reach it at the public address; the node itself cannot without hairpin NAT. Here
 * the public address is one where nothing answers, as a NAT without hairpin looks from inside. As master, the node
 * sends its encoders and its own pulls to its own source port: the encoder is heard on its Icecast; listeners are
 * still sent to the public address.
 */
class NatAddressIT {
    private static final int TTL = 3;
    /** The NAT's address as the node sees it: nothing of this node (nor anything else) listens there. */
    private static final String PUBLIC = "127.0.0.250";

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    private RadiodCluster cluster;
    private Process encoder;

    @AfterEach
    void stop() {
        Streams.stop(encoder);
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aMasterWhosePublishedAddressIsANatsCarriesItsEncodersToItsOwnIcecast() throws Exception {
        cluster = new RadiodCluster(etcd, 1, TTL);
        RadiodProcess node = cluster.node(0).publishAs(PUBLIC);
        assertTrue(Ports.isFree(PUBLIC, cluster.sourcePort) && Ports.isFree(PUBLIC, cluster.httpPort),
                "something answers on " + PUBLIC + ": the test would not show a NAT without hairpin");
        cluster.start();
        assertEquals(node, cluster.awaitReady(Duration.ofSeconds(30)));
        MasterInfo master = cluster.snapshot().master().orElseThrow();
        assertEquals(List.of(PUBLIC), master.addresses(), "the master key names the public address");

        Mount live = new Mount("/live.mp3", "source", "nat-pw-1234", null, null, 0, 128, null);
        cluster.putMount(live);
        // The encoder at the node's own address (an encoder outside would come through the NAT to the same port).
        encoder = Tone.mp3(Tone.url("source", live.sourcePassword(), node.address(), cluster.sourcePort, live.path())).start();
        long t0 = System.nanoTime();
        await("the encoder heard on the node's own Icecast").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                .until(() -> Streams.heard(node.icecastUrl(live.path()), 20, 3000));
        System.out.printf("measured: encoder heard on the NAT master's Icecast %d ms after it started%n",
                (System.nanoTime() - t0) / 1_000_000);
        assertTrue(encoder.isAlive(), "the encoder is still connected");

        // Listeners are still sent to the public address: that is where the world reaches the node.
        HttpURLConnection c = (HttpURLConnection) URI.create(node.httpUrl(live.path())).toURL().openConnection();
        c.setInstanceFollowRedirects(false);
        c.setConnectTimeout(3000);
        c.setReadTimeout(3000);
        try {
            assertEquals(302, c.getResponseCode());
            String location = c.getHeaderField("Location");
            assertTrue(location.startsWith("http://" + PUBLIC + ":" + cluster.httpPort + "/"), location);
        } finally {
            c.disconnect();
        }
    }
}
