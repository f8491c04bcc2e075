package radiod.redirector.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import radiod.cluster.model.Drain;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/**
 * Each load-balancing stage filters, scores or picks as documented, unknown stage names fail at parse time, and the
 * whole pipeline spreads listeners by free slots.
 */
class PipelineTest {
    static final Mount LIVE = new Mount("/live.mp3", null, "pw", null, null, 0, 128, null);

    /** A node builder with sensible defaults: up, not drained, the live mount on air, no limits, no load. */
    static final class N {
        String name;
        boolean up = true;
        boolean drained;
        int listeners;
        int maxListeners;
        long bps;
        long maxBps;
        long updatedAt = 1;
        boolean hasMount = true;

        N(String name) {
            this.name = name;
        }

        N down() {
            up = false;
            return this;
        }

        N drained() {
            drained = true;
            return this;
        }

        N listeners(int used, int max) {
            listeners = used;
            maxListeners = max;
            return this;
        }

        N bandwidth(long used, long max) {
            bps = used;
            maxBps = max;
            return this;
        }

        N withoutMount() {
            hasMount = false;
            return this;
        }

        N at(long t) {
            updatedAt = t;
            return this;
        }

        NodeStatus build() {
            Map<String, Integer> byMount = hasMount ? Map.of(LIVE.path(), listeners) : Map.of();
            return new NodeStatus(name, List.of("192.0.2." + (10 + name.charAt(name.length() - 1) - '0')), 8080, 8000, 8100,
                    53, up, drained, false, listeners, byMount, bps, maxBps, maxListeners, List.of(), "t", updatedAt);
        }
    }

    static N node(String name) {
        return new N(name);
    }

    static ClusterSnapshot view(List<N> nodes, String... drainedInEtcd) {
        Map<String, NodeStatus> m = new HashMap<>();
        nodes.forEach(n -> m.put(n.name, n.build()));
        Map<String, Drain> d = new HashMap<>();
        for (String s : drainedInEtcd) {
            d.put(s, new Drain("maintenance", 0));
        }
        return new ClusterSnapshot(1, m, Optional.empty(), Map.of(LIVE.path(), LIVE), Map.of(), d);
    }

    static Optional<String> once(String spec, ClusterSnapshot v) {
        return Pipeline.parse(spec).choose(v, LIVE, new SplittableRandom(7)).map(NodeStatus::name);
    }

    /** Which nodes a filter lets through, each decided by a fresh pipeline (no predictions). */
    static List<String> passing(String filter, ClusterSnapshot v) {
        List<String> out = new ArrayList<>();
        for (String name : v.nodes().keySet().stream().sorted().toList()) {
            ClusterSnapshot alone = new ClusterSnapshot(1, Map.of(name, v.nodes().get(name)), Optional.empty(), v.mounts(),
                    Map.of(), v.drains());
            once(filter + ",random", alone).ifPresent(out::add);
        }
        return out;
    }

    @Test
    void unknownStageNamesFailAtParseTimeListingTheValidOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Pipeline.parse("icecast_active,lol,weighted"));
        assertTrue(e.getMessage().contains("unknown stage 'lol'"), e.getMessage());
        for (String valid : List.of("icecast_active", "not_drained", "listeners_available", "bandwidth_available", "has_mount",
                "listeners_score", "bandwidth_score", "weighted", "best", "random")) {
            assertTrue(e.getMessage().contains(valid), e.getMessage());
            assertTrue(Pipeline.stageNames().contains(valid));
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Pipeline.parse("icecast_active,listeners_score"))
                .getMessage().contains("must end with a policy"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Pipeline.parse("weighted,icecast_active"))
                .getMessage().contains("must be the last stage"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Pipeline.parse("best,weighted"))
                .getMessage().contains("must be the last stage"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Pipeline.parse("icecast_active,,best"))
                .getMessage().contains("empty stage name"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Pipeline.parse(" ")).getMessage().contains("empty"));
        assertEquals(Pipeline.DEFAULT, Pipeline.parse(Pipeline.DEFAULT).spec());
        assertEquals("best", Pipeline.parse(" Best ").spec());
    }

    @Test
    void icecastActiveDropsNodesWhoseIcecastIsDown() {
        ClusterSnapshot v = view(List.of(node("node1").down(), node("node2")));
        assertEquals(List.of("node2"), passing("icecast_active", v));
    }

    @Test
    void notDrainedDropsNodesDrainedInEtcdOrByTheirOwnAccount() {
        ClusterSnapshot v = view(List.of(node("node1").drained(), node("node2"), node("node3")), "node3");
        assertEquals(List.of("node2"), passing("not_drained", v));
    }

    @Test
    void listenersAvailableKeepsRoomForOneMoreAndTreatsZeroAsUnlimited() {
        ClusterSnapshot v = view(List.of(node("node1").listeners(10, 10), node("node2").listeners(9, 10),
                node("node3").listeners(5000, 0)));
        assertEquals(List.of("node2", "node3"), passing("listeners_available", v));
    }

    @Test
    void bandwidthAvailableNeedsRoomForTheMountsBitrate() {
        ClusterSnapshot v = view(List.of(node("node1").bandwidth(900_000, 1_000_000),
                node("node2").bandwidth(872_000, 1_000_000), node("node3").bandwidth(5_000_000_000L, 0)));
        // node2: 872 + 128 = 1000 kbit/s fits exactly; node1 would need 1028.
        assertEquals(List.of("node2", "node3"), passing("bandwidth_available", v));
    }

    @Test
    void hasMountKeepsNodesWhereTheMountIsLive() {
        ClusterSnapshot v = view(List.of(node("node1").withoutMount(), node("node2")));
        assertEquals(List.of("node2"), passing("has_mount", v));
    }

    @Test
    void listenersScorePrefersMoreFreeSlotsAndCountsNoLimitAsLarge() {
        assertEquals(Optional.of("node2"), once("listeners_score,best",
                view(List.of(node("node1").listeners(90, 100), node("node2").listeners(500, 1000)))));
        assertEquals(Optional.of("node1"), once("listeners_score,best",
                view(List.of(node("node1").listeners(50, 0), node("node2").listeners(0, 1000)))));
        assertEquals(Optional.of("node1"), once("listeners_score,best",
                view(List.of(node("node1").listeners(10, 0), node("node2").listeners(11, 0)))));
    }

    @Test
    void bandwidthScorePrefersMoreFreeBandwidth() {
        assertEquals(Optional.of("node2"), once("bandwidth_score,best",
                view(List.of(node("node1").bandwidth(90_000_000, 100_000_000), node("node2").bandwidth(50_000_000, 100_000_000)))));
        assertEquals(Optional.of("node1"), once("bandwidth_score,best",
                view(List.of(node("node1").bandwidth(1_000_000, 0), node("node2").bandwidth(0, 10_000_000)))));
    }

    @Test
    void noCandidateGivesNothing() {
        ClusterSnapshot v = view(List.of(node("node1").down(), node("node2").listeners(3, 3)));
        assertTrue(once(Pipeline.DEFAULT, v).isEmpty());
        assertTrue(once(Pipeline.DEFAULT, ClusterSnapshot.EMPTY).isEmpty());
    }

    @Test
    void bestBreaksTiesAtRandomAndRandomIsUniform() {
        double[] scores = {1, 3, 3, 2};
        int[] best = new int[4];
        int[] uniform = new int[4];
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < 40_000; i++) {
            best[Policies.BEST.pick(scores, 4, r)]++;
            uniform[Policies.RANDOM.pick(scores, 4, r)]++;
        }
        assertEquals(0, best[0] + best[3]);
        assertWithinSigmas(best[1], 40_000, 0.5);
        for (int count : uniform) {
            assertWithinSigmas(count, 40_000, 0.25);
        }
    }

    @Test
    void weightedPicksInProportionToScore() {
        double[] scores = {1, 2, 3, 4, 0};
        int trials = 100_000;
        int[] counts = new int[5];
        SplittableRandom r = new SplittableRandom(2024);
        for (int i = 0; i < trials; i++) {
            counts[Policies.WEIGHTED.pick(scores, 5, r)]++;
        }
        assertEquals(0, counts[4], "a zero score is never picked");
        double chiSquare = 0;
        for (int i = 0; i < 4; i++) {
            double expected = trials * scores[i] / 10.0;
            chiSquare += (counts[i] - expected) * (counts[i] - expected) / expected;
        }
        // 3 degrees of freedom: P(chi2 > 16.27) = 0.001
        assertTrue(chiSquare < 16.27, "chi-square " + chiSquare + " for " + java.util.Arrays.toString(counts));
        double[] zeros = {0, 0};
        int[] z = new int[2];
        for (int i = 0; i < 10_000; i++) {
            z[Policies.WEIGHTED.pick(zeros, 2, r)]++;
        }
        assertWithinSigmas(z[0], 10_000, 0.5);
    }

    @Test
    void weightedThroughThePipelineFollowsFreeSlots() {
        // Large capacities so that the picks themselves barely change the weights: 1000 : 3000 free slots.
        ClusterSnapshot v = view(List.of(node("node1").listeners(99_000, 100_000), node("node2").listeners(97_000, 100_000)));
        Pipeline p = Pipeline.parse("listeners_score,weighted");
        SplittableRandom r = new SplittableRandom(5);
        int first = 0;
        for (int i = 0; i < 400; i++) {
            if (p.choose(v, LIVE, r).orElseThrow().name().equals("node1")) {
                first++;
            }
        }
        // With the picks counted, node1's share drifts slightly up from 1/4 (fewer free slots left on node2).
        assertWithinSigmas(first, 400, 0.25);
    }

    @Test
    void predictionsSpreadAHerdAndANewerStatusReplacesThem() {
        Pipeline p = Pipeline.parse("listeners_score,best");
        ClusterSnapshot v = view(List.of(node("node1").listeners(0, 100), node("node2").listeners(0, 100),
                node("node3").listeners(0, 100)));
        Map<String, Integer> counts = new HashMap<>();
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 90; i++) {
            counts.merge(p.choose(v, LIVE, r).orElseThrow().name(), 1, Integer::sum);
        }
        assertEquals(Map.of("node1", 30, "node2", 30, "node3", 30), counts, "best with predictions fills evenly");
        // node1 publishes again (a newer updatedAt) still showing 0 listeners: its estimate is dropped, it is best again.
        ClusterSnapshot newer = view(List.of(node("node1").listeners(0, 100).at(2), node("node2").listeners(0, 100),
                node("node3").listeners(0, 100)));
        // A HEAD's preview counts nothing: node1 stays the best however often it is previewed.
        for (int i = 0; i < 100; i++) {
            assertEquals("node1", p.preview(newer, LIVE).orElseThrow().name());
        }
        for (int i = 0; i < 30; i++) {
            assertEquals("node1", p.choose(newer, LIVE, r).orElseThrow().name());
        }
    }

    @Test
    void aHerdOf2000BetweenTwoStatusUpdatesStaysUnderEveryLimitAndNearTheFairShare() {
        int[] limits = {1000, 800, 400};
        int total = limits[0] + limits[1] + limits[2];
        ClusterSnapshot v = view(List.of(node("node1").listeners(0, limits[0]), node("node2").listeners(0, limits[1]),
                node("node3").listeners(0, limits[2])));
        for (long seed = 1; seed <= 5; seed++) {
            Pipeline p = Pipeline.parse(Pipeline.DEFAULT);
            SplittableRandom r = new SplittableRandom(seed);
            Map<String, Integer> counts = new HashMap<>();
            for (int i = 0; i < 2000; i++) {
                counts.merge(p.choose(v, LIVE, r).orElseThrow().name(), 1, Integer::sum);
            }
            for (int i = 0; i < 3; i++) {
                String name = "node" + (i + 1);
                int got = counts.getOrDefault(name, 0);
                double fair = 2000.0 * limits[i] / total;
                assertTrue(got <= limits[i], name + " above its limit: " + counts);
                assertTrue(Math.abs(got - fair) <= 0.1 * fair, name + " got " + got + ", fair share " + fair + ": " + counts);
            }
        }
    }

    @Test
    void aHerdLargerThanTheClusterFillsItExactlyThenGetsNothing() {
        ClusterSnapshot v = view(List.of(node("node1").listeners(20, 100), node("node2").listeners(0, 50),
                node("node3").listeners(0, 0).down()));
        Pipeline p = Pipeline.parse(Pipeline.DEFAULT);
        Map<String, Integer> counts = new HashMap<>();
        int refused = 0;
        for (int i = 0; i < 200; i++) {
            Optional<NodeStatus> n = p.choose(v, LIVE);
            if (n.isPresent()) {
                counts.merge(n.get().name(), 1, Integer::sum);
            } else {
                refused++;
            }
        }
        assertEquals(Map.of("node1", 80, "node2", 50), counts);
        assertEquals(70, refused);
    }

    @Test
    void concurrentDecisionsNeverOverfillANode() throws Exception {
        ClusterSnapshot v = view(List.of(node("node1").listeners(0, 700), node("node2").listeners(0, 500),
                node("node3").listeners(0, 300)));
        Pipeline p = Pipeline.parse(Pipeline.DEFAULT);
        Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
        AtomicInteger refused = new AtomicInteger();
        int threads = 4;
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread w = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 500; i++) {
                    p.choose(v, LIVE).ifPresentOrElse(n -> counts.computeIfAbsent(n.name(), k -> new AtomicInteger()).incrementAndGet(),
                            refused::incrementAndGet);
                }
            });
            w.start();
            workers.add(w);
        }
        go.countDown();
        for (Thread w : workers) {
            w.join();
        }
        assertEquals(700, counts.get("node1").get());
        assertEquals(500, counts.get("node2").get());
        assertEquals(300, counts.get("node3").get());
        assertEquals(500, refused.get());
        assertFalse(p.choose(v, LIVE).isPresent());
    }

    @Test
    void farFromItsLimitsAThreadReservesAheadAndHandsThemOutItselfNearThemOneByOne() throws Exception {
        ClusterSnapshot v = view(List.of(node("node1").listeners(0, 5000)));
        NodeStatus node1 = v.nodes().get("node1");
        Pipeline p = Pipeline.parse(Pipeline.DEFAULT);
        p.choose(v, LIVE);
        assertEquals(Pipeline.AHEAD, p.reservedOn(node1), "one add reserves a thread's next listeners too");
        for (int i = 1; i < Pipeline.AHEAD; i++) {
            p.choose(v, LIVE);
        }
        assertEquals(Pipeline.AHEAD, p.reservedOn(node1), "handed out without adding again");
        p.choose(v, LIVE);
        assertEquals(2 * Pipeline.AHEAD, p.reservedOn(node1));
        // Another thread sees them all as taken, and reserves its own.
        Thread other = new Thread(() -> p.choose(v, LIVE));
        other.start();
        other.join();
        assertEquals(3 * Pipeline.AHEAD, p.reservedOn(node1));
        // A listener of another bitrate does not take one reserved for this one's: reserved alone.
        p.choose(v, new Mount(LIVE.path(), null, "pw", null, null, 0, 320, null)).orElseThrow();
        assertEquals(3 * Pipeline.AHEAD + 1, p.reservedOn(node1));

        // 1,000 free: every listener alone.
        ClusterSnapshot near = view(List.of(node("node1").listeners(4000, 5000)));
        Pipeline q = Pipeline.parse(Pipeline.DEFAULT);
        q.choose(near, LIVE);
        assertEquals(1, q.reservedOn(near.nodes().get("node1")));
        // Bandwidth counts the same way: room for 1,000 listeners of the mount is not enough to reserve ahead.
        ClusterSnapshot narrow = view(List.of(node("node1").bandwidth(0, 1000 * LIVE.bitsPerSecond())));
        Pipeline r = Pipeline.parse(Pipeline.DEFAULT);
        r.choose(narrow, LIVE);
        assertEquals(1, r.reservedOn(narrow.nodes().get("node1")));
    }

    @Test
    void concurrentDecisionsFarFromTheLimitsStillFillEveryNodeExactly() throws Exception {
        // Far from their limits at first, so threads reserve ahead; near them, races for the last slots. 200 times:
        // a thread preempted with a reservation in flight once made another thread's own last one look taken.
        for (int run = 0; run < 200; run++) {
            ClusterSnapshot v = view(List.of(node("node1").listeners(0, 6000), node("node2").listeners(0, 4000),
                    node("node3").bandwidth(0, 3000 * LIVE.bitsPerSecond())));
            Pipeline p = Pipeline.parse(Pipeline.DEFAULT);
            Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread w = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    // Until refused 20 times in a row: one refusal can be 8 races lost for other nodes' last slots.
                    for (int refusals = 0; refusals < 20; ) {
                        Optional<NodeStatus> n = p.choose(v, LIVE);
                        if (n.isPresent()) {
                            counts.computeIfAbsent(n.get().name(), k -> new AtomicInteger()).incrementAndGet();
                            refusals = 0;
                        } else {
                            refusals++;
                        }
                    }
                });
                w.start();
                workers.add(w);
            }
            go.countDown();
            for (Thread w : workers) {
                w.join();
            }
            assertEquals("{node1=6000, node2=4000, node3=3000}", new java.util.TreeMap<>(counts).toString(), "run " + run);
            assertFalse(p.choose(v, LIVE).isPresent());
        }
    }

    @Test
    void listenersHeldAheadForOneBitrateAreNotSeenAsRoomForAnother() throws Exception {
        Mount hq = new Mount(LIVE.path(), null, "pw", null, null, 0, 320, null);
        NodeStatus a = node("node1").listeners(0, 2000).build();
        NodeStatus b = node("node2").listeners(1999, 2000).build();
        ClusterSnapshot both = PipelineTest.viewOf(a, b);
        Pipeline p = Pipeline.parse("icecast_active,listeners_available,has_mount,listeners_score,best");
        assertEquals("node1", p.choose(both, LIVE).orElseThrow().name()); // and this thread holds 15 more there
        // Another thread, seeing node1 alone, takes every other slot of it.
        Thread filler = new Thread(() -> {
            ClusterSnapshot alone = PipelineTest.viewOf(a);
            while (p.choose(alone, LIVE).isPresent()) {
                // fills node1
            }
        });
        filler.start();
        filler.join();
        // node1 has room only for what this thread holds, for the 128 kbit/s mount: a 320 kbit/s listener goes to
        // node2's last slot (fewer than the 15 held, so "best" would take node1 if the held ones counted for it).
        assertEquals(2000, p.reservedOn(a), "node1 full, counting what this thread holds");
        assertEquals("node2", p.choose(both, hq).orElseThrow().name());
        for (int i = 0; i < Pipeline.AHEAD - 1; i++) {
            assertEquals("node1", p.choose(both, LIVE).orElseThrow().name());
        }
        assertFalse(p.choose(both, LIVE).isPresent());
    }

    @Test
    void twoPipelinesDecidingOnOneThreadKeepTheirOwnListenersAhead() {
        ClusterSnapshot v = view(List.of(node("node1").listeners(0, 5000)));
        Pipeline first = Pipeline.parse(Pipeline.DEFAULT);
        Pipeline second = Pipeline.parse(Pipeline.DEFAULT);
        for (int i = 0; i < Pipeline.AHEAD; i++) {
            first.choose(v, LIVE);
            second.choose(v, LIVE);
        }
        assertEquals(Pipeline.AHEAD, first.reservedOn(v.nodes().get("node1")));
        assertEquals(Pipeline.AHEAD, second.reservedOn(v.nodes().get("node1")));
    }

    static ClusterSnapshot viewOf(NodeStatus... nodes) {
        Map<String, NodeStatus> m = new HashMap<>();
        for (NodeStatus n : nodes) {
            m.put(n.name(), n);
        }
        return new ClusterSnapshot(1, m, Optional.empty(), Map.of(LIVE.path(), LIVE), Map.of(), Map.of());
    }

    /** |observed - n p| within 4 standard deviations of a binomial(n, p). */
    static void assertWithinSigmas(int observed, int n, double p) {
        double sigma = Math.sqrt(n * p * (1 - p));
        assertTrue(Math.abs(observed - n * p) <= 4 * sigma, observed + " of " + n + ", expected " + n * p + " ± " + 4 * sigma);
    }
}
