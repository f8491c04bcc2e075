package radiod.tests.fire;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import picocli.CommandLine;
import radiod.radioctl.Main;
import radiod.tests.harness.Encoder;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;

/**
 * Issue 8's cluster figures on the failure suite's cluster ({@link Fire}: 3 etcd members, 3 radiod nodes, lease
 * TTL 5 s, an encoder through a relay, player-like listeners): the listener audio gap after kill -9 of the master,
 * repeated, and the time from {@code radioctl create-mount} to every node's Icecast serving the new mount while
 * its encoder keeps trying to connect. Not a test: run by {@code bench/cluster/run}, which prints the figures and,
 * with {@code SUMMARY}, appends them to that file for {@code bench/run}.
 *
 * <pre>java -cp … radiod.tests.fire.ClusterBench [failovers] [propagations]</pre>
 */
public final class ClusterBench {
    private ClusterBench() {
    }

    public static void main(String[] args) throws Exception {
        int failovers = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int propagations = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        List<String> summary = new ArrayList<>();
        try (Fire fire = new Fire(2)) {
            if (failovers > 0) {
                failovers(fire, failovers, summary);
            }
            if (propagations > 0) {
                propagation(fire, propagations, summary);
            }
        }
        String file = System.getenv("SUMMARY");
        if (file != null && !file.isEmpty()) {
            Files.write(Path.of(file), summary, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
        System.exit(0); // the players' and the harness's threads are daemons, but do not wait on stragglers
    }

    /** kill -9 of the master, {@code times} times, each followed by the node back and everything settled. */
    static void failovers(Fire fire, int times, List<String> summary) {
        List<Long> live = new ArrayList<>();
        List<Long> transcoded = new ArrayList<>();
        List<Long> newMaster = new ArrayList<>();
        for (int i = 1; i <= times; i++) {
            RadiodProcess master = fire.master();
            long at = System.currentTimeMillis();
            master.kill();
            long elected = awaitOtherMaster(fire, master, at);
            newMaster.add(elected - at);
            Fire.Gaps gaps;
            try {
                gaps = fire.recovered("bench failover " + i + " (kill -9 " + master.address() + ")", at);
            } catch (AssertionError e) {
                System.out.println("BENCH failover " + i + ": " + e.getMessage());
                throw e;
            }
            gaps.byListener().forEach((listener, gap) -> (listener.endsWith(Fire.LIVE_64.path()) ? transcoded : live).add(gap));
            master.start();
            fire.settle(Duration.ofSeconds(60));
        }
        line(summary, "failover", "new master elected after kill -9 (TTL " + Fire.TTL + " s), median / worst",
                seconds(median(newMaster)) + " / " + seconds(Collections.max(newMaster)), "-", "-");
        long liveMedian = median(live);
        long liveWorst = Collections.max(live);
        line(summary, "failover", "listener audio gap, /live.mp3 (" + live.size() + " gaps), median", seconds(liveMedian),
                "<= 3 s", liveMedian <= 3000 ? "met" : "missed");
        line(summary, "failover", "listener audio gap, /live.mp3, worst", seconds(liveWorst), "<= 6 s",
                liveWorst <= 6000 ? "met" : "missed");
        line(summary, "failover", "listener audio gap, transcoded /live-64.mp3 (" + transcoded.size() + " gaps), median / worst",
                seconds(median(transcoded)) + " / " + seconds(Collections.max(transcoded)), "-", "-");
    }

    private static long awaitOtherMaster(Fire fire, RadiodProcess old, long since) {
        while (System.currentTimeMillis() - since < 60_000) {
            if (fire.cluster.master().filter(m -> m != old).isPresent()) {
                return System.currentTimeMillis();
            }
            Fire.sleep(20);
        }
        throw new IllegalStateException("no new master within 60 s");
    }

    /**
     * A new mount each time: its encoder already retrying (every 200 ms, through a relay, as a broadcaster told to
     * start would), then {@code radioctl create-mount}; measured until every node's own Icecast serves MP3 audio.
     */
    static void propagation(Fire fire, int times, List<String> summary) throws Exception {
        List<Long> toMaster = new ArrayList<>();
        List<Long> toAll = new ArrayList<>();
        for (int i = 1; i <= times; i++) {
            String path = "/prop-" + i + "-" + Long.toHexString(System.nanoTime() & 0xffff) + ".mp3";
            String password = "prop-pw-" + i;
            RadiodProcess master = fire.master();
            RadiodProcess via = fire.cluster.nodes().stream().filter(n -> n != master).findFirst().orElseThrow();
            Encoder encoder = new Encoder("icecast://source:" + password + "@" + via.address() + ":" + fire.cluster.sourcePort + path);
            try {
                Fire.sleep(1000); // the encoder is knocking
                long t0 = System.currentTimeMillis();
                int exit = radioctl(fire, "create-mount", path, "--password", password, "--bitrate", "128");
                if (exit != 0) {
                    throw new IllegalStateException("radioctl create-mount exited " + exit);
                }
                long created = System.currentTimeMillis();
                long onMaster = -1;
                List<RadiodProcess> waiting = new ArrayList<>(fire.cluster.nodes());
                while (!waiting.isEmpty()) {
                    if (System.currentTimeMillis() - t0 > 60_000) {
                        throw new IllegalStateException(path + " not served by " + waiting + " after 60 s");
                    }
                    for (RadiodProcess n : List.copyOf(waiting)) {
                        if (servesAudio(n.icecastUrl(path))) {
                            waiting.remove(n);
                            if (n == master) {
                                onMaster = System.currentTimeMillis() - t0;
                            }
                        }
                    }
                    Fire.sleep(50);
                }
                long all = System.currentTimeMillis() - t0;
                toMaster.add(onMaster);
                toAll.add(all);
                Fire.report(String.format("bench propagation %d: %s created in %d ms, live on the master after %.2f s,"
                        + " on every node after %.2f s", i, path, created - t0, onMaster / 1000.0, all / 1000.0));
            } finally {
                encoder.close();
                radioctl(fire, "delete-mount", path);
            }
        }
        line(summary, "propagation", "radioctl create-mount -> live on the master, median / worst",
                seconds(median(toMaster)) + " / " + seconds(Collections.max(toMaster)), "-", "-");
        line(summary, "propagation", "radioctl create-mount -> every relay serving, median / worst",
                seconds(median(toAll)) + " / " + seconds(Collections.max(toAll)), "-", "-");
    }

    private static boolean servesAudio(String url) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
            c.setConnectTimeout(500);
            c.setReadTimeout(1000);
            try {
                if (c.getResponseCode() != 200) {
                    return false;
                }
                try (InputStream in = c.getInputStream()) {
                    return Streams.isMp3(in.readNBytes(4096));
                }
            } finally {
                c.disconnect();
            }
        } catch (IOException e) {
            return false;
        }
    }

    static int radioctl(Fire fire, String... args) {
        CommandLine cli = Main.commandLine(new Main(Map.of(), Path.of("/nonexistent/radioctl.yml")));
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(new StringWriter(), true));
        cli.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(List.of("--endpoints", fire.cluster.etcd().endpointsCsv(), "--prefix",
                fire.cluster.prefix()));
        all.addAll(List.of(args));
        int exit = cli.execute(all.toArray(String[]::new));
        if (exit != 0) {
            System.out.println("BENCH radioctl " + String.join(" ", args) + ": " + err);
        }
        return exit;
    }

    private static void line(List<String> summary, String section, String what, String figure, String goal, String verdict) {
        String l = section + "|" + what + "|" + figure + "|" + goal + "|" + verdict;
        summary.add(l);
        System.out.printf("BENCH %-80s %16s  goal %-8s %s%n", what, figure, goal, verdict);
    }

    private static long median(List<Long> v) {
        List<Long> s = new ArrayList<>(v);
        Collections.sort(s);
        return s.get(s.size() / 2);
    }

    private static String seconds(long ms) {
        return String.format("%.2f s", ms / 1000.0);
    }
}
