package radiod.tests.fire;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * The failure suite's cluster figures ({@link Fire}: 3 etcd members, 3 radiod nodes, lease TTL 5 s, a plain
 * ffmpeg encoder through a node that is not the master, listeners on every node, mpv on a surviving node):
 * <ul>
 *   <li>kill -9 of the master, repeated ({@link KillSeries}): the longest silence of every listener on a surviving
 *       node, median and worst; the encoder's audio that never reached them; whether the encoder was dropped;
 *       what mpv went through (underruns, decoder errors, its cache 10 s later); the time to a new master;</li>
 *   <li>{@code radioctl create-mount}, the source connecting as soon as it returns ({@link Propagation}): the time
 *       until every node serves the new mount's audio, and whether the source was let in at once.</li>
 * </ul>
 * Not a test: run by {@code bench/cluster/run}, which prints the figures and, with {@code SUMMARY}, appends them
 * to that file for {@code bench/run}.
 *
 * <pre>java -cp … radiod.tests.fire.ClusterBench [failovers] [propagations] [plain|retrying] [seed]</pre>
 * {@code retrying} measures with a libshout-style encoder that reconnects when dropped (and knocks again on a new
 * mount that refused it), for a cluster whose failover drops encoders, where a plain one would leave the station
 * off the air after the first kill.
 */
public final class ClusterBench {
    private ClusterBench() {
    }

    public static void main(String[] args) throws Exception {
        int failovers = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int propagations = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        boolean retrying = args.length > 2 && args[2].equals("retrying");
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 7;
        List<String> summary = new ArrayList<>();
        try (Fire fire = new Fire(2)) {
            if (failovers > 0) {
                KillSeries s = KillSeries.run(fire, failovers, seed, retrying, false);
                for (String l : s.lines()) {
                    line(summary, "failover", l + (retrying ? " (retrying encoder)" : ""));
                }
            }
            if (propagations > 0) {
                propagation(fire, propagations, retrying, summary);
            }
        }
        String file = System.getenv("SUMMARY");
        if (file != null && !file.isEmpty()) {
            Files.write(Path.of(file), summary, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
        System.exit(0); // the players' and the harness's threads are daemons, but do not wait on stragglers
    }

    /** A new mount each time, its source connecting as soon as create-mount returns. */
    static void propagation(Fire fire, int times, boolean knockAgain, List<String> summary) throws Exception {
        List<Long> toAll = new ArrayList<>();
        int refused = 0;
        for (int i = 1; i <= times; i++) {
            Propagation p = Propagation.measure(fire.cluster, i, 0, knockAgain, Duration.ofSeconds(30));
            if (!p.accepted() || p.knocks() > 1) {
                refused++;
            }
            long all = p.everyNodeMs(fire.cluster.nodes().size());
            toAll.add(all < 0 ? Long.MAX_VALUE : all);
        }
        long median = Fire.median(toAll);
        String figure = median == Long.MAX_VALUE ? "never" : String.format(Locale.ROOT, "%.2f s", median / 1000.0);
        long worst = Collections.max(toAll);
        line(summary, "propagation", "radioctl create-mount + source connects -> audible on every node, median / worst ("
                + times + ")|" + figure + " / " + (worst == Long.MAX_VALUE ? "never" : String.format(Locale.ROOT, "%.2f s", worst / 1000.0))
                + "|<= 0.5 s|" + (median <= 500 ? "met" : "missed"));
        line(summary, "propagation", "source connecting right after create-mount refused (first answer not 100/200)|"
                + refused + " of " + times + "|0|" + (refused == 0 ? "met" : "missed"));
    }

    /** Compatibility for tests that drive radioctl through the bench's cluster. */
    static int radioctl(Fire fire, String... args) {
        return Radioctl.run(fire.cluster, args).exit();
    }

    private static void line(List<String> summary, String section, String l) {
        String[] f = l.split("\\|", -1);
        summary.add(section + "|" + l);
        System.out.printf("BENCH %-96s %24s  goal %-9s %s%n", f[0], f.length > 1 ? f[1] : "", f.length > 2 ? f[2] : "",
                f.length > 3 ? f[3] : "");
    }
}
