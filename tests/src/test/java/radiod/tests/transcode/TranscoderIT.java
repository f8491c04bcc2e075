package radiod.tests.transcode;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import radiod.cluster.model.Mount;
import radiod.cluster.model.Transcoding;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;
import radiod.testkit.encoder.Tone;

/**
 * In a running cluster exactly one liquidsoap makes each transcoded mount; when its node is killed another node runs
 * it and the mount plays again, never two at once; deleting the mount stops it everywhere.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TranscoderIT {
    private static final int TTL = 3;

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    static RadiodCluster cluster;
    static Process encoder;
    static final Mount LIVE = new Mount("/live.mp3", "source", "tc-live", null, null, 0, 128, null);
    static final Mount MP3_64 = new Mount("/live-64.mp3", "source", "tc-64#{x}", null, null, 0, 0,
            new Transcoding("/live.mp3", "mp3", 64, 44100, 2, null));
    static final Mount OPUS = new Mount("/live.opus", "source", "tc-opus", null, null, 0, 0,
            new Transcoding("/live.mp3", "opus", 48, 48000, 2, null));

    @BeforeAll
    static void start() {
        cluster = new RadiodCluster(etcd, 3, TTL).start();
        cluster.awaitReady(Duration.ofSeconds(30));
        cluster.putMount(LIVE);
        keepTheToneOn();
    }

    static void keepTheToneOn() {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> {
            RadiodProcess feeder = cluster.nodes().stream().filter(RadiodProcess::running).findFirst().orElseThrow();
            if (encoder == null || !encoder.isAlive()) {
                encoder = Tone.mp3("icecast://source:tc-live@" + feeder.address() + ":" + cluster.sourcePort + "/live.mp3").start();
            }
            return cluster.snapshot().node(cluster.master().orElseThrow().name()).map(n -> n.hasMount("/live.mp3")).orElse(false);
        });
    }

    @AfterAll
    static void stop() {
        Streams.stop(encoder);
        if (cluster != null) {
            cluster.close();
        }
    }

    /** liquidsoap processes started by this cluster's nodes for a mount (their scripts live in the cluster's dir). */
    static long liquidsoaps(String mount) {
        String script = mount.substring(1) + ".liq";
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().map(c -> c.contains("liquidsoap") && c.contains(cluster.dir().toString())
                        && c.endsWith(script)).orElse(false))
                .count();
    }

    /** The nodes (by their transcoder directory) whose liquidsoap for the mount is alive now, with the pids. */
    static java.util.Map<String, java.util.List<Long>> nodesRunning(String mount) {
        String script = mount.substring(1) + ".liq";
        java.util.Map<String, java.util.List<Long>> byNode = new java.util.TreeMap<>();
        ProcessHandle.allProcesses().filter(ProcessHandle::isAlive).forEach(p -> p.info().commandLine().ifPresent(c -> {
            if (c.contains("liquidsoap") && c.contains(cluster.dir().toString()) && c.endsWith(script)) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("(node\\d+)-transcoders").matcher(c);
                byNode.computeIfAbsent(m.find() ? m.group(1) : c, k -> new java.util.ArrayList<>()).add(p.pid());
            }
        }));
        return byNode;
    }

    static void probe(String url, String codec, String bitRate, String sampleRate) {
        java.util.concurrent.atomic.AtomicReference<String> last = new java.util.concurrent.atomic.AtomicReference<>("nothing read");
        try {
            probeUntil(url, codec, bitRate, sampleRate, last);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("ffprobe of " + url + " never showed " + codec + " " + bitRate + " " + sampleRate
                    + " stereo; last: " + last.get(), e);
        }
    }

    static void probeUntil(String url, String codec, String bitRate, String sampleRate,
                           java.util.concurrent.atomic.AtomicReference<String> last) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> {
            byte[] audio = Streams.read(url, 40_000, 5000);
            if (audio.length < 20_000) {
                return false;
            }
            // Named for its codec: a capture that starts mid-frame probes weakly, and ffprobe then goes by the name.
            Path f = Files.createTempFile("radiod-tc-", "." + codec);
            Files.write(f, audio);
            Process p = new ProcessBuilder("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,bit_rate,sample_rate,channels",
                    "-of", "csv=p=0", f.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor(20, TimeUnit.SECONDS);
            Files.deleteIfExists(f);
            last.set(audio.length + " bytes: " + out);
            return out.contains(codec) && out.contains(sampleRate) && out.contains(",2") && (bitRate == null || out.contains(bitRate));
        });
    }

    @Test
    @Order(1)
    void exactlyOneLiquidsoapInTheClusterMakesEachTranscodedMount() {
        cluster.putMount(MP3_64);
        cluster.putMount(OPUS);
        await().atMost(Duration.ofSeconds(20)).until(() -> liquidsoaps("/live-64.mp3") == 1 && liquidsoaps("/live.opus") == 1);
        probe(cluster.node(0).httpUrl("/live-64.mp3"), "mp3", "64000", "44100");
        probe(cluster.node(1).httpUrl("/live.opus"), "opus", null, "48000");
        assertEquals(1, liquidsoaps("/live-64.mp3"));
        assertEquals(1, liquidsoaps("/live.opus"));
        String runner = cluster.snapshot().transcoders().get("/live-64.mp3");
        await().atMost(Duration.ofSeconds(5)).until(() ->
                cluster.snapshot().node(runner).map(n -> n.transcoders().contains("/live-64.mp3")).orElse(false));
    }

    @Test
    @Order(2)
    void whenTheNodeRunningATranscoderIsKilledAnotherRunsItAndTheMountPlaysAgainNeverTwoAtOnce() throws Exception {
        String runnerName = cluster.snapshot().transcoders().get("/live-64.mp3");
        RadiodProcess runner = cluster.node(runnerName);
        AtomicInteger most = new AtomicInteger();
        AtomicBoolean sampling = new AtomicBoolean(true);
        java.util.concurrent.ConcurrentLinkedQueue<String> overlaps = new java.util.concurrent.ConcurrentLinkedQueue<>();
        Thread sampler = new Thread(() -> {
            while (sampling.get()) {
                java.util.Map<String, java.util.List<Long>> running = nodesRunning("/live-64.mp3");
                most.accumulateAndGet(running.size(), Math::max);
                if (running.size() > 1) {
                    overlaps.add(running.toString());
                }
            }
        });
        sampler.start();
        long killed = System.nanoTime();
        runner.kill();
        try {
            // A new node wins the election and its liquidsoap pushes the mount to the (possibly new) master again.
            keepTheToneOn();
            await().atMost(Duration.ofSeconds(TTL + 20)).pollInterval(Duration.ofMillis(200)).until(() -> {
                String now = cluster.snapshot().transcoders().get("/live-64.mp3");
                return now != null && !now.equals(runnerName)
                        && cluster.snapshot().node(cluster.master().orElseThrow().name()).map(n -> n.hasMount("/live-64.mp3")).orElse(false);
            });
            long backMillis = Duration.ofNanos(System.nanoTime() - killed).toMillis();
            RadiodProcess other = cluster.nodes().stream().filter(RadiodProcess::running).findFirst().orElseThrow();
            probe(other.httpUrl("/live-64.mp3"), "mp3", "64000", "44100");
            System.out.printf("transcoder failover: /live-64.mp3 live on the master again %d ms after kill -9 of its node (TTL %d s)%n",
                    backMillis, TTL);
            assertTrue(backMillis <= (TTL + 5) * 1000L, "took " + backMillis + " ms, more than the lease TTL + 5 s");
        } finally {
            sampling.set(false);
            sampler.join();
        }
        assertEquals(1, most.get(), "two nodes ran /live-64.mp3 at once: " + overlaps);
        runner.start();
        cluster.awaitReady(Duration.ofSeconds(30));
    }

    @Test
    @Order(3)
    void deletingATranscodedMountStopsItsLiquidsoapEverywhere() {
        cluster.deleteRaw("mounts/live-64.mp3");
        cluster.deleteRaw("mounts/live.opus");
        await().atMost(Duration.ofSeconds(15)).until(() -> liquidsoaps("/live-64.mp3") == 0 && liquidsoaps("/live.opus") == 0);
        // and every node gave up its election: no transcoders/ key is left
        await().atMost(Duration.ofSeconds(5)).until(() -> cluster.snapshot().transcoders().isEmpty());
    }
}
