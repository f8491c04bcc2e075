package radiod.tests.fire;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import radiod.cluster.model.Mount;
import radiod.tests.harness.ProcessResources;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.RunsAlone;
import radiod.tests.harness.Streams;

/**
 * The soak: a cluster kept busy the way a station keeps it busy for months, with no fault at all, and then asked
 * whether it is where it started. In the failure suite's world ({@link Fire}: 3 nodes each in 512 MiB, a 3-member
 * etcd, a plain ffmpeg on {@code /live.mp3}, its transcoded {@code /live-64.mp3}, players on every node), for
 * {@code soak.seconds} (seeded by {@code soak.seed}), at once:
 * <ul>
 * <li>listeners come and go through the redirects: most read some audio and leave, some leave before the answer,
 * players that follow no redirect are streamed to by the node they asked; now and then a real ffmpeg plays two
 * seconds;</li>
 * <li>a second encoder connects to {@code /churn.mp3} on a random node, streams a few seconds and leaves, killed or
 * stopped, over and over;</li>
 * <li>titles are sent for {@code /live.mp3} every second or two, as an MP3 encoder sends them;</li>
 * <li>an operator creates a mount with a new name (radioctl), streams to it and listens, deletes it; every third
 * one is a transcoded mount (a liquidsoap started and stopped); every fourth cycle drains a node for a few
 * seconds (the master too, which hands mastership over) and brings it back; and reads {@code radioctl status},
 * {@code listeners} and {@code list-mounts}.</li>
 * </ul>
 * Afterwards, with the churn stopped: every radiod holds no more threads, descriptors or live heap than after the
 * warm-up (small stated slacks), every Icecast no more descriptors; etcd has the same keys, leases and open watch
 * streams as before the soak; the nodes count the listeners they counted before it; no liquidsoap of a deleted
 * mount runs and no meter names one; the last title is on every node's status page; no radiod logged an error, or a warning about what the
 * operator did (a mount deleted, a master drained). Throughout: no listener session and no encoder connection was
 * refused or went without audio; the long-lived players never reconnected, heard nothing twice and lost not one
 * frame (a drain hands mastership over with the encoder's audio replayed, and nothing else is a fault; every hole is
 * reported with its time); the encoder of {@code /live.mp3} was never dropped; the failure suite's
 * invariants and memory bound hold. {@code bin/test} runs 60 s; the long run is {@code bin/soak [minutes] [seed]}
 * (see README). Figures go to stdout and {@code target/soak.txt}, the nodes' logs to {@code target/soak-nodeN.log},
 * and the heap of a node that used half the heap slack to {@code target/soak-nodeN.hprof}.
 */
@RunsAlone
class SoakIT {
    static final Mount CHURN = new Mount("/churn.mp3", "source", "soak-churn", null, null, 0, 128, null);
    /** Threads radiod may add after the warm-up: Vert.x and JDK helpers started on first use. */
    static final int THREAD_SLACK = 4;
    /** Descriptors, radiod's or Icecast's: connections still closing. One per listener session leaked is 100 times this. */
    static final int FD_SLACK = 10;
    /** Live heap after a full GC: 1 KiB kept per listener session would be several times this in 60 s. */
    static final long HEAP_SLACK = 4L << 20;
    /** A long-lived player's longest time without audio: the stream comes in bursts ~0.25 s apart. */
    static final long SILENCE_BOUND_MS = 1000;
    private static final Path REPORT = Path.of("target", "soak.txt");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> AGENTS = List.of("VLC/3.0.18 LibVLC/3.0.18", "mpv 0.35.1",
            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", "Lavf/59.27.100",
            "iTunes/12.12 (Windows; Microsoft Windows 10 x64)", "WinampMPEG/5.66");

    static Fire fire;

    @BeforeAll
    static void start() throws IOException {
        Files.createDirectories(REPORT.getParent());
        Files.deleteIfExists(REPORT);
        fire = new Fire(1);
    }

    @AfterAll
    static void stop() {
        if (fire != null) {
            fire.close();
        }
    }

    /** What the workers did, and everything that went wrong (the first 40 of each kind kept for the message). */
    static final class Tally {
        final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
        final Map<String, AtomicLong> problemCounts = new ConcurrentHashMap<>();
        final List<String> problems = Collections.synchronizedList(new ArrayList<>());

        void count(String what) {
            counts.computeIfAbsent(what, k -> new AtomicLong()).incrementAndGet();
        }

        long total(String what) {
            AtomicLong c = counts.get(what);
            return c == null ? 0 : c.get();
        }

        void problem(String kind, String detail) {
            long n = problemCounts.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
            if (n <= 40) {
                problems.add(Instant.now() + " " + kind + ": " + detail);
            }
        }

        @Override
        public String toString() {
            return new TreeMap<>(counts).toString();
        }
    }

    final Tally tally = new Tally();
    volatile boolean churning = true;
    final Set<String> tempMounts = ConcurrentHashMap.newKeySet();
    volatile String lastTitle;

    @Test
    void aBusyClusterEndsWhereItStarted() throws Exception {
        long seed = Long.getLong("soak.seed", 7);
        long seconds = Long.getLong("soak.seconds", 60);
        long warmMs = Math.min(20_000, seconds * 250);
        report("soak: seed " + seed + ", " + seconds + " s (warm-up " + warmMs / 1000 + " s)");

        fire.cluster.putMount(CHURN);
        sendTitle(new Random(seed), 0); // a title key exists before the baseline, as on any station
        await().atMost(Duration.ofSeconds(10)).until(() -> keys().stream().anyMatch(k -> k.contains("title")));
        fire.settle(Duration.ofSeconds(30));
        Set<String> keysBefore = keys();
        List<String> leasesBefore = fire.etcd.leases();
        long watchStreamsBefore = fire.etcd.watchStreams();
        Map<String, Integer> listenersBefore = listenersByNode();
        Map<String, Integer> connectionsBefore = fire.connections();
        Fire.Before b = fire.before();
        report("before: " + keysBefore.size() + " keys, " + leasesBefore.size() + " leases, " + watchStreamsBefore
                + " watch streams, listeners " + listenersBefore);

        Map<String, Integer> logFrom = new TreeMap<>();
        fire.cluster.nodes().forEach(n -> logFrom.put(n.name(), n.logText().length()));
        long start = System.currentTimeMillis();
        long end = start + seconds * 1000;
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Random r = new Random(seed * 31 + i);
            workers.add(worker("listeners-" + i, () -> listenerSession(r)));
        }
        Random players = new Random(seed * 31 + 10);
        workers.add(worker("ffmpeg-player", () -> ffmpegPlayer(players)));
        Random churn = new Random(seed * 31 + 11);
        workers.add(worker("churn-encoder", () -> churnEncoder(churn)));
        Random titles = new Random(seed * 31 + 12);
        AtomicLong titleNo = new AtomicLong();
        workers.add(worker("titles", () -> {
            sendTitle(titles, titleNo.incrementAndGet());
            pause(1000 + titles.nextInt(1000));
        }));
        Random operator = new Random(seed * 31 + 13);
        AtomicLong mountNo = new AtomicLong();
        workers.add(worker("operator", () -> operatorCycle(operator, mountNo.incrementAndGet())));

        // The baseline of what each process holds: after the warm-up, so that what radiod creates on first use
        // (threads, pooled buffers, compiled paths) is in it.
        Fire.sleep(warmMs);
        RadiodProcess masterBefore = currentMaster();
        Map<String, ProcessResources> radiodBefore = new LinkedHashMap<>();
        Map<String, ProcessResources> icecastBefore = new LinkedHashMap<>();
        for (RadiodProcess n : fire.cluster.nodes()) {
            radiodBefore.put(n.name(), ProcessResources.of(n.pid()));
            icecastBefore.put(n.name(), ProcessResources.withoutHeap(icecast(n)));
        }
        report("after the warm-up: radiod " + radiodBefore + "; Icecast " + icecastBefore);
        Map<String, Map<String, Long>> histogramsBefore = new TreeMap<>();
        for (RadiodProcess n : fire.cluster.nodes()) {
            histogramsBefore.put(n.name(), ProcessResources.histogram(n.pid()));
        }
        Map<String, List<Long>> rss = new TreeMap<>();
        while (System.currentTimeMillis() < end) {
            for (RadiodProcess n : fire.cluster.nodes()) {
                rss.computeIfAbsent(n.name(), k -> new ArrayList<>()).add(ProcessResources.rssKib(n.pid()) / 1024);
            }
            Fire.sleep(Math.min(5000, Math.max(0, end - System.currentTimeMillis())));
        }
        churning = false;
        for (Thread t : workers) {
            t.join(60_000);
            assertTrue(!t.isAlive(), () -> t.getName() + " did not stop within 60 s of the soak's end, at "
                    + Arrays.stream(t.getStackTrace()).map(String::valueOf).collect(Collectors.joining("\n  ")));
        }
        long stopped = System.currentTimeMillis();
        report("soak ran " + (stopped - start) / 1000 + " s: " + tally);
        report("radiod RSS (MiB, every 5 s): " + rss);

        // Where it started: churn ended, every temporary mount deleted, and mastership back where it was (the
        // master holds every mount's last 20 s of audio; a node is compared with itself in the same role).
        if (currentMaster() != masterBefore) {
            List<RadiodProcess> others = fire.cluster.nodes().stream().filter(n -> n != masterBefore).toList();
            others.forEach(n -> assertEquals(0, Radioctl.run(fire.cluster, "drain", n.name(), "--reason", "soak's end").exit()));
            await().atMost(Duration.ofSeconds(10)).until(() -> fire.cluster.master().orElse(null) == masterBefore);
            others.forEach(n -> assertEquals(0, Radioctl.run(fire.cluster, "undrain", n.name()).exit()));
            report("mastership handed back to " + masterBefore.name());
        }
        Map<String, ProcessResources> radiodAfter = new LinkedHashMap<>();
        Map<String, ProcessResources> icecastAfter = new LinkedHashMap<>();
        try {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                for (RadiodProcess n : fire.cluster.nodes()) {
                    radiodAfter.put(n.name(), ProcessResources.of(n.pid()));
                    icecastAfter.put(n.name(), ProcessResources.withoutHeap(icecast(n)));
                }
                return within(radiodBefore, radiodAfter, icecastBefore, icecastAfter) && keys().equals(keysBefore)
                        && fire.etcd.leases().size() == leasesBefore.size() && fire.etcd.watchStreams() == watchStreamsBefore
                        && listenersByNode().equals(listenersBefore);
            });
        } catch (ConditionTimeoutException e) {
            // the assertions below say which
        }
        report("after the soak: radiod " + radiodAfter + "; Icecast " + icecastAfter);
        for (RadiodProcess n : fire.cluster.nodes()) {
            report(n.name() + "'s live heap, the classes grown most: "
                    + ProcessResources.grown(histogramsBefore.get(n.name()), ProcessResources.histogram(n.pid()), 12));
            if (radiodAfter.get(n.name()).liveHeapBytes() > radiodBefore.get(n.name()).liveHeapBytes() + (HEAP_SLACK >> 1)) {
                // Half the slack gone: the heap itself, for whoever looks into it (jcmd's dump after a full GC).
                Path dump = REPORT.resolveSibling("soak-" + n.name() + ".hprof").toAbsolutePath();
                Files.deleteIfExists(dump);
                Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                        Long.toString(n.pid()), "GC.heap_dump", dump.toString()).redirectErrorStream(true).start();
                jcmd.getInputStream().readAllBytes();
                report(n.name() + "'s heap dumped to " + dump + " (jcmd exit " + (jcmd.waitFor(60, TimeUnit.SECONDS) ? jcmd.exitValue() : -1) + ")");
            }
        }
        Set<String> keysAfter = keys();
        List<String> leasesAfter = fire.etcd.leases();
        long watchStreamsAfter = fire.etcd.watchStreams();
        report("after: " + keysAfter.size() + " keys, " + leasesAfter.size() + " leases, " + watchStreamsAfter
                + " watch streams, listeners " + listenersByNode());

        // What the nodes logged during the soak (kept in target/ for a failure's story): warnings reported, errors none.
        Map<String, List<String>> errors = new TreeMap<>();
        for (RadiodProcess n : fire.cluster.nodes()) {
            String text = n.logText().substring(logFrom.get(n.name()));
            Files.writeString(REPORT.resolveSibling("soak-" + n.name() + ".log"), text, StandardCharsets.UTF_8);
            List<String> lines = text.lines().toList();
            List<String> warnings = lines.stream().filter(l -> l.contains(" WARN ")).toList();
            List<String> errs = lines.stream().filter(l -> l.contains(" ERROR ")).limit(10).toList();
            Map<String, Long> kinds = new TreeMap<>();
            warnings.forEach(w -> kinds.merge(w.replaceAll("^\\S+ WARN\\s+\\[[^]]*] ", "").replaceAll("[0-9]+", "N"), 1L, Long::sum));
            report(n.name() + " logged " + lines.size() + " lines, " + warnings.size() + " warnings " + kinds + ", errors " + errs);
            // What the operator does is no fault: a deleted mount, a drained master handing over are not worth a warning.
            List<String> wrong = new ArrayList<>(errs);
            warnings.stream().filter(l -> l.contains("/soak-") || l.contains("no longer the master")).limit(10).forEach(wrong::add);
            if (!wrong.isEmpty()) {
                errors.put(n.name(), wrong);
            }
        }

        assertEquals(List.of(), tally.problems, "the soak's workers met problems (" + tally.problemCounts + ")");
        assertEquals(Map.of(), errors, "radiod logged errors, or warnings about what the operator did (a deleted mount, a drain), during the soak");
        // The workload ran: a listener session every 50-200 ms per worker, and each kind at least a few times.
        assertTrue(tally.total("listener session") >= seconds * 5, "listener sessions: " + tally);
        for (String kind : List.of("ffmpeg player", "churn encoder session", "title", "live mount cycle", "transcoded mount cycle")) {
            assertTrue(tally.total(kind) >= Math.max(1, seconds / 60), kind + ": " + tally);
        }
        assertTrue(tally.total("drain") >= Math.max(1, seconds / 120), "drains: " + tally);
        for (RadiodProcess n : fire.cluster.nodes()) {
            ProcessResources before = radiodBefore.get(n.name());
            ProcessResources after = radiodAfter.get(n.name());
            String seen = n.name() + "'s radiod after the warm-up " + before + ", after the soak " + after;
            assertTrue(after.threads() <= before.threads() + THREAD_SLACK, "threads grew: " + seen);
            assertTrue(after.fds() <= before.fds() + FD_SLACK, "descriptors grew: " + seen);
            assertTrue(after.liveHeapBytes() <= before.liveHeapBytes() + HEAP_SLACK, "the live heap grew: " + seen);
            ProcessResources ib = icecastBefore.get(n.name());
            ProcessResources ia = icecastAfter.get(n.name());
            assertTrue(ia.fds() <= ib.fds() + FD_SLACK, n.name() + "'s Icecast's descriptors grew (connections radiod left open?):"
                    + " after the warm-up " + ib + ", after the soak " + ia);
        }
        assertEquals(diff(keysBefore, keysAfter), diff(keysBefore, keysBefore), "etcd keys left behind or lost (- gone, + new)");
        assertEquals(leasesBefore.size(), leasesAfter.size(), "etcd leases before " + leasesBefore + ", after " + leasesAfter);
        // One stream per watch kept (the view's, each election's): a closed watch's stream must end too.
        assertEquals(watchStreamsBefore, watchStreamsAfter, "watch streams etcd holds open, before the soak and after it");
        assertEquals(listenersBefore, listenersByNode(), "listeners each node counts, before the soak and after it");
        assertEquals(Set.of(), tempMounts, "temporary mounts the operator could not delete");
        for (RadiodProcess n : fire.cluster.nodes()) {
            String metrics = get(n.httpUrl("/metrics"));
            assertTrue(!metrics.contains("/soak-"), n.name() + "'s /metrics still names a deleted mount: "
                    + metrics.lines().filter(l -> l.contains("/soak-")).limit(5).toList());
        }
        Map<String, List<Long>> transcoders = new TreeMap<>();
        ProcessHandle.allProcesses().forEach(p -> p.info().commandLine().ifPresent(c -> {
            if (c.contains("liquidsoap") && c.contains(fire.cluster.dir().toString()) && c.contains("soak-")) {
                transcoders.computeIfAbsent(c.substring(c.lastIndexOf('/') + 1), k -> new ArrayList<>()).add(p.pid());
            }
        }));
        assertEquals(Map.of(), transcoders, "liquidsoaps of deleted mounts still running");
        String title = lastTitle;
        for (RadiodProcess n : fire.cluster.nodes()) {
            await().atMost(Duration.ofSeconds(2)).until(() -> title.equals(titleOn(n)));
        }

        // Throughout: the long-lived players and the encoder.
        Map<String, Integer> connectionsAfter = fire.connections();
        assertEquals(connectionsBefore, connectionsAfter, "long-lived players reconnected during the soak");
        Map<String, Long> silences = new TreeMap<>();
        Map<String, String> losses = new TreeMap<>();
        Map<String, String> lossy = new TreeMap<>();
        for (Player p : fire.players) {
            silences.put(p.name() + p.mount(), p.longestSilence(start, stopped));
            if (p.mount().equals(Fire.LIVE.path())) {
                var loss = p.reception().loss(b.at());
                losses.put(p.name(), loss.toString());
                if (loss.lost() > 0 || loss.repeated() > 0 || p.reception().foreignFrames() > 0) {
                    String what = loss + ", " + p.reception().foreignFrames() + " foreign frames: " + p.reception().holes(b.at());
                    report("HOLES " + p + " " + p.history() + ": " + what);
                    if (loss.lost() > 0 || loss.repeated() > 0) {
                        lossy.put(p + " " + p.history(), what);
                    }
                }
            }
        }
        report("long-lived players' longest silence (ms): " + silences + "; audio lost: " + losses);
        assertEquals(Map.of(), lossy, "long-lived players lost audio, or heard some twice, during the soak");
        silences.forEach((p, ms) -> assertTrue(ms < SILENCE_BOUND_MS, p + " heard nothing for " + ms + " ms: " + silences));
        assertTrue(fire.encoder() == b.encoder() && fire.encoder().drops() == 0, "the encoder of /live.mp3 was dropped: "
                + fire.encoder().story());
        fire.checkInvariants();
        fire.assertMemoryBound();
    }

    // ------------------------------------------------------------------------------------------------- workers

    private Thread worker(String name, ThrowingRunnable step) {
        Thread t = new Thread(() -> {
            while (churning) {
                try {
                    step.run();
                } catch (Exception | AssertionError e) {
                    tally.problem(name, e.toString());
                    pause(500);
                }
            }
        }, "soak-" + name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    private static void pause(long ms) {
        Fire.sleep(ms);
    }

    /**
     * One listener through the redirects: asks a random node for a mount, goes where it is sent, and then (nine
     * times in ten) reads up to 48 kB of audio, else leaves before the answer.
     */
    private void listenerSession(Random r) throws IOException {
        RadiodProcess entry = fire.cluster.node(r.nextInt(3));
        String mount = r.nextInt(5) == 0 ? Fire.LIVE_64.path() : Fire.LIVE.path();
        String agent = AGENTS.get(r.nextInt(AGENTS.size()));
        HttpURLConnection ask = (HttpURLConnection) URI.create(entry.httpUrl(mount)).toURL().openConnection();
        ask.setInstanceFollowRedirects(false);
        ask.setConnectTimeout(5000);
        ask.setReadTimeout(5000);
        ask.setRequestProperty("User-Agent", agent);
        int code = ask.getResponseCode();
        if (code == 200) {
            // A player that does not follow redirects (old Winamp, iTunes: proxy_user_agents) is streamed to here.
            try (InputStream in = ask.getInputStream()) {
                int want = r.nextInt(48 * 1024) + 1;
                int got = in.readNBytes(want).length;
                if (got < want) {
                    tally.problem("proxied stream", entry.name() + mount + " ended after " + got + " of " + want + " bytes");
                    return;
                }
            } finally {
                ask.disconnect();
            }
            tally.count("listener session");
            tally.count("proxied listener session");
            pause(50 + r.nextInt(150));
            return;
        }
        String location = ask.getHeaderField("Location");
        String body = "";
        try (InputStream in = code < 400 ? ask.getInputStream() : ask.getErrorStream()) {
            if (in != null) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip(); // a redirect's or an error's short body
            }
        }
        if (code != 302 || location == null) {
            tally.problem("redirect", entry.name() + " answered " + code + " for " + mount + " (" + agent + "): " + body);
            return;
        }
        URI to = URI.create(location);
        if (r.nextInt(10) == 0) {
            // Gone before the answer: the request sent, the connection closed.
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(to.getHost(), to.getPort()), 5000);
                OutputStream out = s.getOutputStream();
                out.write(("GET " + to.getRawPath() + " HTTP/1.1\r\nHost: " + to.getHost() + "\r\nUser-Agent: " + agent
                        + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            }
            tally.count("listener gone before the answer");
        } else {
            int want = r.nextInt(48 * 1024) + 1;
            HttpURLConnection c = (HttpURLConnection) to.toURL().openConnection();
            c.setConnectTimeout(5000);
            c.setReadTimeout(5000);
            c.setRequestProperty("User-Agent", agent);
            if (r.nextBoolean()) {
                c.setRequestProperty("Icy-MetaData", "1");
            }
            try {
                int status = c.getResponseCode();
                if (status != 200) {
                    tally.problem("stream", location + " answered " + status);
                    return;
                }
                try (InputStream in = c.getInputStream()) {
                    int got = in.readNBytes(want).length;
                    if (got < want) {
                        tally.problem("stream", location + " ended after " + got + " of " + want + " bytes");
                    }
                }
            } finally {
                c.disconnect();
            }
        }
        tally.count("listener session");
        pause(50 + r.nextInt(150));
    }

    /** A real player now and then: ffmpeg plays two seconds of a mount from a random node, following the redirect. */
    private void ffmpegPlayer(Random r) throws Exception {
        RadiodProcess entry = fire.cluster.node(r.nextInt(3));
        String mount = r.nextInt(3) == 0 ? Fire.LIVE_64.path() : Fire.LIVE.path();
        Process p = new ProcessBuilder("ffmpeg", "-nostdin", "-loglevel", "error", "-rw_timeout", "5000000", "-i",
                entry.httpUrl(mount), "-t", "2", "-f", "null", "-").redirectErrorStream(true).start();
        boolean done = p.waitFor(20, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readNBytes(2000), StandardCharsets.UTF_8).strip();
        if (!done || p.exitValue() != 0) {
            p.destroyForcibly();
            tally.problem("ffmpeg player", entry.httpUrl(mount) + (done ? " exited " + p.exitValue() : " still running after 20 s")
                    + ": " + out);
        } else {
            tally.count("ffmpeg player");
        }
        pause(2000 + r.nextInt(4000));
    }

    /**
     * The second encoder: ffmpeg on {@code /churn.mp3} through a random node for 2-6 s, then killed (a crash, a
     * pulled cable) or stopped (SIGTERM: ffmpeg ends its stream), and back 0.5-2 s later.
     */
    private void churnEncoder(Random r) throws Exception {
        RadiodProcess via = fire.cluster.node(r.nextInt(3));
        String url = "icecast://" + CHURN.sourceUser() + ":" + CHURN.sourcePassword() + "@" + via.address() + ":"
                + fire.cluster.sourcePort + CHURN.path();
        Path log = Files.createTempFile("radiod-soak-churn-", ".log");
        Process p = new ProcessBuilder(Streams.programmeCommand(url)).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long streamMs = 2000 + r.nextInt(4000);
            pause(streamMs);
            if (!p.isAlive()) {
                tally.problem("churn encoder", "ffmpeg to " + via.name() + " ended by itself after < " + streamMs + " ms: "
                        + Files.readString(log).strip());
                return;
            }
            if (r.nextBoolean()) {
                p.destroyForcibly();
            } else {
                p.destroy();
            }
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                tally.problem("churn encoder", "ffmpeg did not end within 10 s of its signal");
            }
            tally.count("churn encoder session");
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(log);
        }
        pause(500 + r.nextInt(1500));
    }

    /** A title for {@code /live.mp3}, sent to the node its encoder streams through, as an MP3 encoder sends it. */
    private void sendTitle(Random r, long n) throws IOException, InterruptedException {
        RadiodProcess via = fire.encoderNode();
        String song = "Soak " + n + " – " + Long.toString(r.nextLong() & Long.MAX_VALUE, 36);
        String url = "http://" + via.address() + ":" + fire.cluster.sourcePort + "/admin/metadata?mode=updinfo&mount="
                + Fire.LIVE.path() + "&song=" + URLEncoder.encode(song, StandardCharsets.UTF_8);
        String auth = Base64.getEncoder().encodeToString((Fire.LIVE.sourceUser() + ":" + Fire.LIVE.sourcePassword())
                .getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Basic " + auth).header("User-Agent", "soak-encoder")
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        if (answer.statusCode() != 200) {
            tally.problem("title", via.name() + " answered " + answer.statusCode() + ": " + answer.body());
            return;
        }
        lastTitle = song;
        tally.count("title");
    }

    /**
     * An operator's cycle: a new mount under a name never used before, live (an encoder streams to it through a
     * random node and a listener hears it through the redirects) or, every third one, transcoded from
     * {@code /live.mp3} (its liquidsoap runs and the mount is heard); then deleted, and its encoder or liquidsoap
     * gone. And the reading commands.
     */
    private void operatorCycle(Random r, long n) throws Exception {
        boolean transcoded = n % 3 == 0;
        String path = transcoded ? "/soak-" + n + "-32.mp3" : "/soak-" + n + ".mp3";
        Radioctl.Result created = transcoded
                ? Radioctl.run(fire.cluster, "create-transcoding-mount", path, "--source", Fire.LIVE.path(), "--codec", "mp3",
                        "--bitrate", "32")
                : Radioctl.run(fire.cluster, "create-mount", path, "--bitrate", "128");
        if (created.exit() != 0) {
            tally.problem("operator", "create " + path + " exited " + created.exit() + ": " + created.err());
            pause(2000);
            return;
        }
        tempMounts.add(path);
        Process encoder = null;
        try {
            if (!transcoded) {
                Matcher m = Pattern.compile("source password\\s+(\\S+)").matcher(created.out());
                assertTrue(m.find(), "no source password in: " + created.out());
                RadiodProcess via = fire.cluster.node(r.nextInt(3));
                encoder = new ProcessBuilder(Streams.programmeCommand("icecast://source:" + m.group(1) + "@" + via.address()
                        + ":" + fire.cluster.sourcePort + path)).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .start();
            }
            RadiodProcess entry = fire.cluster.node(r.nextInt(3));
            long deadline = System.currentTimeMillis() + 30_000;
            byte[] heard = new byte[0];
            while (heard.length < 8192 && System.currentTimeMillis() < deadline && churning) {
                heard = Streams.read(entry.httpUrl(path), 8192, 5000);
                if (heard.length < 8192) {
                    pause(250);
                }
            }
            if (heard.length < 8192 && churning) {
                tally.problem("operator", path + " not heard through " + entry.name() + " within 30 s of its creation");
            }
            tally.count(transcoded ? "transcoded mount cycle" : "live mount cycle");
        } finally {
            if (encoder != null) {
                encoder.destroyForcibly();
                encoder.waitFor(10, TimeUnit.SECONDS);
            }
            Radioctl.Result deleted = Radioctl.run(fire.cluster, "delete-mount", path);
            if (deleted.exit() == 0) {
                tempMounts.remove(path);
            } else {
                tally.problem("operator", "delete " + path + " exited " + deleted.exit() + ": " + deleted.err());
            }
        }
        if (transcoded) {
            try {
                await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
                        .until(() -> fire.liquidsoaps(path).isEmpty());
            } catch (ConditionTimeoutException e) {
                tally.problem("operator", "the liquidsoap of " + path + " still ran 15 s after its deletion: " + fire.liquidsoaps(path));
            }
        }
        if (n % 4 == 0) {
            // A node drained for a while (the master too: it hands mastership over) and brought back.
            RadiodProcess node = fire.cluster.node(r.nextInt(3));
            Radioctl.Result drained = Radioctl.run(fire.cluster, "drain", node.name(), "--reason", "soak");
            pause(1000 + r.nextInt(2000));
            Radioctl.Result back = Radioctl.run(fire.cluster, "undrain", node.name());
            if (drained.exit() != 0 || back.exit() != 0) {
                tally.problem("operator", "drain/undrain " + node.name() + " exited " + drained.exit() + "/" + back.exit()
                        + ": " + drained.err() + back.err());
            } else {
                tally.count("drain");
            }
        }
        for (String[] read : List.of(new String[] {"status"}, new String[] {"listeners"}, new String[] {"list-mounts"})) {
            Radioctl.Result res = Radioctl.run(fire.cluster, read);
            if (res.exit() != 0) {
                tally.problem("operator", "radioctl " + read[0] + " exited " + res.exit() + ": " + res.err());
            }
        }
        tally.count("operator read");
        pause(1000 + r.nextInt(3000));
    }

    // ------------------------------------------------------------------------------------------------- reading

    private static boolean within(Map<String, ProcessResources> radiodBefore, Map<String, ProcessResources> radiodAfter,
                                  Map<String, ProcessResources> icecastBefore, Map<String, ProcessResources> icecastAfter) {
        for (String n : radiodBefore.keySet()) {
            ProcessResources b = radiodBefore.get(n);
            ProcessResources a = radiodAfter.get(n);
            if (a.threads() > b.threads() + THREAD_SLACK || a.fds() > b.fds() + FD_SLACK
                    || a.liveHeapBytes() > b.liveHeapBytes() + HEAP_SLACK || icecastAfter.get(n).fds() > icecastBefore.get(n).fds() + FD_SLACK) {
                return false;
            }
        }
        return true;
    }

    /** The master, waiting out a handover in flight (a drain's takes a few tens of milliseconds). */
    private static RadiodProcess currentMaster() {
        return await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> fire.cluster.master().orElse(null), Objects::nonNull);
    }

    private static long icecast(RadiodProcess n) {
        return n.icecast().orElseThrow(() -> new AssertionError(n.name() + " has no Icecast")).pid();
    }

    /** The cluster's keys in etcd, relative to its prefix. */
    static Set<String> keys() throws Exception {
        String prefix = fire.cluster.prefix();
        List<KeyValue> kvs = fire.cluster.etcdClient().getKVClient()
                .get(ByteSequence.from(prefix, StandardCharsets.UTF_8), GetOption.builder().isPrefix(true).withKeysOnly(true).build())
                .get(10, TimeUnit.SECONDS).getKvs();
        Set<String> keys = new TreeSet<>();
        kvs.forEach(kv -> keys.add(kv.getKey().toString(StandardCharsets.UTF_8).substring(prefix.length())));
        return keys;
    }

    private static List<String> diff(Set<String> before, Set<String> after) {
        List<String> d = new ArrayList<>();
        before.stream().filter(k -> !after.contains(k)).forEach(k -> d.add("- " + k));
        after.stream().filter(k -> !before.contains(k)).forEach(k -> d.add("+ " + k));
        return d;
    }

    /** The listeners each node publishes (all mounts). */
    static Map<String, Integer> listenersByNode() {
        Map<String, Integer> out = new TreeMap<>();
        var snapshot = fire.cluster.snapshot();
        for (RadiodProcess n : fire.cluster.nodes()) {
            out.put(n.name(), snapshot.node(n.name()).map(s -> s.listeners()).orElse(-1));
        }
        return out;
    }

    private static String titleOn(RadiodProcess n) throws IOException {
        JsonNode status = JSON.readTree(get(n.httpUrl("/status.json")));
        for (JsonNode m : status.get("mounts")) {
            if (m.get("path").asText().equals(Fire.LIVE.path())) {
                return m.path("title").asText();
            }
        }
        return null;
    }

    private static String get(String url) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        c.setConnectTimeout(5000);
        c.setReadTimeout(5000);
        try (InputStream in = c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            c.disconnect();
        }
    }

    static void report(String line) {
        System.out.println("SOAK " + line);
        try {
            Files.writeString(REPORT, line + System.lineSeparator(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            // the line is on stdout too
        }
    }
}
