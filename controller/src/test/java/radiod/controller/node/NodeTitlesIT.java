package radiod.controller.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.Client;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.model.Title;
import radiod.cluster.mounts.TitleStore;
import radiod.testkit.EtcdCluster;
import radiod.testkit.etcd.EtcdPrefix;

/**
 * A node's title writes against a real etcd: whatever an encoder sends, one write is in flight per mount and writes
 * are at least 250 ms apart, the latest title wins, every update is answered; a title goes with its own session only.
 */
class NodeTitlesIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();
    @RegisterExtension
    final EtcdPrefix keys = EtcdPrefix.on(etcd, "titles");
    Client client;
    EtcdOptions options;
    TitleStore store;

    @BeforeEach
    void connect() {
        options = EtcdOptions.of(etcd.endpoints()).withPrefix(keys.prefix());
        client = EtcdClients.connect(options);
        store = new TitleStore(client, options);
    }

    @AfterEach
    void close() {
        client.close();
    }

    long revision() throws Exception {
        return client.getKVClient().get(options.keys().all()).get(5, TimeUnit.SECONDS).getHeader().getRevision();
    }

    @Test
    void aFloodOfUpdatesCostsAtMostFourWritesASecondAndTheLastTitleWins() throws Exception {
        NodeTitles titles = new NodeTitles(store, "node1", m -> "carried-1", m -> Set.of());
        long before = revision();
        long start = System.nanoTime();
        List<CompletableFuture<Void>> answers = new ArrayList<>();
        // An encoder sending 12 titles back to back, each waiting for its answer, and 40 more all at once.
        for (int i = 0; i < 12; i++) {
            titles.set("/live.mp3", "sequential " + i, "").get(5, TimeUnit.SECONDS);
        }
        for (int i = 0; i < 40; i++) {
            answers.add(titles.set("/live.mp3", "burst " + i, ""));
        }
        CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
        double seconds = (System.nanoTime() - start) / 1e9;
        long writes = revision() - before;
        assertTrue(writes <= Math.ceil(seconds / (NodeTitles.MIN_SPACING_MILLIS / 1000.0)) + 1,
                writes + " writes in " + seconds + " s");
        Title last = store.get("/live.mp3").orElseThrow();
        assertEquals("burst 39", last.title());
        assertEquals("carried-1", last.session(), "an update from elsewhere is tied to the session this node carries");
        assertEquals("node1", last.by());
    }

    @Test
    void aTitleGoesWithItsOwnSessionOnly() throws Exception {
        NodeTitles titles = new NodeTitles(store, "node1", m -> "", m -> Set.of());
        titles.set("/live.mp3", "from session A", "A").get(5, TimeUnit.SECONDS);
        assertEquals(false, store.clearIfSession("/live.mp3", "B").get(5, TimeUnit.SECONDS));
        assertEquals("from session A", store.get("/live.mp3").orElseThrow().title());
        assertEquals(true, store.clearIfSession("/live.mp3", "A").get(5, TimeUnit.SECONDS));
        assertTrue(store.get("/live.mp3").isEmpty());
        store.set("/live.mp3", new Title("by hand", "", "radioctl", 1L)).get(5, TimeUnit.SECONDS); // as radioctl does
        assertEquals(false, store.clearIfSession("/live.mp3", "").get(5, TimeUnit.SECONDS), "no session, not cleared");
    }

    /**
     * An update that reaches a node other than the encoder's is tied to the session this node carries while no node
     * lists another; else to one a node lists (this node still carries one whose encoder left, or none: it has just
     * started); else to "some encoder": never to none, which would make it a title set by hand that nothing takes
     * away when the encoder leaves.
     */
    @Test
    void anUpdateFromAnEncoderOnAnotherNodeIsTiedToItsSessionAsBestThisNodeKnowsIt() throws Exception {
        String[] carried = {"node3-old-1"};
        Set<String> listed = new java.util.HashSet<>(Set.of("node2-abc-1"));
        NodeTitles titles = new NodeTitles(store, "node1", m -> carried[0], m -> Set.copyOf(listed));
        titles.set("/live.mp3", "listed", "").get(5, TimeUnit.SECONDS);
        assertEquals("node2-abc-1", store.get("/live.mp3").orElseThrow().session(), "not the left encoder's it carries");
        assertEquals(true, store.clearIfSession("/live.mp3", "node2-abc-1").get(5, TimeUnit.SECONDS),
                "it goes when that encoder leaves");

        carried[0] = "node2-abc-1";
        listed.add("node3-new-2"); // a takeover: two nodes list one each for a moment
        titles.set("/live.mp3", "carried and listed", "").get(5, TimeUnit.SECONDS);
        assertEquals("node2-abc-1", store.get("/live.mp3").orElseThrow().session());

        listed.clear(); // not listed yet: the encoder's node lists it at its next status
        titles.set("/live.mp3", "carried", "").get(5, TimeUnit.SECONDS);
        assertEquals("node2-abc-1", store.get("/live.mp3").orElseThrow().session());

        carried[0] = "";
        titles.set("/live.mp3", "known to no node yet", "").get(5, TimeUnit.SECONDS);
        assertEquals(Title.SOME_ENCODER, store.get("/live.mp3").orElseThrow().session());
        assertEquals(true, store.clearIfSession("/live.mp3", Title.SOME_ENCODER).get(5, TimeUnit.SECONDS),
                "the master's StaleTitles can take it away");
    }
}
