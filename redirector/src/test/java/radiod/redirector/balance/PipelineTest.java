package radiod.redirector.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import radiod.cluster.model.Drain;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

class PipelineTest {
    static final Mount LIVE = new Mount("/live.mp3", null, "pw", null, null, 0, 128, null);

    static NodeStatus node(String name, boolean up, int listeners, int maxListeners, long bps, long maxBps, String... mounts) {
        Map<String, Integer> byMount = new HashMap<>();
        for (String m : mounts) {
            byMount.put(m, 0);
        }
        return new NodeStatus(name, List.of("192.0.2." + name.charAt(name.length() - 1)), 8080, 8000, 8100, 53, up, false,
                false, listeners, byMount, bps, maxBps, maxListeners, List.of(), "t", 1);
    }

    static ClusterSnapshot view(List<NodeStatus> nodes, String... drained) {
        Map<String, NodeStatus> m = new HashMap<>();
        nodes.forEach(n -> m.put(n.name(), n));
        Map<String, Drain> d = new HashMap<>();
        for (String s : drained) {
            d.put(s, new Drain("", 0));
        }
        return new ClusterSnapshot(1, m, Optional.empty(), Map.of("/live.mp3", LIVE), Map.of(), d);
    }

    static Optional<String> choose(String spec, ClusterSnapshot v) {
        return Pipeline.parse(spec).choose(v, LIVE).map(NodeStatus::name);
    }

    @Test
    void unknownStagesFailWithTheListOfValidOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Pipeline.parse("icecast_active,lol,weighted"));
        assertTrue(e.getMessage().contains("unknown stage 'lol'"), e.getMessage());
        assertTrue(e.getMessage().contains("icecast_active, not_drained, has_mount"), e.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Pipeline.parse("icecast_active"))
                .getMessage().contains("must end with a policy"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Pipeline.parse("weighted,icecast_active"))
                .getMessage().contains("must come last"));
        assertThrows(IllegalArgumentException.class, () -> Pipeline.parse(" "));
        Pipeline.parse(Pipeline.DEFAULT);
    }

    @Test
    void eachFilterDropsWhatItShould() {
        assertEquals(Optional.of("n2"), choose("icecast_active,random", view(List.of(node("n1", false, 0, 0, 0, 0), node("n2", true, 0, 0, 0, 0)))));
        assertEquals(Optional.of("n2"), choose("not_drained,random", view(List.of(node("n1", true, 0, 0, 0, 0), node("n2", true, 0, 0, 0, 0)), "n1")));
        assertEquals(Optional.of("n2"), choose("has_mount,random", view(List.of(node("n1", true, 0, 0, 0, 0), node("n2", true, 0, 0, 0, 0, "/live.mp3")))));
        assertEquals(Optional.of("n2"), choose("listeners_available,random", view(List.of(node("n1", true, 10, 10, 0, 0), node("n2", true, 10, 11, 0, 0)))));
        assertEquals(Optional.of("n2"), choose("bandwidth_available,random", view(List.of(node("n1", true, 0, 0, 900_000, 1_000_000),
                node("n2", true, 0, 0, 800_000, 1_000_000)))));
        assertEquals(Optional.empty(), choose("icecast_active,weighted", view(List.of(node("n1", false, 0, 0, 0, 0)))));
        assertEquals(Optional.empty(), choose("icecast_active,weighted", view(List.of())));
    }

    @Test
    void scorersAndBestPreferTheLeastLoaded() {
        ClusterSnapshot v = view(List.of(node("n1", true, 50, 100, 0, 0), node("n2", true, 10, 100, 0, 0)));
        assertEquals(Optional.of("n2"), choose("listeners_score,best", v));
        ClusterSnapshot b = view(List.of(node("n1", true, 0, 0, 9_000_000, 10_000_000), node("n2", true, 0, 0, 1_000_000, 10_000_000)));
        assertEquals(Optional.of("n2"), choose("bandwidth_score,best", b));
    }

    @Test
    void weightedPicksInProportionToTheScores() {
        // free slots 75, 50, 25 of 100 each: shares 1/2, 1/3, 1/6
        ClusterSnapshot v = view(List.of(node("n1", true, 25, 100, 0, 0), node("n2", true, 50, 100, 0, 0), node("n3", true, 75, 100, 0, 0)));
        Map<String, Integer> counts = new HashMap<>();
        SplittableRandom random = new SplittableRandom(1);
        int draws = 60_000;
        for (int i = 0; i < draws; i++) {
            // a fresh pipeline each time, so predictions do not move the shares
            Pipeline p = Pipeline.parse("listeners_score,weighted");
            counts.merge(p.choose(v, LIVE, random).orElseThrow().name(), 1, Integer::sum);
        }
        double[] expected = {0.5, 1.0 / 3, 1.0 / 6};
        String[] names = {"n1", "n2", "n3"};
        for (int i = 0; i < 3; i++) {
            double p = expected[i];
            double sigma = Math.sqrt(draws * p * (1 - p));
            double got = counts.getOrDefault(names[i], 0);
            assertTrue(Math.abs(got - draws * p) < 4 * sigma, names[i] + ": " + got + " vs " + draws * p);
        }
    }

    @Test
    void aHerdBetweenTwoStatusUpdatesSpreadsFairlyAndNeverOverfillsANode() {
        // 3 nodes, 800 slots each, 2,000 arrivals before any node publishes again
        ClusterSnapshot v = view(List.of(node("n1", true, 0, 800, 0, 0, "/live.mp3"), node("n2", true, 0, 800, 0, 0, "/live.mp3"),
                node("n3", true, 0, 800, 0, 0, "/live.mp3")));
        Pipeline p = Pipeline.parse(Pipeline.DEFAULT);
        SplittableRandom random = new SplittableRandom(3);
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 2000; i++) {
            counts.merge(p.choose(v, LIVE, random).orElseThrow().name(), 1, Integer::sum);
        }
        double fair = 2000 / 3.0;
        for (String n : List.of("n1", "n2", "n3")) {
            int c = counts.getOrDefault(n, 0);
            assertTrue(c <= 800, n + " over its limit: " + c);
            assertTrue(Math.abs(c - fair) <= 0.1 * fair, n + " got " + c + ", fair share " + fair);
        }
        // uneven limits: the herd fills them, none above its limit, and the 2,401st listener gets none
        ClusterSnapshot small = view(List.of(node("n1", true, 0, 100, 0, 0, "/live.mp3"), node("n2", true, 0, 300, 0, 0, "/live.mp3")));
        Pipeline q = Pipeline.parse(Pipeline.DEFAULT);
        Map<String, Integer> got = new HashMap<>();
        for (int i = 0; i < 400; i++) {
            got.merge(q.choose(small, LIVE, random).orElseThrow().name(), 1, Integer::sum);
        }
        assertEquals(100, got.get("n1"));
        assertEquals(300, got.get("n2"));
        assertEquals(Optional.empty(), q.choose(small, LIVE, random));
    }

    @Test
    void aNewerStatusReplacesThePrediction() {
        NodeStatus before = node("n1", true, 0, 1, 0, 0);
        Pipeline p = Pipeline.parse("listeners_available,random");
        assertTrue(p.choose(view(List.of(before)), LIVE).isPresent());
        assertTrue(p.choose(view(List.of(before)), LIVE).isEmpty(), "the predicted listener fills the node");
        NodeStatus after = new NodeStatus("n1", before.addresses(), 8080, 8000, 8100, 53, true, false, false, 0, Map.of(), 0, 0,
                1, List.of(), "t", 2);
        assertTrue(p.choose(view(List.of(after)), LIVE).isPresent(), "a newer status says the node is free again");
    }
}
