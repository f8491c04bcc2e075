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
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import radiod.cluster.model.Mount;
import radiod.cluster.model.Transcoding;
import radiod.tests.harness.Encoder;
import radiod.tests.harness.MarkedAudio;
import radiod.tests.harness.Mpv;
import radiod.tests.harness.NodeMemory;
import radiod.tests.harness.PlainEncoder;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Reception;
import radiod.tests.harness.Source;
import radiod.testkit.EtcdCluster;

/**
 * The world the failure scenarios run in: a 3-member etcd cluster, 3 radiod nodes (each with its Icecast), an
 * encoder feeding {@code /live.mp3} through a node's source port, a transcoded {@code /live-64.mp3}, listeners on
 * both mounts (player-like ones that follow redirects and move to another node when theirs is gone, and one on each
 * node's own stream that stays there), and a watch for two masters at once.
 *
 * <p>The encoder behaves like a real one. Where its node survives the fault it is a plain ffmpeg that never
 * reconnects ({@link PlainEncoder}): if radiod drops it, the station is off the air and the scenario fails on that.
 * Only where its own node is the victim is it a libshout-style encoder that retries on the next node
 * ({@link Encoder}). It sends the {@link MarkedAudio} programme, so every listener of {@code /live.mp3} knows which
 * of the encoder's frames reached it.
 *
 * <p>Each fault starts with {@link #before} and ends with {@link #recovered}, which waits until every listener
 * hears audio again, measures each one's longest silence and the audio it lost, and checks the invariants.
 */
final class Fire implements AutoCloseable {
    static final int TTL = 5;
    static final Mount LIVE = new Mount("/live.mp3", "source", "fire-live", null, null, 0, 128, null);
    static final Mount LIVE_64 = new Mount("/live-64.mp3", "source", "fire-64", null, null, 0, 0,
            new Transcoding("/live.mp3", "mp3", 64, 44100, 2, null));
    /** kill -9 of the master: longest silence of a listener on a surviving node, median over listeners and kills. */
    static final long KILL_MEDIAN_MS = 2000;
    /** kill -9 of the master: the same, worst. */
    static final long KILL_WORST_MS = 3000;
    /** Audio the encoder sent during a master's failover that never reached a listener on a surviving node. */
    static final double LOST_SECONDS = 0.5;
    /** A handover the cluster plans (drain, a restart) or a fault away from the listener's node and the master. */
    static final long HANDOVER_MS = 500;
    /** SIGSTOP (or partition) of the master: a listener on a surviving node. */
    static final long FROZEN_MASTER_MS = (TTL + 1) * 1000L;
    /**
     * A listener whose own node died, froze or lost its Icecast must find another node, as a player does; that is
     * the player's retry, not the cluster's failover, so it is held only to hearing audio again within this.
     */
    static final Duration REJOIN_BOUND = Duration.ofSeconds(TTL + 12);
    private static final Path REPORT = Path.of("target", "fire-gaps.txt");
    private static final Path MEMORY_REPORT = Path.of("target", "fire-memory.txt");

    /** Each node (its radiod with its Icecast and transcoders, and etcd member i) within 512 MiB: see {@link NodeMemory}. */
    final NodeMemory memory;
    final EtcdCluster etcd;
    final RadiodCluster cluster;
    final MarkedAudio programme = MarkedAudio.get();
    final List<Player> players = new ArrayList<>();
    final MasterWatch watch;
    private volatile Source encoder;

    Fire(int listenersPerNode) {
        etcd = EtcdCluster.ofSize(3);
        List<String> names = List.of("node1", "node2", "node3");
        memory = NodeMemory.open(ProcessHandle.current().pid() + "-" + Long.toString(System.nanoTime(), 36), names);
        report("node memory: " + memory.how());
        List<RadiodCluster.Placement> placements = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            etcd.member(i).commandPrefix(memory.prefix(names.get(i)));
            placements.add(new RadiodCluster.Placement(RadiodCluster.address(i), memory.prefix(names.get(i)), etcd.endpoints()));
        }
        etcd.start();
        cluster = new RadiodCluster(etcd, TTL, placements).start();
        for (int i = 0; i < names.size(); i++) {
            RadiodProcess node = cluster.node(i);
            EtcdCluster.Member member = etcd.member(i);
            memory.watch(names.get(i), () -> {
                List<ProcessHandle> ps = new ArrayList<>(node.processes());
                if (member.running()) {
                    ProcessHandle.of(member.pid()).ifPresent(ps::add);
                }
                return ps;
            });
        }
        cluster.awaitReady(Duration.ofSeconds(30));
        cluster.putMount(LIVE);
        cluster.putMount(LIVE_64);
        // The encoder goes through a node that is not the master, as broadcasters pointing at the cluster's name may.
        RadiodProcess master = cluster.master().orElseThrow();
        String url = sourceUrl(otherThan(Set.of(master)));
        encoder = new PlainEncoder(url);
        watch = new MasterWatch(cluster.nodes(), cluster.dir(), cluster.sourcePort, LIVE.path(), MasterWatch.audioPath());
        // Setting up, not under test (AudioPathIT is): a mount's first source may be refused while it is brand new.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
            if (!encoder.alive()) {
                encoder.close();
                encoder = new PlainEncoder(url);
            }
            RadiodProcess m = master();
            return cluster.snapshot().node(m.name()).map(n -> n.hasMount(LIVE.path()) && n.hasMount(LIVE_64.path())).orElse(false);
        });
        // Every node serving both mounts first, or every listener would be sent to the master, the only one that has them.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> cluster.nodes().stream()
                .allMatch(n -> cluster.snapshot().node(n.name()).map(st -> st.hasMount(LIVE.path()) && st.hasMount(LIVE_64.path()))
                        .orElse(false)));
        for (int i = 0; i < 3 * listenersPerNode; i++) {
            players.add(new Player("p" + i, null, LIVE.path(), this::entries, i, programme));
        }
        for (RadiodProcess n : cluster.nodes()) {
            players.add(new Player("on-" + n.name(), n, LIVE.path(), () -> List.of(n.httpUrl("/_stream")), 0, programme));
            // The node's Icecast itself, without radiod's stream pacing: the audio path alone.
            players.add(new Player("ice-" + n.name(), n, LIVE.path(), () -> List.of(n.icecastUrl("")), 0, programme));
        }
        players.add(new Player("t0", null, LIVE_64.path(), this::entries, 0, null));
        players.add(new Player("t1", null, LIVE_64.path(), this::entries, 1, null));
        settle(Duration.ofSeconds(40));
        report("master " + master().address() + ", encoder " + encoder.url() + ", listeners on "
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

    String sourceUrl(RadiodProcess via) {
        return "icecast://" + LIVE.sourceUser() + ":" + LIVE.sourcePassword() + "@" + via.address() + ":" + cluster.sourcePort
                + LIVE.path();
    }

    /** A running node outside {@code avoid}. */
    RadiodProcess otherThan(Collection<RadiodProcess> avoid) {
        return cluster.nodes().stream().filter(n -> !avoid.contains(n) && n.running()).findFirst().orElseThrow();
    }

    Source encoder() {
        return encoder;
    }

    /** The node whose source port the encoder uses now. */
    RadiodProcess encoderNode() {
        Matcher m = Pattern.compile("@([^:/]+):").matcher(encoder.url());
        if (!m.find()) {
            throw new IllegalStateException("no host in " + encoder.url());
        }
        String host = m.group(1);
        return cluster.nodes().stream().filter(n -> n.address().equals(host)).findFirst().orElseThrow();
    }

    /**
     * A plain encoder on a node outside {@code victims}, connected and heard by every listener: the one running if
     * it is plain, alive and placed so, else a new one (a new encoder session, before the fault).
     */
    void plainEncoderAwayFrom(Collection<RadiodProcess> victims) {
        if (encoder instanceof PlainEncoder && encoder.alive() && !victims.contains(encoderNode())) {
            return;
        }
        RadiodProcess via = encoder.alive() && !victims.contains(encoderNode()) && encoderNode().running() ? encoderNode()
                : otherThan(victims.isEmpty() ? Set.of(master()) : victims);
        replaceEncoder(() -> new PlainEncoder(sourceUrl(via)));
    }

    /**
     * A libshout-style encoder on {@code node}, for a fault that takes its own node: when its connection ends it
     * connects again 200 ms later to the next node, and the next, as one given the cluster's name would.
     */
    void retryingEncoderOn(RadiodProcess node) {
        if (encoder instanceof Encoder && encoder.alive() && encoderNode() == node) {
            return;
        }
        AtomicInteger next = new AtomicInteger(cluster.nodes().indexOf(node));
        boolean[] first = {true};
        replaceEncoder(() -> new Encoder(() -> {
            if (!first[0]) {
                next.set((next.get() + 1) % cluster.nodes().size());
            }
            first[0] = false;
            return sourceUrl(cluster.node(next.get()));
        }, Duration.ofMillis(200), List.of()));
    }

    /**
     * Closes the encoder, starts {@code next} and waits until every listener of {@code /live.mp3} that can hear
     * anything plays the new one's audio (the programme from the moment it started, plus half a second, which the
     * old one never sent), and everything has settled.
     */
    private void replaceEncoder(java.util.function.Supplier<Source> next) {
        encoder.close();
        long first = programme.frameAt(System.currentTimeMillis()) + 20;
        encoder = next.get();
        // Setting up, not under test: a node that just became master may refuse a source for a moment.
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(100)).until(() -> {
            if (!encoder.alive()) {
                encoder.close();
                encoder = next.get();
            }
            return players.stream().filter(p -> p.mount().equals(LIVE.path()) && reachable(p))
                    .allMatch(p -> p.reception().highestFrame() >= first);
        });
        settle(Duration.ofSeconds(40));
        report("encoder now " + encoder.getClass().getSimpleName() + " " + encoder.url());
    }

    RadiodProcess master() {
        return cluster.master().orElseThrow();
    }

    /**
     * Back to the starting point after whatever a scenario left (a failed one may leave a node down, a node drained,
     * an etcd member down, no encoder): every etcd member and node running, no drain, a plain encoder on the air on
     * a node that is not the master, everything settled.
     */
    void restore() {
        for (int i = 0; i < etcd.members().size(); i++) {
            if (!etcd.member(i).running()) {
                etcd.member(i).restart();
            }
        }
        for (RadiodProcess n : cluster.nodes()) {
            if (!n.running()) {
                n.start();
            }
        }
        cluster.awaitReady(Duration.ofSeconds(60));
        for (RadiodProcess n : cluster.nodes()) {
            if (cluster.snapshot().isDrained(n.name())) {
                cluster.deleteRaw("drain/" + n.name());
            }
        }
        plainEncoderAwayFrom(Set.of());
        settle(Duration.ofSeconds(60));
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

    /** The moment of a fault and where every listener listened just before it. */
    record Before(long at, Map<Player, String> nodeOf, Source encoder, int encoderDrops) {
    }

    /**
     * Call just before injecting a fault. Waits until every listener that can hear anything has had 3 s of steady
     * audio (no second without it), so that what it went through before the fault is its normal rhythm.
     */
    Before before() {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
            long now = System.currentTimeMillis();
            return players.stream().filter(Fire::reachable).allMatch(p -> p.reception().rhythm(now - 3000, now) < 1000);
        });
        Map<Player, String> nodeOf = new HashMap<>();
        players.forEach(p -> nodeOf.put(p, p.node()));
        Source e = encoder;
        return new Before(System.currentTimeMillis(), nodeOf, e, e.drops());
    }

    /**
     * What one fault did to the listeners.
     *
     * @param surviving    silence the fault caused each {@code /live.mp3} listener whose node was not a victim: its
     *                     longest time without audio bytes after the fault less the longest it had in the 3 s before
     *                     (its normal delivery rhythm: radiod's stream pacing reads Icecast every 500 ms), in ms
     * @param rhythm       that longest time without audio bytes before the fault, per surviving listener (ms)
     * @param lost         audio lost by each of those listeners
     * @param rejoining    longest silence of each {@code /live.mp3} listener whose own node was a victim (ms)
     * @param transcoded   longest silence of each {@code /live-64.mp3} listener (ms)
     * @param encoderDrops connections of the encoder that ended during the fault
     */
    record Outcome(String scenario, Map<String, Long> surviving, Map<String, Long> rhythm, Map<String, Reception.Loss> lost,
                   Map<String, Long> rejoining, Map<String, Long> transcoded, int encoderDrops, String encoderStory) {
        List<Long> survivingGaps() {
            return List.copyOf(surviving.values());
        }

        long worstSurviving() {
            return surviving.isEmpty() ? 0 : Collections.max(surviving.values());
        }

        double worstLostSeconds() {
            return lost.values().stream().mapToDouble(Reception.Loss::lostSeconds).max().orElse(0);
        }

        /** The encoder kept its one connection: a plain ffmpeg never makes another. */
        void assertEncoderKept() {
            assertEquals(0, encoderDrops, scenario + ": the encoder on a surviving node was dropped (a plain ffmpeg does"
                    + " not reconnect, so the station is off the air): " + encoderStory);
        }

        void assertSurvivingWithin(long ms) {
            surviving.forEach((p, gap) -> assertTrue(gap <= ms, String.format(Locale.ROOT,
                    "%s: %s on a surviving node heard nothing for %.2f s (bound %.2f s); all: %s", scenario, p, gap / 1000.0,
                    ms / 1000.0, this)));
        }

        void assertLostWithin(double seconds) {
            lost.forEach((p, loss) -> assertTrue(loss.lostSeconds() <= seconds, String.format(Locale.ROOT,
                    "%s: %s never got %s of the encoder's audio (bound %.2f s)", scenario, p, loss, seconds)));
        }

        /** Every listener hears audio again, whatever happened to its node. */
        void assertEveryoneBack() {
            Map<String, Long> all = new TreeMap<>(rejoining);
            all.putAll(transcoded);
            all.putAll(surviving);
            all.forEach((p, gap) -> assertTrue(gap <= REJOIN_BOUND.toMillis(), scenario + ": " + p + " silent " + gap + " ms"));
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%-44s surviving nodes: worst %5.2f s %s (beyond their rhythm %s), lost %s;"
                            + " own node gone: %s; transcoded: %s; encoder drops %d", scenario, worstSurviving() / 1000.0,
                    seconds(surviving), seconds(rhythm),
                    lost.entrySet().stream().map(e -> e.getKey() + "=" + String.format(Locale.ROOT, "%.2f", e.getValue().lostSeconds())
                            + (e.getValue().repeated() > 0 ? "(+" + e.getValue().repeated() + " replayed)" : ""))
                            .collect(Collectors.joining(", ", "{", "}")),
                    seconds(rejoining), seconds(transcoded), encoderDrops);
        }
    }

    static String seconds(Map<String, Long> ms) {
        return ms.entrySet().stream().map(e -> e.getKey() + "=" + String.format(Locale.ROOT, "%.2f", e.getValue() / 1000.0))
                .collect(Collectors.joining(", ", "{", "}"));
    }

    /**
     * After a fault: waits until every listener hears audio again and has heard {@code /live.mp3} for 2 s more (so
     * the audio held during the fault has come, or never will), or until a plain encoder has been dropped; then
     * measures every listener's longest silence since the fault and the programme frames the surviving ones lost,
     * reports them and checks the invariants.
     *
     * @param victims the nodes the fault took (killed, froze, restarted, or whose Icecast died); their listeners
     *                must rejoin elsewhere or wait for them
     * @param quietAt when the fault's own handover was over (e.g. a new master elected), at or after {@code b.at()}:
     *                the measurement runs at least 2 s beyond it
     */
    Outcome recovered(String scenario, Before b, Collection<RadiodProcess> victims, long quietAt) {
        Set<String> gone = victims.stream().map(RadiodProcess::address).collect(Collectors.toSet());
        await().atMost(REJOIN_BOUND.plusSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() -> plainDropped(b)
                || players.stream().filter(Fire::reachable)
                .allMatch(p -> p.lastAudio() > b.at() && System.currentTimeMillis() - p.lastAudio() < 1000));
        if (!plainDropped(b)) {
            long back = Math.max(System.currentTimeMillis(), quietAt);
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> plainDropped(b)
                    || players.stream().filter(p -> p.mount().equals(LIVE.path()) && reachable(p))
                    .allMatch(p -> p.lastAudio() > back + 2000));
        }
        long now = System.currentTimeMillis();
        Map<String, Long> surviving = new TreeMap<>();
        Map<String, Long> rhythm = new TreeMap<>();
        Map<String, Reception.Loss> lost = new TreeMap<>();
        Map<String, Long> rejoining = new TreeMap<>();
        Map<String, Long> transcoded = new TreeMap<>();
        for (Player p : players) {
            if (!reachable(p)) {
                continue; // staying with its node, which is still down: measured when it is back
            }
            long gap = p.longestSilence(b.at(), now);
            String id = p.name() + "@" + b.nodeOf().get(p);
            if (!p.mount().equals(LIVE.path())) {
                transcoded.put(id, gap);
            } else if (gone.contains(b.nodeOf().get(p))) {
                rejoining.put(id, gap);
            } else {
                long usual = p.reception().rhythm(b.at() - 3000, b.at());
                rhythm.put(id, usual);
                surviving.put(id, Math.max(0, gap - usual));
                lost.put(id, p.reception().loss(b.at()));
            }
        }
        Source e = b.encoder();
        Outcome o = new Outcome(scenario, surviving, rhythm, lost, rejoining, transcoded, e.drops() - b.encoderDrops(),
                e.story() + (plainDropped(b) ? "; measured when the drop was seen: no listener heard it again" : ""));
        report(o.toString());
        if (plainDropped(b)) {
            o.assertEncoderKept();
        }
        checkInvariants();
        return o;
    }

    /** As {@link #recovered(String, Before, Collection, long)}, with nothing to wait for beyond the listeners. */
    Outcome recovered(String scenario, Before b, Collection<RadiodProcess> victims) {
        return recovered(scenario, b, victims, b.at());
    }

    /** Whether a listener can hear anything now: one that stays with its node cannot while that node is down. */
    private static boolean reachable(Player p) {
        return p.pinnedTo() == null || p.pinnedTo().running();
    }

    private boolean plainDropped(Before b) {
        return b.encoder() instanceof PlainEncoder && !b.encoder().alive();
    }

    void checkInvariants() {
        assertEquals(List.of(), watch.doubleMasters(), "two nodes acted as master at the same instant");
        assertEquals(List.of(), watch.foreignSources(), "a node's Icecast took a mount's source from another node");
        Map<String, Mount> mounts = cluster.snapshot().mounts();
        assertEquals(LIVE, mounts.get(LIVE.path()), "mount definition lost or altered");
        assertEquals(LIVE_64, mounts.get(LIVE_64.path()), "mount definition lost or altered");
        for (Player p : players) {
            assertEquals(0, p.notAudio(), p + " got a stream that was not MP3 audio");
        }
        assertTrue(watch.mastersSeen().containsKey("claim") && watch.mastersSeen().containsKey(watch.audioWitness()),
                "the master watch has not seen a master through every witness (claim, " + watch.audioWitness() + "): "
                        + watch.mastersSeen() + ", answers " + watch.samples());
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

    /**
     * mpv with its default cache on {@code node}'s own stream of {@code /live.mp3}, playing for 6 s (its cache
     * filled from the burst and steady): the one given if it plays there, else a new one.
     */
    Mpv mpvOn(RadiodProcess node, Mpv current) {
        String url = node.httpUrl("/_stream" + LIVE.path());
        if (current != null && current.alive() && current.url().equals(url)) {
            return current;
        }
        if (current != null) {
            current.close();
        }
        Mpv mpv = new Mpv(url);
        try {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> mpv.playingSamples() >= 30);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            mpv.close();
            throw new AssertionError("mpv did not play " + url + " for 6 s within 30 s (alive " + mpv.alive() + "): "
                    + mpv.logTail(), e);
        }
        return mpv;
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

    static long median(List<Long> v) {
        List<Long> s = new ArrayList<>(v);
        Collections.sort(s);
        return s.get(s.size() / 2);
    }

    /**
     * The memory bound of every node so far (see {@link NodeMemory}), reported to stdout and
     * {@code target/fire-memory.txt}; and no radiod or etcd member ended without the test ending it.
     */
    void assertMemoryBound() {
        memory.reportAndCheck(Fire::report, MEMORY_REPORT);
        for (RadiodProcess n : cluster.nodes()) {
            assertEquals(List.of(), n.unexpectedExits(), n.name() + "'s radiod ended without the test ending it");
            assertTrue(n.running(), n.name() + " is not running");
            assertTrue(n.icecast().isPresent(), n.name() + " has no Icecast");
        }
        for (EtcdCluster.Member m : etcd.members()) {
            assertEquals(List.of(), m.unexpectedExits(), m.name() + " ended without the test ending it");
            assertTrue(m.running(), m.name() + " is not running");
        }
    }

    @Override
    public void close() {
        players.forEach(Player::close);
        watch.close();
        encoder.close();
        cluster.close();
        etcd.close();
        memory.close();
    }
}
