package radiod.cluster.mounts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.Client;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.model.Drain;
import radiod.cluster.model.Mount;
import radiod.cluster.model.Transcoding;
import radiod.testkit.EtcdCluster;
import radiod.testkit.etcd.EtcdPrefix;

/**
 * Mount writes against a real etcd are all-or-nothing compare-and-swaps: a create only where no mount is, an update
 * or delete only at the revision read, a transcoded mount only while its source exists; corrupt values are named and
 * can still be deleted.
 */
class MountStoreIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();
    @RegisterExtension
    final EtcdPrefix keys = EtcdPrefix.on(etcd, "store");

    private EtcdOptions options;
    private Client client;
    private MountStore store;

    @BeforeEach
    void connect() {
        // A generous timeout: these tests are about outcomes, not about a busy machine's latency.
        options = new EtcdOptions(etcd.endpoints(), keys.prefix(), null, null, null, null,
                null, Duration.ofSeconds(10));
        client = EtcdClients.connect(options);
        store = new MountStore(client, options);
    }

    @AfterEach
    void close() {
        client.close();
    }

    private static Mount live(String path, String password) {
        return new Mount(path, null, password, null, null, 0, 128, null);
    }

    private static Mount transcoded(String path, String source) {
        return new Mount(path, null, "pw", null, null, 0, 0, new Transcoding(source, "mp3", 64, 0, 0, null));
    }

    private void putRaw(String relativeKey, String value) {
        keys.put(relativeKey, value);
    }

    @Test
    void aCreatedMountIsReadBackWithItsModRevision() {
        long revision = store.create(live("/live.mp3", "secret"));
        Versioned<Mount> got = store.get("/live.mp3").orElseThrow();
        assertEquals(live("/live.mp3", "secret"), got.value());
        assertEquals(revision, got.modRevision());
    }

    @Test
    void creatingAMountThatExistsFailsNamingItAndLeavesTheStoredOneAlone() {
        store.create(live("/live.mp3", "first"));
        MountExistsException e = assertThrows(MountExistsException.class, () -> store.create(live("/live.mp3", "second")));
        assertEquals("mount /live.mp3 already exists (use `radioctl edit-mount`)", e.getMessage());
        assertEquals("first", store.get("/live.mp3").orElseThrow().value().sourcePassword());
    }

    @Test
    void aTranscodedMountIsOnlyCreatedWhileItsSourceExists() {
        MountNotFoundException e = assertThrows(MountNotFoundException.class,
                () -> store.create(transcoded("/live-64.mp3", "/live.mp3")));
        assertTrue(e.getMessage().contains("source mount /live.mp3 of /live-64.mp3 does not exist"), e.getMessage());
        assertTrue(store.get("/live-64.mp3").isEmpty(), "nothing written");

        store.create(live("/live.mp3", "pw"));
        store.create(transcoded("/live-64.mp3", "/live.mp3"));
        assertEquals(List.of("/live-64.mp3"), store.transcodedFrom("/live.mp3").stream().map(Mount::path).toList());
        assertEquals(List.of(), store.transcodedFrom("/live-64.mp3"));
    }

    @Test
    void aMissingMountReadsAsEmptyAndDeletesAsFalse() {
        assertTrue(store.get("/nothing.mp3").isEmpty());
        assertFalse(store.delete("/nothing.mp3"));
        assertThrows(MountChangedException.class, () -> store.delete("/nothing.mp3", 5));
    }

    @Test
    void anUpdateAtTheRevisionReadSucceedsAndAStaleOneFailsWithoutWriting() {
        long first = store.create(live("/live.mp3", "one"));
        long second = store.update(live("/live.mp3", "two"), first);
        assertTrue(second > first);

        MountChangedException e = assertThrows(MountChangedException.class,
                () -> store.update(live("/live.mp3", "three"), first));
        assertEquals(first, e.expectedModRevision());
        assertEquals(second, e.actualModRevision());
        assertTrue(e.getMessage().startsWith("mount /live.mp3 was changed by someone else after it was read"), e.getMessage());
        assertEquals("two", store.get("/live.mp3").orElseThrow().value().sourcePassword());
    }

    @Test
    void anUpdateOfAMountDeletedMeanwhileSaysSoAndDoesNotRecreateIt() {
        long revision = store.create(live("/live.mp3", "one"));
        assertTrue(store.delete("/live.mp3"));
        MountChangedException e = assertThrows(MountChangedException.class,
                () -> store.update(live("/live.mp3", "two"), revision));
        assertEquals(0, e.actualModRevision());
        assertTrue(e.getMessage().contains("was deleted by someone else"), e.getMessage());
        assertTrue(store.get("/live.mp3").isEmpty());
    }

    @Test
    void ofTwoConcurrentUpdatesFromTheSameReadExactlyOneWins() throws Exception {
        long read = store.create(live("/live.mp3", "original"));
        CyclicBarrier start = new CyclicBarrier(2);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (String password : List.of("alice", "bob")) {
                Callable<String> edit = () -> {
                    start.await(5, TimeUnit.SECONDS);
                    try {
                        store.update(live("/live.mp3", password), read);
                        return "won:" + password;
                    } catch (MountChangedException e) {
                        return "lost";
                    }
                };
                results.add(threads.submit(edit));
            }
            List<String> outcomes = new ArrayList<>();
            for (Future<String> f : results) {
                outcomes.add(f.get(10, TimeUnit.SECONDS));
            }
            assertEquals(1, outcomes.stream().filter(o -> o.startsWith("won:")).count(), outcomes.toString());
            assertEquals(1, outcomes.stream().filter("lost"::equals).count(), outcomes.toString());
            String winner = outcomes.stream().filter(o -> o.startsWith("won:")).findFirst().orElseThrow().substring(4);
            assertEquals(winner, store.get("/live.mp3").orElseThrow().value().sourcePassword());
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void aDeleteAtAStaleRevisionFailsAndKeepsTheMount() {
        long first = store.create(live("/live.mp3", "one"));
        store.update(live("/live.mp3", "two"), first);
        assertThrows(MountChangedException.class, () -> store.delete("/live.mp3", first));
        long current = store.get("/live.mp3").orElseThrow().modRevision();
        putRaw("titles/live.mp3", "{\"title\":\"still here\"}");
        store.delete("/live.mp3", current);
        assertTrue(store.get("/live.mp3").isEmpty());
        // The title goes in the same transaction: left behind, it would come back with a new /live.mp3.
        assertTrue(keys.get("titles/live.mp3").isEmpty());
    }

    @Test
    void listIsSortedByPathAndSkipsCorruptValues() {
        store.create(live("/b.mp3", "pw"));
        store.create(live("/a.ogg", "pw"));
        store.create(live("/c/deep.mp3", "pw"));
        putRaw("mounts/broken.mp3", "{not json");
        putRaw("mounts/invalid.mp3", "{\"path\":\"/invalid.mp3\",\"sourcePassword\":\"pw\",\"bitrateKbps\":-5}");
        putRaw("mounts/elsewhere.mp3", "{\"path\":\"/other.mp3\",\"sourcePassword\":\"pw\"}");
        putRaw("mounts/bad path!", "{\"path\":\"/bad path!\",\"sourcePassword\":\"pw\"}");

        assertEquals(List.of("/a.ogg", "/b.mp3", "/c/deep.mp3"),
                store.list().stream().map(v -> v.value().path()).toList());
    }

    @Test
    void readingACorruptMountNamesItsKeyAndItCanStillBeDeleted() {
        putRaw("mounts/broken.mp3", "{not json");
        CorruptMountException e = assertThrows(CorruptMountException.class, () -> store.get("/broken.mp3"));
        assertTrue(e.getMessage().startsWith("mount /broken.mp3 is stored corrupt at " + options.prefix()
                + "mounts/broken.mp3"), e.getMessage());
        putRaw("titles/broken.mp3", "{\"title\":\"still here\"}");
        assertTrue(store.delete("/broken.mp3"));
        assertTrue(keys.get("titles/broken.mp3").isEmpty());
        assertFalse(store.delete("/broken.mp3"));
    }

    @Test
    void drainsAreWrittenListedAndRemoved() {
        DrainStore drains = new DrainStore(client, options);
        assertTrue(drains.get("node2").isEmpty());
        drains.drain("node2", new Drain("disk swap", 1234));
        drains.drain("node1", new Drain("", 99));
        assertEquals(new Drain("disk swap", 1234), drains.get("node2").orElseThrow());
        assertEquals(Map.of("node1", new Drain("", 99), "node2", new Drain("disk swap", 1234)), drains.list());
        assertEquals(List.of("node1", "node2"), List.copyOf(drains.list().keySet()));

        assertTrue(drains.undrain("node2"));
        assertFalse(drains.undrain("node2"));
        assertEquals(List.of("node1"), List.copyOf(drains.list().keySet()));
        assertThrows(IllegalArgumentException.class, () -> drains.drain("Node_2", new Drain("", 0)));
    }
}
