package radiod.radioctl;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import com.fasterxml.jackson.databind.JsonNode;

import radiod.cluster.model.Drain;
import radiod.cluster.model.Json;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.model.TranscoderOwner;
import radiod.cluster.model.Transcoding;
import radiod.testkit.EtcdCluster;
import radiod.testkit.etcd.EtcdPrefix;
import java.nio.charset.StandardCharsets;

/** status, drain and undrain against hand-written node, master, mount and transcoder keys in a real etcd. */
class StatusAndDrainIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    @RegisterExtension
    final EtcdPrefix keys = EtcdPrefix.on(etcd, "status-it");
    private final Radioctl radioctl = Radioctl.at(keys);


    private void put(String relativeKey, Object value) {
        String json = value instanceof String s ? s : Json.encodeString(value);
        keys.put(relativeKey, json);
    }

    private static NodeStatus node(String name, String address, boolean icecastUp, int listeners,
                                   Map<String, Integer> byMount, long bps, long maxBps, int maxListeners,
                                   List<String> transcoders) {
        return new NodeStatus(name, List.of(address), 8080, 8000, 8100, 5353, icecastUp, false, false, listeners, byMount,
                bps, maxBps, maxListeners, transcoders, "0.1.0", 1_700_000_000_000L);
    }

    /** Three live nodes (node1 master, node3 drained), node4 drained and down, two mounts, one transcoder. */
    private void cluster() {
        put("nodes/node1", node("node1", "127.0.0.11", true, 7, Map.of("/live.mp3", 5, "/live-64.mp3", 2),
                7 * 128_000L, 100_000_000L, 1000, List.of("/live-64.mp3")));
        put("nodes/node2", node("node2", "127.0.0.12", true, 3, Map.of("/live.mp3", 3, "/live-64.mp3", 0),
                384_000L, 0, 0, List.of()));
        put("nodes/node3", node("node3", "127.0.0.13", false, 0, Map.of(), 0, 50_000_000L, 200, List.of()));
        put("master", new MasterInfo("node1", List.of("127.0.0.11"), 8100, 8000, 8080, 1_700_000_000_000L));
        put("mounts/live.mp3", new Mount("/live.mp3", null, "pw", null, null, 0, 128, null));
        put("mounts/live-64.mp3", new Mount("/live-64.mp3", null, "pw", null, null, 0, 0,
                new Transcoding("/live.mp3", "mp3", 64, 0, 0, null)));
        put("transcoders/live-64.mp3", new TranscoderOwner("node1", 1_700_000_000_000L));
        put("drain/node3", new Drain("new disk", 1_700_000_000_000L));
        put("drain/node4", new Drain("", 1_700_000_000_000L));
        put("nodes/corrupt", "{\"name\":");
    }

    @Test
    void statusShowsTheMasterEveryNodeAndListenersPerMountAndNode() {
        cluster();
        Radioctl.Result r = radioctl.run("status");
        assertEquals(0, r.exitCode(), r::toString);
        String expected = """
                master: node1 (127.0.0.11), elected 2023-11-14T22:13:20Z

                NODE   STATE    ROLE    ADDRESSES   LISTENERS     BANDWIDTH                TRANSCODERS
                node1  up       master  127.0.0.11  7 / 1000      896 kbit/s / 100 Mbit/s  /live-64.mp3
                node2  up       relay   127.0.0.12  3 / no limit  384 kbit/s / no limit    -
                node3  drained  relay   127.0.0.13  0 / 200       0 bit/s / 50.0 Mbit/s    -
                node4  down     -       -           -             -                        -

                MOUNT         TYPE        ON AIR  node1  node2  node3  TOTAL
                /live-64.mp3  transcoded  yes     2      0      -      2
                /live.mp3     live        yes     5      3      -      8

                node3 is drained since 2023-11-14T22:13:20Z: new disk
                node3: its Icecast does not answer (radiod restarts it)
                node4 is drained since 2023-11-14T22:13:20Z
                node4 is not live (no status in etcd)
                """;
        assertEquals(expected, r.out());
    }

    @Test
    void statusJsonParsesAndCarriesTheSameFacts() {
        cluster();
        JsonNode j = radioctl.run("status", "--json").json();
        assertEquals("node1", j.get("master").get("name").asText());
        assertEquals(List.of("node1", "node2", "node3", "node4"), j.get("nodes").findValuesAsText("name"));
        JsonNode node1 = j.get("nodes").get(0);
        assertEquals("up", node1.get("state").asText());
        assertEquals("master", node1.get("role").asText());
        assertEquals(896_000, node1.get("bandwidthBps").asLong());
        assertEquals("/live-64.mp3", node1.get("transcoders").get(0).asText());
        JsonNode node3 = j.get("nodes").get(2);
        assertEquals("drained", node3.get("state").asText());
        assertEquals("new disk", node3.get("drainReason").asText());
        assertFalse(node3.get("icecastUp").asBoolean());
        assertEquals("down", j.get("nodes").get(3).get("state").asText());
        assertFalse(j.get("nodes").get(3).get("live").asBoolean());
        JsonNode live = j.get("mounts").get(1);
        assertEquals("/live.mp3", live.get("path").asText());
        assertEquals(8, live.get("listeners").asInt());
        assertEquals(5, live.get("listenersByNode").get("node1").asInt());
        assertEquals("node1", j.get("mounts").get(0).get("transcoder").asText());
    }

    @Test
    void statusOfAnEmptyClusterSaysSo() {
        Radioctl.Result r = radioctl.run("status");
        assertEquals(ExitCode.NO_MASTER, r.exitCode(), r::toString);
        assertTrue(r.out().startsWith("master: none"), r::toString);
        assertTrue(r.out().contains("no nodes are live"), r::toString);
        assertTrue(r.out().contains("no mounts yet"), r::toString);
    }

    @Test
    void statusExitsNonZeroWhileNoNodeIsMasterAndZeroOnceOneIs() {
        cluster();
        keys.delete("master");
        Radioctl.Result text = radioctl.run("status");
        assertEquals(6, text.exitCode(), text::toString);
        assertTrue(text.out().startsWith("master: none"), text::toString);
        assertTrue(text.out().contains("node1  up       relay"), "the report is printed all the same: " + text);
        assertEquals("", text.err(), text::toString);
        Radioctl.Result json = radioctl.run("status", "--json");
        assertEquals(6, json.exitCode(), json::toString);
        assertTrue(json.json().get("master").isNull(), json::toString);

        put("master", new MasterInfo("node2", List.of("127.0.0.12"), 8100, 8000, 8080, 1_700_000_000_000L));
        Radioctl.Result back = radioctl.run("status");
        assertEquals(0, back.exitCode(), back::toString);
        assertTrue(back.out().startsWith("master: node2"), back::toString);
    }

    @Test
    void drainWritesTheRequestStatusShowsItAndUndrainRemovesIt() {
        cluster();
        Radioctl.Result d = radioctl.run("drain", "node1", "--reason", "kernel update");
        assertEquals(0, d.exitCode(), d::toString);
        assertTrue(d.out().startsWith("drained node node1; reason: kernel update"), d::toString);
        assertTrue(d.out().contains("it is the master: it steps down"), d::toString);

        String stored = keys.get("drain/node1").orElseThrow();
        Drain drain = Json.decodeStrict(stored.getBytes(StandardCharsets.UTF_8), Drain.class);
        assertEquals("kernel update", drain.reason());
        assertTrue(drain.since() > 1_700_000_000_000L);
        assertTrue(radioctl.run("status").out().contains("node1  drained  master"));

        JsonNode again = radioctl.run("drain", "node1", "--json").json();
        assertTrue(again.get("wasDrained").asBoolean());
        assertEquals("kernel update", again.get("reason").asText(), "a repeated drain keeps the reason");
        assertEquals(drain.since(), again.get("since").asLong(), "and the time");

        Radioctl.Result u = radioctl.run("undrain", "node1");
        assertEquals(0, u.exitCode(), u::toString);
        assertEquals("undrained node node1: it takes listeners again\n", u.out());
        assertTrue(radioctl.run("status").out().contains("node1  up       master"));
        Radioctl.Result u2 = radioctl.run("undrain", "node1", "--json");
        assertEquals(0, u2.exitCode());
        assertFalse(u2.json().get("wasDrained").asBoolean());
    }

    /**
     * {@code drain --wait}: returns once the node publishes no listener (here 1.5 s after the drain, as a node would
     * once its last listener left), not before and not a poll much later; with the listeners staying, it returns
     * when the wait is up, saying how many are left, with exit code 8.
     */
    @Test
    void drainWithWaitReturnsOnceTheNodesListenersHaveLeftOrSaysHowManyStayed() throws Exception {
        cluster();
        CompletableFuture<Radioctl.Result> waiting = CompletableFuture.supplyAsync(
                () -> radioctl.run("drain", "node2", "--wait", "20s"));
        await().atMost(Duration.ofSeconds(10)).until(() -> keys.get("drain/node2").isPresent());
        long drained = System.nanoTime();
        // still waiting while node2 has its 3 listeners
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> !waiting.isDone());
        put("nodes/node2", node("node2", "127.0.0.12", true, 0, Map.of("/live.mp3", 0, "/live-64.mp3", 0),
                0, 0, 0, List.of()));
        long left = System.nanoTime();
        Radioctl.Result r = waiting.get(20, TimeUnit.SECONDS);
        long returned = System.nanoTime();
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.out().contains("no listener is left on node2 (after "), r::toString);
        // One poll (0.5 s) after the last listener left, with room for a busy machine (not before: checked above).
        long afterLeft = (returned - left) / 1_000_000;
        assertTrue(afterLeft <= 1500, "drain --wait returned " + afterLeft + " ms after the listeners left");
        assertTrue((returned - drained) / 1_000_000 < 3500, "drain --wait took " + (returned - drained) / 1_000_000 + " ms");

        // A node that leaves the cluster (stopped: its key goes with its lease) has no listeners left either.
        put("nodes/node3", node("node3", "127.0.0.13", true, 4, Map.of("/live.mp3", 4), 0, 0, 0, List.of()));
        CompletableFuture<Radioctl.Result> leaving = CompletableFuture.supplyAsync(
                () -> radioctl.run("drain", "node3", "--wait", "20s"));
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(2)).until(() -> !leaving.isDone());
        keys.delete("nodes/node3");
        Radioctl.Result gone = leaving.get(5, TimeUnit.SECONDS);
        assertEquals(0, gone.exitCode(), gone::toString);
        assertTrue(gone.out().contains("no listener is left on node3"), gone::toString);

        long start = System.nanoTime();
        Radioctl.Result stays = radioctl.run("drain", "node1", "--wait", "1s");
        long took = (System.nanoTime() - start) / 1_000_000;
        assertEquals(ExitCode.LISTENERS_LEFT, stays.exitCode(), stays::toString);
        assertTrue(stays.out().contains("7 listeners are still connected to node1 after 1s"), stays::toString);
        assertTrue(took >= 1000 && took < 5000, "drain --wait 1s took " + took + " ms");
        Radioctl.Result jr = radioctl.run("drain", "node1", "--wait", "500ms", "--json");
        assertEquals(ExitCode.LISTENERS_LEFT, jr.exitCode(), jr::toString);
        JsonNode j = jr.json();
        assertEquals(7, j.get("listenersLeft").asInt());
        assertTrue(j.get("waitedMillis").asLong() >= 500, j::toString);

        // A node that is not live has no listeners: nothing to wait for.
        Radioctl.Result down = radioctl.run("drain", "node9", "--force", "--wait", "30s");
        assertEquals(0, down.exitCode(), down::toString);
        assertTrue(down.took().toMillis() < 5000, down::toString);
        // A wait longer than an hour is refused before anything is written.
        Radioctl.Result tooLong = radioctl.run("drain", "node2", "--wait", "61m", "--reason", "not written");
        assertEquals(ExitCode.USAGE, tooLong.exitCode(), tooLong::toString);
        assertTrue(tooLong.err().contains("--wait '61m' is out of range: use more than 0 and at most 60m"), tooLong::toString);
        assertEquals("", Json.decodeStrict(keys.get("drain/node2").orElseThrow().getBytes(StandardCharsets.UTF_8),
                Drain.class).reason(), "the refused drain changed the stored one");
    }

    @Test
    void drainingANodeThatIsNotLiveNeedsForce() {
        cluster();
        Radioctl.Result r = radioctl.run("drain", "node9");
        assertEquals(3, r.exitCode(), r::toString);
        assertEquals("radioctl: node node9 is not live (live nodes: node1, node2, node3); use --force to drain it anyway, "
                + "so that it starts drained\n", r.err());
        assertEquals(0, keys.get("drain/node9").stream().count());

        Radioctl.Result forced = radioctl.run("drain", "node9", "--force");
        assertEquals(0, forced.exitCode(), forced::toString);
        assertTrue(forced.out().contains("it is not live now, and will start drained"), forced::toString);
        assertEquals(1, keys.get("drain/node9").stream().count());
    }

    @Test
    void urlsOfAMountComeFromTheLiveNodesThatAreNotDrained() {
        cluster();
        Radioctl.Result r = radioctl.run("show-mount", "/live.mp3");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.out().contains("""
                broadcasters (Icecast source protocol, any node):
                  http://127.0.0.11:8000/live.mp3
                  http://127.0.0.12:8000/live.mp3
                listeners:
                  http://127.0.0.11:8080/live.mp3
                  http://127.0.0.12:8080/live.mp3
                  http://127.0.0.11:8080/live.mp3.m3u  http://127.0.0.11:8080/live.mp3.pls
                """), r::toString);
    }
}
