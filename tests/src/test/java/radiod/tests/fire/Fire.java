package radiod.tests.fire;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import radiod.cluster.model.Mount;
import radiod.cluster.model.Transcoding;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;

/**
 * The world the failure scenarios run in: a 3-member etcd cluster, 3 radiod nodes (each with its Icecast), an
 * ffmpeg encoder feeding {@code /live.mp3} through a node's source port (and reconnecting, like a real encoder, to
 * another node when that one is gone), a transcoded {@code /live-64.mp3}, player-like listeners on both mounts, and
 * a watch on every node's own claim to be master. Each fault is followed by {@link #recovered}, which measures every
 * listener's audio gap and checks the invariants.
 */
final class Fire implements AutoCloseable {
    static final int TTL = 5;
    static final Mount LIVE = new Mount("/live.mp3", "source", "fire-live", null, null, 0, 128, null);
    static final Mount LIVE_64 = new Mount("/live-64.mp3", "source", "fire-64", null, null, 0, 0,
            new Transcoding("/live.mp3", "mp3", 64, 44100, 2, null));
    /** A listener must have audio again this long after a fault, whatever the machine's load; the figure is reported. */
    static final Duration AUDIO_BOUND = Duration.ofSeconds(TTL + 12);
    private static final Path REPORT = Path.of("target", "fire-gaps.txt");

    final EtcdCluster etcd;
    final RadiodCluster cluster;
    final List<Player> players = new ArrayList<>();
    final MasterWatch watch;
    private final Thread encoderThread;
    private volatile boolean running = true;
    private volatile Process encoder;
    private volatile int encoderVia;
    private volatile int encoderStarts;

    Fire(int listenersPerNode) {
        etcd = EtcdCluster.ofSize(3);
        etcd.start();
        cluster = new RadiodCluster(etcd, 3, TTL).start();
        cluster.awaitReady(Duration.ofSeconds(30));
        cluster.putMount(LIVE);
        cluster.putMount(LIVE_64);
        // The encoder goes through a node that is not the master, as broadcasters pointing at the cluster's name may.
        RadiodProcess master = cluster.master().orElseThrow();
        encoderVia = cluster.nodes().indexOf(cluster.nodes().stream().filter(n -> n != master).findFirst().orElseThrow());
        encoderThread = new Thread(this::keepEncoding, "encoder");
        encoderThread.setDaemon(true);
        encoderThread.start();
        watch = new MasterWatch(cluster.nodes());
        awaitLive(Duration.ofSeconds(30));
        // Every node serving both mounts first, or every listener would be sent to the master, the only one that has them.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> cluster.nodes().stream()
                .allMatch(n -> cluster.snapshot().node(n.name()).map(st -> st.hasMount(LIVE.path()) && st.hasMount(LIVE_64.path()))
                        .orElse(false)));
        for (int i = 0; i < 3 * listenersPerNode; i++) {
            players.add(new Player("p" + i, LIVE.path(), this::entries, i));
        }
        players.add(new Player("t0", LIVE_64.path(), this::entries, 0));
        players.add(new Player("t1", LIVE_64.path(), this::entries, 1));
        settle(Duration.ofSeconds(40));
        report("master " + master().address() + ", encoder via " + encoderNode().address() + ", listeners on "
                + players.stream().map(Player::toString).toList());
    }

    /** What a player could be given for the cluster: every node (a dead one refuses, and the player moves on). */
    List<String> entries() {
        List<String> urls = new ArrayList<>();
        for (RadiodProcess n : cluster.nodes()) {
            urls.add(n.httpUrl(""));
        }
        return urls;
    }

    /** Keeps ffmpeg connected through the chosen node's source port, moving on to the next node when it fails. */
    private void keepEncoding() {
        while (running) {
            Process p = encoder;
            if (p == null || !p.isAlive()) {
                if (p != null) {
                    encoderVia = (encoderVia + 1) % 3;
                }
                RadiodProcess via = cluster.node(encoderVia);
                if (!via.running()) {
                    encoderVia = (encoderVia + 1) % 3;
                    via = cluster.node(encoderVia);
                }
                try {
                    encoder = Streams.tone("icecast://" + LIVE.sourceUser() + ":" + LIVE.sourcePassword() + "@" + via.address()
                            + ":" + cluster.sourcePort + LIVE.path(), false);
                    encoderStarts++;
                } catch (IOException e) {
                    encoder = null;
                }
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    int encoderStarts() {
        return encoderStarts;
    }

    RadiodProcess encoderNode() {
        return cluster.node(encoderVia);
    }

    RadiodProcess master() {
        return cluster.master().orElseThrow();
    }

    void awaitLive(Duration timeout) {
        await().atMost(timeout).pollInterval(Duration.ofMillis(200)).until(() -> {
            RadiodProcess m = master();
            return cluster.snapshot().node(m.name()).map(n -> n.hasMount(LIVE.path()) && n.hasMount(LIVE_64.path())).orElse(false);
        });
    }

    /** A master, every running node up, both mounts live, one transcoder, every listener hearing audio. */
    void settle(Duration timeout) {
        cluster.awaitReady(timeout);
        awaitLive(timeout);
        await().atMost(timeout).pollInterval(Duration.ofMillis(200)).until(() -> liquidsoaps(LIVE_64.path()).size() == 1);
        await().atMost(timeout).pollInterval(Duration.ofMillis(100)).until(() -> players.stream()
                .allMatch(p -> System.currentTimeMillis() - p.lastAudio() < 1000));
    }

    /**
     * After a fault at {@code faultAt}: waits until every listener hears audio again, and reports each one's
     * longest silence since the fault. Checks that the mounts are as written and no two nodes acted as master.
     */
    Gaps recovered(String scenario, long faultAt) {
        await().atMost(AUDIO_BOUND.plusSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() -> players.stream()
                .allMatch(p -> p.lastAudio() > faultAt && System.currentTimeMillis() - p.lastAudio() < 1000));
        long now = System.currentTimeMillis();
        Map<String, Long> gaps = new TreeMap<>();
        for (Player p : players) {
            gaps.put(p.name() + p.mount(), p.longestSilence(faultAt, now));
        }
        Gaps g = new Gaps(scenario, gaps);
        report(g.toString());
        checkInvariants();
        for (Map.Entry<String, Long> e : gaps.entrySet()) {
            assertTrue(e.getValue() <= AUDIO_BOUND.toMillis(), scenario + ": " + e.getKey() + " silent " + e.getValue() + " ms");
        }
        return g;
    }

    void checkInvariants() {
        assertEquals(List.of(), watch.doubleMasters(), "two nodes acted as master at the same instant");
        Map<String, Mount> mounts = cluster.snapshot().mounts();
        assertEquals(LIVE, mounts.get(LIVE.path()), "mount definition lost or altered");
        assertEquals(LIVE_64, mounts.get(LIVE_64.path()), "mount definition lost or altered");
        for (Player p : players) {
            assertEquals(0, p.notAudio(), p + " got a stream that was not MP3 audio");
        }
    }

    /** Exactly one transcoder once recovered, and still one a moment later. */
    void oneTranscoder() {
        await().atMost(Duration.ofSeconds(TTL + 15)).pollInterval(Duration.ofMillis(200))
                .until(() -> liquidsoaps(LIVE_64.path()).size() == 1);
        for (int i = 0; i < 5; i++) {
            Map<String, List<Long>> running = liquidsoaps(LIVE_64.path());
            assertEquals(1, running.values().stream().mapToInt(List::size).sum(), "transcoders: " + running);
            sleep(200);
        }
    }

    /** Live (not zombie) liquidsoap processes of this cluster for a mount, by the node whose directory holds its script. */
    Map<String, List<Long>> liquidsoaps(String mount) {
        String script = mount.substring(1) + ".liq";
        String dir = cluster.dir().toString();
        Map<String, List<Long>> byNode = new TreeMap<>();
        ProcessHandle.allProcesses().forEach(p -> p.info().commandLine().ifPresent(c -> {
            if (c.contains("liquidsoap") && c.contains(dir) && c.endsWith(script) && !zombie(p.pid())) {
                Matcher m = Pattern.compile("(node\\d+)-transcoders").matcher(c);
                byNode.computeIfAbsent(m.find() ? m.group(1) : c, k -> new ArrayList<>()).add(p.pid());
            }
        }));
        return byNode;
    }

    private static boolean zombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException | RuntimeException e) {
            return true; // gone
        }
    }

    /** The node running the transcoder of {@code /live-64.mp3}. */
    RadiodProcess transcoderNode() {
        Map<String, List<Long>> running = liquidsoaps(LIVE_64.path());
        assertEquals(1, running.size(), "transcoders: " + running);
        return cluster.node(running.keySet().iterator().next());
    }

    /** Streams opened by every listener so far. */
    Map<String, Integer> connections() {
        Map<String, Integer> c = new TreeMap<>();
        players.forEach(p -> c.put(p.name() + p.mount(), p.connections()));
        return c;
    }

    static void report(String line) {
        System.out.println("FIRE " + line);
        try {
            Files.createDirectories(REPORT.getParent());
            Files.writeString(REPORT, line + System.lineSeparator(), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            // the line is on stdout too
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Every listener's longest silence after one fault. */
    record Gaps(String scenario, Map<String, Long> byListener) {
        long median() {
            List<Long> v = new ArrayList<>(byListener.values());
            Collections.sort(v);
            return v.get(v.size() / 2);
        }

        long worst() {
            return Collections.max(byListener.values());
        }

        @Override
        public String toString() {
            return String.format("%-40s median %5.2f s, worst %5.2f s over %d listeners %s", scenario, median() / 1000.0,
                    worst() / 1000.0, byListener.size(), byListener);
        }
    }

    @Override
    public void close() {
        running = false;
        encoderThread.interrupt();
        players.forEach(Player::close);
        watch.close();
        Streams.stop(encoder);
        cluster.close();
        etcd.close();
    }
}
