package radiod.tests.fire;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

import radiod.tests.harness.Mpv;
import radiod.tests.harness.RadiodProcess;

/**
 * kill -9 of the master, again and again, with the encoder and a real player (mpv) on surviving nodes: each kill
 * at a seeded random moment, measured ({@link Fire#recovered}), and the node back and everything settled before
 * the next. What every kill did is kept, so the figures can be asserted ({@link #assertBounds}) or printed
 * ({@link #lines}).
 */
final class KillSeries {
    /** A real player's view of one kill. */
    record PlayerFigures(String url, int underruns, double underrunSeconds, int deviceUnderruns, int decoderErrors,
                         double cacheBefore, double cacheLowest, double cacheAfter) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "mpv %s: %d underruns (%.2f s waiting for audio; output ran out %d times in all),"
                            + " %d decoder errors, cache %.2f s -> lowest %.2f s -> %.2f s 10 s after the kill", url, underruns,
                    underrunSeconds, deviceUnderruns, decoderErrors, cacheBefore, cacheLowest, cacheAfter);
        }
    }

    /** How far below its level before the kill mpv's cache may be 10 s later: its own jitter, two to three frames. */
    static final double CACHE_JITTER_SECONDS = 0.1;

    final List<Fire.Outcome> outcomes = new ArrayList<>();
    final List<PlayerFigures> players = new ArrayList<>();
    final List<Long> newMasterMs = new ArrayList<>();
    /** Kills after which the plain encoder was found dropped (only counted when not stopping at the first failure). */
    int encoderDropped;

    /**
     * @param retrying    a libshout-style retrying encoder instead of the plain one (to measure a cluster that drops
     *                    encoders: the plain one would leave the station off the air after the first kill)
     * @param stopOnFirst throw at the first kill whose invariants fail (a test), or note it and go on (a benchmark)
     */
    static KillSeries run(Fire fire, int kills, long seed, boolean retrying, boolean stopOnFirst) {
        KillSeries s = new KillSeries();
        Random random = new Random(seed);
        Fire.report("kill series: " + kills + " kills of the master, seed " + seed + (retrying ? ", retrying encoder" : ""));
        Mpv mpv = null;
        try {
            for (int i = 1; i <= kills; i++) {
                RadiodProcess master = fire.master();
                if (retrying) {
                    RadiodProcess via = fire.otherThan(Set.of(master));
                    fire.retryingEncoderOn(fire.encoder().alive() && fire.encoderNode() != master ? fire.encoderNode() : via);
                } else {
                    fire.plainEncoderAwayFrom(Set.of(master));
                }
                mpv = fire.mpvOn(fire.otherThan(Set.of(master)), mpv);
                Fire.sleep(random.nextInt(2000)); // a random moment in the stream and in the lease's renewal cycle
                Fire.Before b = fire.before();
                int underruns = mpv.underruns();
                int deviceUnderruns = mpv.deviceUnderruns();
                double waited = mpv.underrunSeconds();
                int errors = mpv.decoderErrors();
                master.kill();
                try {
                    s.measure(fire, i, kills, master, b, mpv, underruns, deviceUnderruns, waited, errors, stopOnFirst);
                } finally {
                    master.start();
                }
                if (!fire.encoder().alive()) {
                    fire.plainEncoderAwayFrom(Set.of(fire.master())); // after a drop: back on the air for the next kill
                }
                fire.settle(Duration.ofSeconds(60));
            }
        } finally {
            if (mpv != null) {
                mpv.close();
            }
        }
        return s;
    }

    /** One kill, from the moment the master died: the listeners, then mpv over the 12 s after the kill. */
    private void measure(Fire fire, int i, int kills, RadiodProcess master, Fire.Before b, Mpv mpv, int underruns,
                         int deviceUnderruns, double waited, int errors, boolean stopOnFirst) {
        long elected = awaitOtherMaster(fire, master);
        newMasterMs.add(elected - b.at());
        String scenario = "kill -9 master " + i + "/" + kills + " (" + master.name() + ")";
        try {
            outcomes.add(fire.recovered(scenario, b, Set.of(master), elected));
        } catch (AssertionError e) {
            if (stopOnFirst || fire.encoder().alive()) {
                throw e;
            }
            encoderDropped++;
            Fire.report(scenario + ": " + e.getMessage());
        }
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> System.currentTimeMillis() > b.at() + 12_000 || !mpv.alive());
        PlayerFigures pf = new PlayerFigures(mpv.url(), mpv.underruns() - underruns, mpv.underrunSeconds() - waited,
                mpv.deviceUnderruns() - deviceUnderruns, mpv.decoderErrors() - errors, mpv.cacheSeconds(b.at() - 5000, b.at()),
                mpv.lowestCache(b.at(), b.at() + 10_000), mpv.cacheSeconds(b.at() + 10_000, b.at() + 12_000));
        players.add(pf);
        Fire.report(scenario + ": " + pf);
    }

    private static long awaitOtherMaster(Fire fire, RadiodProcess old) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                .until(() -> fire.cluster.master().filter(m -> m != old).isPresent());
        return System.currentTimeMillis();
    }

    List<Long> survivingGaps() {
        List<Long> all = new ArrayList<>();
        outcomes.forEach(o -> all.addAll(o.survivingGaps()));
        return all;
    }

    List<Double> lostSeconds() {
        List<Double> all = new ArrayList<>();
        outcomes.forEach(o -> o.lost().values().forEach(l -> all.add(l.lostSeconds())));
        return all;
    }

    int encoderDrops() {
        return encoderDropped + outcomes.stream().mapToInt(Fire.Outcome::encoderDrops).sum();
    }

    /** The failover bounds, over every kill: silence median and worst, lost audio, encoder kept, mpv unharmed. */
    void assertBounds() {
        List<Long> gaps = survivingGaps();
        assertTrue(!gaps.isEmpty(), "no listener on a surviving node was measured");
        long median = Fire.median(gaps);
        long worst = Collections.max(gaps);
        String all = String.join("\n", lines());
        assertEquals(0, encoderDrops(), "the plain encoder on a surviving node was dropped:\n" + all);
        assertTrue(median <= Fire.KILL_MEDIAN_MS, String.format(Locale.ROOT,
                "listeners on surviving nodes: longest silence median %.2f s over %d, bound %.2f s\n%s", median / 1000.0,
                gaps.size(), Fire.KILL_MEDIAN_MS / 1000.0, all));
        assertTrue(worst <= Fire.KILL_WORST_MS, String.format(Locale.ROOT,
                "listeners on surviving nodes: longest silence worst %.2f s, bound %.2f s\n%s", worst / 1000.0,
                Fire.KILL_WORST_MS / 1000.0, all));
        outcomes.forEach(o -> o.assertLostWithin(Fire.LOST_SECONDS));
        for (PlayerFigures p : players) {
            assertEquals(0, p.underruns(), "mpv ran dry: " + p + "\n" + all);
            assertEquals(0, p.decoderErrors(), "mpv's decoder met broken frames (a splice not on a frame boundary): " + p);
            assertTrue(p.cacheAfter() >= p.cacheBefore() - CACHE_JITTER_SECONDS,
                    "mpv's cache did not come back to its level before the kill: " + p + "\n" + all);
        }
    }

    /** The figures, one line each: {@code what|figure|goal|met or missed}. */
    List<String> lines() {
        List<String> l = new ArrayList<>();
        List<Long> gaps = survivingGaps();
        int kills = outcomes.size() + encoderDropped;
        l.add("new master elected after kill -9 (TTL " + Fire.TTL + " s), median / worst|"
                + (newMasterMs.isEmpty() ? "-" : sec(Fire.median(newMasterMs)) + " / " + sec(Collections.max(newMasterMs))) + "|-|-");
        if (!gaps.isEmpty()) {
            long median = Fire.median(gaps);
            long worst = Collections.max(gaps);
            l.add("longest silence, listeners on surviving nodes (" + gaps.size() + " over " + outcomes.size() + " kills), median|"
                    + sec(median) + "|<= 2.0 s|" + (median <= Fire.KILL_MEDIAN_MS ? "met" : "missed"));
            l.add("longest silence, listeners on surviving nodes, worst|" + sec(worst) + "|<= 3.0 s|"
                    + (worst <= Fire.KILL_WORST_MS ? "met" : "missed"));
        }
        List<Double> lost = lostSeconds();
        if (!lost.isEmpty()) {
            List<Double> s = new ArrayList<>(lost);
            Collections.sort(s);
            double worst = s.get(s.size() - 1);
            l.add(String.format(Locale.ROOT, "encoder audio never heard, listeners on surviving nodes, median / worst|%.2f s / %.2f s|<= 0.5 s|%s",
                    s.get(s.size() / 2), worst, worst <= Fire.LOST_SECONDS ? "met" : "missed"));
        }
        int drops = encoderDrops();
        l.add("encoder on a surviving node dropped (kills of " + kills + ")|" + drops + "|0|" + (drops == 0 ? "met" : "missed"));
        List<Long> rejoin = new ArrayList<>();
        List<Long> transcoded = new ArrayList<>();
        outcomes.forEach(o -> {
            rejoin.addAll(o.rejoining().values());
            transcoded.addAll(o.transcoded().values());
        });
        if (!rejoin.isEmpty()) {
            l.add("longest silence, listeners of the killed node (they move), median / worst|" + sec(Fire.median(rejoin)) + " / "
                    + sec(Collections.max(rejoin)) + "|-|-");
        }
        if (!transcoded.isEmpty()) {
            l.add("longest silence, transcoded mount, median / worst|" + sec(Fire.median(transcoded)) + " / "
                    + sec(Collections.max(transcoded)) + "|-|-");
        }
        if (!players.isEmpty()) {
            int underruns = players.stream().mapToInt(PlayerFigures::underruns).sum();
            int errors = players.stream().mapToInt(PlayerFigures::decoderErrors).sum();
            long refilled = players.stream().filter(p -> p.cacheAfter() >= p.cacheBefore() - CACHE_JITTER_SECONDS).count();
            l.add("mpv on a surviving node: kills with an underrun|" + players.stream().filter(p -> p.underruns() > 0).count()
                    + " of " + players.size() + " (" + underruns + " underruns)|0|" + (underruns == 0 ? "met" : "missed"));
            l.add("mpv: decoder errors|" + errors + "|0|" + (errors == 0 ? "met" : "missed"));
            l.add("mpv: cache back to its level 10 s after the kill|" + refilled + " of " + players.size() + " (before / after: "
                    + players.stream().map(p -> String.format(Locale.ROOT, "%.1f/%.1f", p.cacheBefore(), p.cacheAfter())).toList()
                    + ")|all|" + (refilled == players.size() ? "met" : "missed"));
        }
        return l;
    }

    private static String sec(long ms) {
        return String.format(Locale.ROOT, "%.2f s", ms / 1000.0);
    }
}
