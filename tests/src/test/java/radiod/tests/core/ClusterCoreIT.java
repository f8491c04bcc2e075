package radiod.tests.core;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;
import radiod.testkit.audio.Mp3Frames;
import radiod.testkit.encoder.Tone;

/**
 * Three radiod processes, each with its own Icecast, on a real etcd: exactly one is master; the master's Icecast
 * takes the source and every relay's Icecast serves it; a new mount is served where every relay sends its listeners
 * within half a second of going live (the median of three); corrupt values in etcd are skipped; a killed master is
 * replaced within the TTL plus a second and a cleanly stopped one within a second, and the relays follow.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterCoreIT {
    private static final int TTL = 3;

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    static RadiodCluster cluster;
    static Process source;

    @BeforeAll
    static void startCluster() {
        cluster = new RadiodCluster(etcd, 3, TTL).start();
        cluster.awaitReady(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stopCluster() {
        Streams.stop(source);
        if (cluster != null) {
            cluster.close();
        }
    }

    private static Mount mount(String path) {
        return new Mount(path, "source", "pw" + Math.abs(path.hashCode()), null, null, 0, 128, null);
    }

    private static void feed(RadiodProcess master, Mount m) throws Exception {
        Streams.stop(source);
        String url = "icecast://" + m.sourceUser() + ":" + m.sourcePassword() + "@" + master.address() + ":"
                + cluster.sourcePort + m.path();
        source = Tone.mp3(url).start();
    }

    /** Restarts the encoder until the master's Icecast has taken it (the mount may be a reload away). */
    private static void feedUntilLive(Mount m) {
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(500)).until(() -> {
            RadiodProcess master = cluster.master().orElseThrow();
            if (cluster.snapshot().node(master.name()).map(s -> s.hasMount(m.path())).orElse(false)) {
                return true;
            }
            if (source == null || !source.isAlive()) {
                feed(master, m);
            }
            return false;
        });
    }

    @Test
    @Order(1)
    void exactlyOneNodeIsMasterAndEveryNodePublishesItsStatus() {
        // A node publishes its status at once when elected, but the key can be read a moment before that.
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() -> {
            ClusterSnapshot v = cluster.snapshot();
            return v.master().isPresent() && v.node(v.master().get().name()).map(n -> n.master()).orElse(false);
        });
        ClusterSnapshot s = cluster.snapshot();
        assertEquals(3, s.nodes().size(), "nodes: " + s.nodes().keySet());
        List<String> masters = s.nodes().values().stream().filter(n -> n.master()).map(n -> n.name()).collect(Collectors.toList());
        assertEquals(List.of(s.master().orElseThrow().name()), masters);
        assertTrue(s.nodes().values().stream().allMatch(n -> n.icecastUp()));
    }

    @Test
    @Order(2)
    void aSourceOnTheMasterIsHeardOnEveryRelaysIcecast() {
        Mount live = mount("/live.mp3");
        cluster.putMount(live);
        feedUntilLive(live);
        RadiodProcess master = cluster.master().orElseThrow();
        for (RadiodProcess relay : cluster.nodes()) {
            if (relay == master) {
                continue;
            }
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
                    .until(() -> Mp3Frames.isMp3(Streams.read(relay.icecastUrl("/live.mp3"), 16_384, 3000)));
        }
    }

    @Test
    @Order(3)
    void aNewMountIsServedByEveryNodeWithinHalfASecondOfGoingLive() throws Exception {
        // Three new mounts; the median of their times is held to the bound, as AudioPathIT does with seven (a single
        // one meets a busy machine's scheduling now and then: 521 ms once on CI, 190-400 ms otherwise).
        List<Long> times = new java.util.ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            times.add(relaysServeNewMountMs("/second-" + i + ".mp3"));
        }
        long median = times.stream().sorted().toList().get(1);
        System.out.printf("new mounts: every relay served them %s ms after they went live; median %d ms%n", times, median);
        // No reload and no relay timer: each node's radiod pulls the mount from the master's hub as it arrives.
        assertTrue(median <= 500, "relays took " + times + " ms, median " + median + " ms");
    }

    /** Creates the mount, starts its encoder on the master and returns how long after it went live every relay served it. */
    private long relaysServeNewMountMs(String path) throws Exception {
        Mount second = mount(path);
        RadiodProcess master = cluster.master().orElseThrow();
        List<RadiodProcess> relays = cluster.nodes().stream().filter(n -> n != master).toList();
        String url = "icecast://source:" + second.sourcePassword() + "@" + master.address() + ":" + cluster.sourcePort + path;
        Process[] encoder = new Process[1];
        long created = System.nanoTime();
        cluster.putMount(second);
        try {
            // The encoder goes to the master's source port; radiod feeds the mount to every node's Icecast, the master's too.
            long live = 0;
            while (live == 0 && System.nanoTime() - created < Duration.ofSeconds(10).toNanos()) {
                if (encoder[0] == null || !encoder[0].isAlive()) {
                    encoder[0] = Tone.mp3(url).start();
                }
                if (new String(Streams.read(master.icecastUrl("/status-json.xsl"), 65536, 1000)).contains(path)) {
                    live = System.nanoTime();
                }
                Thread.sleep(20);
            }
            assertNotEquals(0, live, "the master's Icecast never took " + path);
            // Each relay is listened to on its own thread where its listeners are sent (its /_stream/, which reads
            // its Icecast); the first three MP3 frames it serves mark the time. Icecast read directly by a newcomer
            // sends audio only some 4,200 bytes of stream later (docs/ARCHITECTURE.md, Listeners), which radiod's
            // own reads, asked for before the feed's first audio, do not wait for.
            List<java.util.concurrent.CompletableFuture<Long>> served = relays.stream()
                    .map(r -> java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                        while (System.nanoTime() - created < Duration.ofSeconds(15).toNanos()) {
                            if (Streams.heard(r.httpUrl("/_stream" + path), 3, 1000)) {
                                return System.nanoTime();
                            }
                            try {
                                Thread.sleep(20);
                            } catch (InterruptedException e) {
                                return Long.MAX_VALUE;
                            }
                        }
                        return Long.MAX_VALUE;
                    })).toList();
            long last = served.stream().mapToLong(java.util.concurrent.CompletableFuture::join).max().orElseThrow();
            assertNotEquals(Long.MAX_VALUE, last, "a relay never served " + path);
            System.out.printf("new mount %s: live on the master %d ms after creation; every relay served it %d ms after it went"
                            + " live (%d ms after creation)%n", path, Duration.ofNanos(live - created).toMillis(),
                    Duration.ofNanos(last - live).toMillis(), Duration.ofNanos(last - created).toMillis());
            return Duration.ofNanos(last - live).toMillis();
        } finally {
            Streams.stop(encoder[0]);
        }
    }

    @Test
    @Order(4)
    void corruptValuesUnderNodesAndMountsAreSkippedWhileNodesKeepWorking() {
        cluster.putRaw("mounts/broken.mp3", "{this is not json");
        cluster.putRaw("nodes/ghost", "[]");
        Mount third = mount("/third.mp3");
        cluster.putMount(third);
        RadiodProcess master = cluster.master().orElseThrow();
        // Nodes keep publishing and the master's Icecast takes the good mount.
        await().atMost(Duration.ofSeconds(5)).until(() -> Streams.read(master.icecastUrl("/status-json.xsl"), 65536, 2000).length > 0);
        ClusterSnapshot s = cluster.snapshot();
        assertEquals(3, s.nodes().size());
        assertTrue(s.mounts().containsKey("/third.mp3"));
        assertTrue(!s.mounts().containsKey("/broken.mp3"));
        for (RadiodProcess n : cluster.nodes()) {
            await(n.name() + " logs the corrupt mount").atMost(Duration.ofSeconds(10))
                    .until(() -> n.logText().contains("skipping corrupt value at mounts/broken.mp3"));
            assertTrue(n.running(), n.name() + " died on corrupt data");
        }
        cluster.deleteRaw("mounts/broken.mp3");
        cluster.deleteRaw("nodes/ghost");
    }

    @Test
    @Order(5)
    void whenTheMasterIsKilledAnotherIsElectedWithinTheTtlPlusOneSecondAndRelaysFollowIt() throws Exception {
        RadiodProcess old = cluster.master().orElseThrow();
        long killed = System.nanoTime();
        old.kill();
        await().atMost(Duration.ofSeconds(TTL + 1)).pollInterval(Duration.ofMillis(20))
                .until(() -> cluster.master().filter(m -> m != old).isPresent());
        long failover = Duration.ofNanos(System.nanoTime() - killed).toMillis();
        RadiodProcess master = cluster.master().orElseThrow();
        System.out.printf("master failover after kill -9: %d ms (lease TTL %d s)%n", failover, TTL);

        // The encoder went to the killed master's own source port, so it is gone with it; a new one goes to the new
        // master. (Every Icecast keeps the mount, silent, for a while after its source goes: not a sign of a source.)
        Streams.stop(source);
        feed(master, mount("/live.mp3"));
        feedUntilLive(mount("/live.mp3"));
        for (RadiodProcess relay : cluster.nodes()) {
            if (relay != master && relay != old) {
                await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
                        .until(() -> Mp3Frames.isMp3(Streams.read(relay.icecastUrl("/live.mp3"), 16_384, 3000)));
            }
        }
        old.start();
        cluster.awaitReady(Duration.ofSeconds(30));
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
                .until(() -> Mp3Frames.isMp3(Streams.read(old.icecastUrl("/live.mp3"), 16_384, 3000)));
    }

    @Test
    @Order(6)
    void aCleanlyStoppedMasterIsReplacedWithinOneSecond() {
        RadiodProcess old = cluster.master().orElseThrow();
        long stopping = System.nanoTime();
        old.stop();
        long stopped = System.nanoTime();
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20))
                .until(() -> cluster.master().filter(m -> m != old).isPresent());
        System.out.printf("clean stop took %d ms; new master %d ms after the process exited%n",
                Duration.ofNanos(stopped - stopping).toMillis(), Duration.ofNanos(System.nanoTime() - stopped).toMillis());
        assertTrue(!radiod.testkit.Ports.accepts(old.address(), cluster.icecastPort), "Icecast survived radiod's stop");
        old.start();
        cluster.awaitReady(Duration.ofSeconds(30));
    }
}
