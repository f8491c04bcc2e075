package radiod.cluster.view;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.Client;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdConnection;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.Keys;
import radiod.cluster.etcd.MemberProbe;
import radiod.cluster.model.Json;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.testkit.EtcdCluster;

/** The cluster view against a real 3-member etcd: convergence, member restarts, compaction, corrupt values. */
class ClusterViewIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.ofSize(3);

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        for (var m : etcd.members()) {
            if (!m.running()) {
                m.restart();
            }
        }
    }

    private Client client(List<String> endpoints) {
        Client c = EtcdClients.connect(EtcdOptions.of(endpoints));
        open.add(c);
        return c;
    }

    /**
     * A client on one member, renewed as a node's is when that member answers again after it could not be reached
     * ({@link MemberProbe}), so that a view catches up at once, not at gRPC's next reconnect attempt.
     */
    private Client probed(String endpoint) {
        EtcdOptions options = EtcdOptions.of(List.of(endpoint));
        EtcdConnection c = EtcdConnection.open(options);
        open.add(c);
        open.add(new MemberProbe(c, options, Duration.ofMillis(500)).start());
        return c;
    }

    private ClusterView view(Client client, String prefix) {
        ClusterView v = new ClusterView(client, new Keys(prefix), Duration.ofSeconds(1)).start();
        open.add(v);
        return v;
    }

    private static void put(Client c, String key, String value) {
        EtcdClients.await(c.getKVClient().put(Keys.bytes(key), Keys.bytes(value)), 3000, "put " + key);
    }

    private static String mountJson(String path) {
        return Json.encodeString(new Mount(path, "source", "pw-" + path.hashCode(), null, null, 0, 128, null));
    }

    @Test
    void threeViewsConvergeWithinOneSecondOfAChange() {
        String prefix = "/conv/";
        List<ClusterView> views = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            views.add(view(client(List.of(etcd.member(i).endpoint())), prefix));
        }
        Client writer = client(etcd.endpoints());
        for (int round = 0; round < 5; round++) {
            String path = "/m" + round + ".mp3";
            long written = System.nanoTime();
            put(writer, prefix + "mounts" + path, mountJson(path));
            await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5))
                    .until(() -> views.stream().allMatch(v -> v.current().mounts().containsKey(path)));
            System.out.printf("3 views converged %d ms after the write%n", Duration.ofNanos(System.nanoTime() - written).toMillis());
        }
        EtcdClients.await(writer.getKVClient().delete(Keys.bytes(prefix + "mounts/m0.mp3")), 3000, "delete");
        await().atMost(Duration.ofSeconds(1)).until(() -> views.stream().noneMatch(v -> v.current().mounts().containsKey("/m0.mp3")));
    }

    @Test
    void anIdleWatchIsKeptAliveByProgressRequestsWithoutRereadingThePrefix() throws Exception {
        ClusterView v = view(client(etcd.endpoints()), "/idle/");
        await().atMost(Duration.ofSeconds(10)).until(() -> v.resyncs() == 1); // a cold client may need a few tries
        long attempts = v.resyncAttempts();
        // Longer than the watchdog's silence limit, checked all along (the count only grows).
        await().during(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(8)).pollInterval(Duration.ofMillis(50))
                .until(() -> v.resyncAttempts() == attempts);
        assertEquals(1, v.resyncs(), "an idle but healthy watch was replaced");
        Client writer = client(etcd.endpoints());
        put(writer, "/idle/mounts/late.mp3", mountJson("/late.mp3"));
        await().atMost(Duration.ofSeconds(1)).until(() -> v.current().mounts().containsKey("/late.mp3"));
    }

    @Test
    void aViewWhoseEtcdIsDownRereadsLessAndLessOftenAndCatchesUpWhenItIsBack() {
        String prefix = "/backoff/";
        // Reads through member 0 only, each given up after 200 ms, so that a failed read is quick.
        ClusterView v = new ClusterView(probed(etcd.member(0).endpoint()), new Keys(prefix), Duration.ofMillis(200))
                .start();
        open.add(v);
        await().atMost(Duration.ofSeconds(10)).until(() -> v.resyncs() == 1); // a cold client may need a few tries
        etcd.member(0).stop();
        long stoppedAt = System.nanoTime();
        long before = v.resyncAttempts();
        // Seven failed reads: the delays have doubled up to the cap by then, and stay there.
        await().atMost(Duration.ofSeconds(30)).until(() -> v.resyncAttempts() - before >= 7);
        long mark = v.resyncAttempts();
        System.out.printf("7 failed reads %d ms after etcd stopped%n", Duration.ofNanos(System.nanoTime() - stoppedAt).toMillis());
        // Capped, a read waits at least 2.5 s after the last one failed: at most 3 in 6 s. A retry every 500 ms (as
        // before) would make 8 or more.
        Duration window = Duration.ofSeconds(6);
        await().during(window).atMost(window.plusSeconds(2)).pollInterval(Duration.ofMillis(50))
                .until(() -> v.resyncAttempts() - mark <= 3);
        System.out.printf("%d reads in %d s with etcd down%n", v.resyncAttempts() - mark, window.toSeconds());
        assertEquals(1, v.resyncs());

        // etcd back: the view catches up within a few probe rounds (the client renewed, every watch read again).
        Client writer = client(List.of(etcd.member(1).endpoint(), etcd.member(2).endpoint()));
        put(writer, prefix + "mounts/back.mp3", mountJson("/back.mp3"));
        long restarting = System.nanoTime();
        etcd.member(0).restart();
        long restartedAt = System.nanoTime();
        await().atMost(Duration.ofSeconds(2)).until(() -> v.current().mounts().containsKey("/back.mp3"));
        System.out.printf("etcd member restarted in %d ms; the view caught up %d ms after that%n",
                Duration.ofNanos(restartedAt - restarting).toMillis(), Duration.ofNanos(System.nanoTime() - restartedAt).toMillis());
    }

    @Test
    void changesMadeWhileTheViewsMemberIsDownAndCompactedAwayAreNotLost() {
        String prefix = "/compact/";
        ClusterView v = view(probed(etcd.member(0).endpoint()), prefix);
        Client writer = client(List.of(etcd.member(1).endpoint(), etcd.member(2).endpoint()));
        put(writer, prefix + "mounts/before.mp3", mountJson("/before.mp3"));
        await().atMost(Duration.ofSeconds(2)).until(() -> v.current().mounts().containsKey("/before.mp3"));

        etcd.member(0).stop();
        EtcdClients.await(writer.getKVClient().delete(Keys.bytes(prefix + "mounts/before.mp3")), 3000, "delete");
        for (int i = 0; i < 20; i++) {
            put(writer, prefix + "mounts/during" + i + ".mp3", mountJson("/during" + i + ".mp3"));
        }
        long rev = EtcdClients.await(writer.getKVClient().get(Keys.bytes("/x")), 3000, "rev").getHeader().getRevision();
        EtcdClients.await(writer.getKVClient().compact(rev), 3000, "compact");
        // The view keeps its last picture while its member is away.
        assertTrue(v.current().mounts().containsKey("/before.mp3"));

        etcd.member(0).restart();
        long restartedAt = System.nanoTime();
        put(writer, prefix + "mounts/after.mp3", mountJson("/after.mp3"));
        await().atMost(Duration.ofSeconds(3)).until(() -> v.current().mounts().containsKey("/after.mp3"));
        System.out.printf("the view caught up %d ms after its member was back%n",
                Duration.ofNanos(System.nanoTime() - restartedAt).toMillis());
        Map<String, Mount> mounts = v.current().mounts();
        assertEquals(21, mounts.size(), "mounts: " + mounts.keySet());
        assertTrue(!mounts.containsKey("/before.mp3"));
    }

    @Test
    void aCorruptValueIsSkippedAndTheRestOfTheViewStillWorks() {
        String prefix = "/corrupt/";
        Client writer = client(etcd.endpoints());
        put(writer, prefix + "mounts/bad.mp3", "{not json");
        put(writer, prefix + "mounts/wrong.mp3", "{\"path\":\"/wrong.mp3\",\"sourcePassword\":\"\"}");
        put(writer, prefix + "nodes/n1", "[1,2,3]");
        put(writer, prefix + "master", "\u0000\u0001garbage");
        put(writer, prefix + "mounts/good.mp3", mountJson("/good.mp3"));
        NodeStatus n2 = new NodeStatus("n2", List.of("127.0.0.12"), 8080, 8000, 8100, 5353, true, false, false, 0,
                Map.of(), 0, 0, 0, List.of(), "test", 1);
        put(writer, prefix + "nodes/n2", Json.encodeString(n2));
        ClusterView v = view(client(etcd.endpoints()), prefix);
        await().atMost(Duration.ofSeconds(2)).until(() -> v.current().mounts().containsKey("/good.mp3"));
        assertEquals(List.of("/good.mp3"), List.copyOf(v.current().mounts().keySet()));
        assertEquals(List.of("n2"), List.copyOf(v.current().nodes().keySet()));
        assertTrue(v.current().master().isEmpty());
        // a corrupt update through the watch is skipped too, and a later good one is taken
        put(writer, prefix + "mounts/good.mp3", "garbage");
        await().atMost(Duration.ofSeconds(2)).until(() -> v.current().mounts().isEmpty());
        put(writer, prefix + "mounts/good.mp3", mountJson("/good.mp3"));
        await().atMost(Duration.ofSeconds(2)).until(() -> v.current().mounts().containsKey("/good.mp3"));
    }

    /** radioctl's poll of one node (drain --wait) reads its key alone: the status, or nothing for absent or corrupt. */
    @Test
    void oneNodesStatusIsReadFromItsKeyAlone() {
        String prefix = "/one/";
        Client c = client(etcd.endpoints());
        Keys keys = new Keys(prefix);
        NodeStatus n2 = new NodeStatus("n2", List.of("127.0.0.12"), 8080, 8000, 8100, 5353, true, false, false, 7,
                Map.of(), 0, 0, 0, List.of(), "test", 1);
        put(c, prefix + "nodes/n2", Json.encodeString(n2));
        put(c, prefix + "nodes/n1", "[1,2,3]");
        put(c, prefix + "nodes/n20", Json.encodeString(new NodeStatus("n20", List.of("127.0.0.13"), 8080, 8000, 8100,
                5353, true, false, false, 9, Map.of(), 0, 0, 0, List.of(), "test", 1)));
        assertEquals(Optional.of(n2), Snapshots.readNode(c, keys, "n2", 3000));
        assertEquals(Optional.empty(), Snapshots.readNode(c, keys, "n1", 3000), "corrupt: skipped");
        assertEquals(Optional.empty(), Snapshots.readNode(c, keys, "n3", 3000), "not published");
        assertEquals(Snapshots.read(c, keys, 3000).node("n2"), Snapshots.readNode(c, keys, "n2", 3000));
    }
}
