package radiod.tests.faults;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import radiod.cluster.model.Mount;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;
import radiod.testkit.Processes;

/** Faults of one process at a time: a frozen master must fence itself; a dead Icecast is restarted and avoided meanwhile. */
class FaultsIT {
    private static final int TTL = 3;

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    static RadiodCluster cluster;

    @BeforeAll
    static void start() {
        cluster = new RadiodCluster(etcd, 3, TTL).start();
        cluster.awaitReady(Duration.ofSeconds(30));
        cluster.putMount(new Mount("/live.mp3", "source", "faults-pw", null, null, 0, 128, null));
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** What the node itself says about its role, from its own /status.json. */
    static Boolean believesMaster(RadiodProcess n) {
        String json = new String(Streams.read(n.httpUrl("/status.json"), 1 << 20, 1000), StandardCharsets.UTF_8);
        if (json.isEmpty()) {
            return null;
        }
        return json.contains("\"selfIsMaster\":true");
    }

    @Test
    void aMasterFrozenLongerThanItsLeaseHasSteppedDownWhenItWakesAndNeverActsAsMasterAgain() throws Exception {
        RadiodProcess frozen = cluster.master().orElseThrow();
        // Watch every node's own account throughout: two nodes must never both say they are master.
        AtomicBoolean watching = new AtomicBoolean(true);
        ConcurrentLinkedQueue<String> doubleMasters = new ConcurrentLinkedQueue<>();
        Thread watcher = new Thread(() -> {
            while (watching.get()) {
                List<String> masters = new ArrayList<>();
                for (RadiodProcess n : cluster.nodes()) {
                    if (n != frozen && Boolean.TRUE.equals(believesMaster(n))) {
                        masters.add(n.name());
                    }
                }
                if (masters.size() > 1) {
                    doubleMasters.add(String.join(",", masters));
                }
            }
        });
        watcher.start();
        Processes.signal(frozen.pid(), "STOP");
        try {
            await().atMost(Duration.ofSeconds(TTL + 2)).until(() -> cluster.master().filter(m -> m != frozen).isPresent());
            Thread.sleep(1000);
        } finally {
            Processes.signal(frozen.pid(), "CONT");
        }
        RadiodProcess newMaster = cluster.master().orElseThrow();
        assertNotEquals(frozen, newMaster);
        // The instant it can answer, the woken node does not claim mastership, and never does afterwards.
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        int answers = 0;
        while (System.nanoTime() < end) {
            Boolean claims = believesMaster(frozen);
            if (claims != null) {
                answers++;
                assertFalse(claims, "the woken node acts as master");
            }
            if (Boolean.TRUE.equals(believesMaster(newMaster)) && Boolean.TRUE.equals(believesMaster(frozen))) {
                doubleMasters.add(frozen.name() + "," + newMaster.name());
            }
        }
        watching.set(false);
        watcher.join();
        assertTrue(answers > 0, "the woken node never answered");
        assertEquals(List.of(), List.copyOf(doubleMasters), "two nodes acted as master at once");
        assertEquals(newMaster, cluster.master().orElseThrow(), "mastership moved again after the old master woke");
        // Its Icecast is a relay of the new master now, not a second master.
        await().atMost(Duration.ofSeconds(5)).until(() -> Files.readString(cluster.dir().resolve(frozen.name() + "-icecast")
                .resolve("icecast.xml")).contains("role RELAY"));
    }

    @Test
    void aKilledIcecastIsRestartedAndItsNodeIsNotChosenWhileItIsDown() throws Exception {
        RadiodProcess victim = cluster.nodes().stream().filter(n -> cluster.master().orElseThrow() != n).findFirst().orElseThrow();
        long before = victim.icecast().orElseThrow().pid();
        victim.icecast().orElseThrow().destroyForcibly();
        await().atMost(Duration.ofSeconds(3)).until(() -> !cluster.snapshot().node(victim.name()).orElseThrow().icecastUp());
        // While it is down, no listener is sent to it.
        for (int i = 0; i < 20 && !cluster.snapshot().node(victim.name()).orElseThrow().icecastUp(); i++) {
            RadiodProcess via = cluster.node(i % 3);
            HttpURLConnection c = (HttpURLConnection) URI.create(via.httpUrl("/live.mp3")).toURL().openConnection();
            c.setInstanceFollowRedirects(false);
            int status = c.getResponseCode();
            if (status == 302) {
                assertFalse(c.getHeaderField("Location").contains("//" + victim.address() + ":"), c.getHeaderField("Location"));
            }
            c.disconnect();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> victim.icecast().map(ProcessHandle::pid).filter(p -> p != before).isPresent()
                && cluster.snapshot().node(victim.name()).orElseThrow().icecastUp());
        assertTrue(victim.logText().contains("exited with status"), "radiod noticed the death");
    }
}
