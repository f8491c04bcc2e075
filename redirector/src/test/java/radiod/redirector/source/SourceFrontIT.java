package radiod.redirector.source;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;
import radiod.testkit.Icecast;

/**
 * Real encoders through the source front to a real Icecast 2.4 standing as the master: ffmpeg with PUT and with
 * legacy SOURCE, ices2 (libshout) with its probes and its credential-less first attempt; and a master change that
 * closes the encoder's connection so that its reconnection lands on the new master.
 */
class SourceFrontIT {
    static final String HOST = "127.0.0.1";
    static final Mount PUT = new Mount("/put.mp3", "source", "pw-put", null, null, 0, 128, null);
    static final Mount LEGACY = new Mount("/legacy.mp3", "source", "pw-legacy", null, null, 0, 128, null);
    static final Mount OGG = new Mount("/ices.ogg", "source", "pw-ogg", null, null, 0, 96, null);

    static Path dir;
    static Icecast masterA;
    static Icecast masterB;
    static Vertx vertx;
    static SimpleMeterRegistry registry = new SimpleMeterRegistry();
    static AtomicReference<ClusterSnapshot> view = new AtomicReference<>();
    static SourceFront front;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("radiod-source-it-");
        List<Icecast.Source> sources = List.of(PUT, LEGACY, OGG).stream()
                .map(m -> new Icecast.Source(m.path(), m.sourceUser(), m.sourcePassword())).toList();
        masterA = Icecast.start(HOST, sources);
        masterB = Icecast.start(HOST, sources);
        view.set(snapshot(masterA, "node1"));
        vertx = Vertx.vertx();
        front = new SourceFront(vertx, SourceFrontSettings.of(HOST, 0, HOST, 8080), view::get, registry);
        front.start().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        if (front != null) {
            front.close();
            vertx.close();
        }
        if (masterA != null) {
            masterA.close();
        }
        if (masterB != null) {
            masterB.close();
        }
        deleteRecursively(dir);
    }

    static void deleteRecursively(Path dir) throws java.io.IOException {
        if (dir != null) {
            try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static ClusterSnapshot snapshot(Icecast master, String name) {
        return new ClusterSnapshot(1, Map.of(), Optional.of(new MasterInfo(name, List.of(master.host()), master.port(),
                8000, 8080, 1)), Map.of(PUT.path(), PUT, LEGACY.path(), LEGACY, OGG.path(), OGG), Map.of(), Map.of());
    }

    static String sourceUrl(Mount m) {
        return "icecast://" + m.sourceUser() + ":" + m.sourcePassword() + "@" + HOST + ":" + front.port() + m.path();
    }

    static void awaitSource(Icecast ice, String mount, Process encoder, Path log) {
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200)).until(() -> {
            if (!encoder.isAlive()) {
                throw new AssertionError("the encoder exited: " + Files.readString(log));
            }
            return ice.hasSource(mount);
        });
    }

    static void assertDecodable(byte[] heard, String codec) throws Exception {
        String probe = Encoders.probe(heard, dir);
        assertTrue(probe.startsWith(codec + ","), "ffprobe: " + probe);
        assertTrue(Integer.parseInt(probe.substring(codec.length() + 1)) >= 10, "decoded frames: " + probe);
    }

    void sendsThroughTheFront(Mount mount, boolean legacy) throws Exception {
        Path log = dir.resolve("ffmpeg" + mount.path().replace('/', '-') + ".log");
        Process encoder = Encoders.ffmpegTone(sourceUrl(mount), legacy, log);
        try {
            awaitSource(masterA, mount.path(), encoder, log);
            assertDecodable(Encoders.listen(masterA.url(mount.path()), 40_000), "mp3");
        } finally {
            Encoders.stop(encoder);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !masterA.hasSource(mount.path()));
        await().atMost(Duration.ofSeconds(5)).until(() -> front.activeSources() == 0);
    }

    @Test
    void ffmpegWithPutAndExpectContinueIsHeardFromTheMaster() throws Exception {
        sendsThroughTheFront(PUT, false);
    }

    @Test
    void ffmpegWithLegacySourceIsHeardFromTheMaster() throws Exception {
        sendsThroughTheFront(LEGACY, true);
    }

    @Test
    void ices2WithLibshoutProbesAndRetriesAndIsHeardFromTheMaster() throws Exception {
        Path icesDir = Files.createDirectories(dir.resolve("ices"));
        double challengesBefore = registry.get("radiod.source.auth.failures").tag("reason", "no_credentials").counter().count();
        Process ices = Encoders.ices2(icesDir, Encoders.oggTone(icesDir), HOST, front.port(), OGG.path(), OGG.sourcePassword());
        try {
            awaitSource(masterA, OGG.path(), ices, icesDir.resolve("ices.out"));
            assertDecodable(Encoders.listen(masterA.url(OGG.path()), 24_000), "vorbis");
        } finally {
            Encoders.stop(ices);
        }
        double challenges = registry.get("radiod.source.auth.failures").tag("reason", "no_credentials").counter().count();
        assertTrue(challenges > challengesBefore, "libshout's first, credential-less SOURCE was challenged with a 401");
        await().atMost(Duration.ofSeconds(10)).until(() -> !masterA.hasSource(OGG.path()));
    }

    @Test
    void masterChangeClosesTheEncoderAndItsReconnectionLandsOnTheNewMaster() throws Exception {
        Path log1 = dir.resolve("ffmpeg-before.log");
        Process before = Encoders.ffmpegTone(sourceUrl(PUT), false, log1);
        Process after = null;
        try {
            awaitSource(masterA, PUT.path(), before, log1);
            assertTrue(masterB.running(), "the new master's Icecast is up: " + masterB.errorLog());
            ClusterSnapshot next = snapshot(masterB, "node2");
            view.set(next);
            front.viewChanged(next);
            assertTrue(before.waitFor(10, TimeUnit.SECONDS), "ffmpeg's connection was closed, so it stopped");
            await().atMost(Duration.ofSeconds(10)).until(() -> !masterA.hasSource(PUT.path()));

            Path log2 = dir.resolve("ffmpeg-after.log");
            after = Encoders.ffmpegTone(sourceUrl(PUT), false, log2);
            awaitSource(masterB, PUT.path(), after, log2);
            assertDecodable(Encoders.listen(masterB.url(PUT.path()), 40_000), "mp3");
            assertTrue(!masterA.hasSource(PUT.path()), "the old master got no source");
        } finally {
            Encoders.stop(before);
            Encoders.stop(after);
            view.set(snapshot(masterA, "node1"));
        }
    }
}
