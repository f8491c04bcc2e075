package radiod.transcoder.script;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import radiod.cluster.model.Mount;
import radiod.cluster.model.Transcoding;
import radiod.testkit.Icecast;
import radiod.testkit.Processes;
import radiod.transcoder.Audio;
import radiod.transcoder.script.LiquidsoapScript.Endpoint;

/** The generated scripts against Debian's real liquidsoap 2.1, run the way radiod runs them ({@code --no-stdlib}). */
class LiquidsoapScriptIT {
    private static final String LIQUIDSOAP = "/usr/bin/liquidsoap";
    /** Nothing listens on port 1: the scripts run without an Icecast or a source front to talk to. */
    private static final Endpoint ICECAST = new Endpoint("127.0.0.1", 1);
    private static final Endpoint SOURCE_FRONT = new Endpoint("127.0.0.2", 1);

    @TempDir
    Path dir;

    @Test
    void escapedStringsReachLiquidsoapExactlyAsTheyWere() throws Exception {
        List<String> values = List.of("p\"a\\ss#{x}", "#{#{shutdown()}", "plain", "trailing#", "{#}", "a'b$c%d é");
        StringBuilder script = new StringBuilder();
        for (String v : values) {
            script.append("print(").append(LiquidsoapScript.string(v)).append(")\n");
        }
        Result r = liquidsoap(script.toString(), List.of());
        List<String> printed = r.output.lines().filter(l -> !l.startsWith("No output defined")).toList();
        assertEquals(values, printed, r.output);
    }

    @Test
    void everyCodecsScriptIsAcceptedByLiquidsoapWithoutTheStandardLibrary() throws Exception {
        List<Transcoding> variants = List.of(
                new Transcoding("/live.mp3", "mp3", 64, 44100, 2, null),
                new Transcoding("/live.mp3", "mp3", 32, 22050, 1, null),
                new Transcoding("/live.mp3", "opus", 48, 48000, 2, null),
                new Transcoding("/live.mp3", "opus", 16, 16000, 1, null),
                new Transcoding("/live.mp3", "vorbis", 96, 44100, 2, null),
                new Transcoding("/live.mp3", "vorbis", 96, 22050, 1, 0.2));
        for (Transcoding t : variants) {
            Mount m = new Mount("/out", "transcoder", "pa\"ss#{1}", null, null, 0, 0, t);
            Result r = liquidsoap(LiquidsoapScript.render(m, ICECAST, SOURCE_FRONT, ProcessHandle.current().pid()), List.of("--check"));
            assertEquals(0, r.status, t + ":\n" + r.output);
        }
    }

    @Test
    void theScriptPullsFromOneServerAndPushesToAnotherWithTheMountsCredentials() throws Exception {
        Mount m = new Mount("/live-64.mp3", "transcoder", "p\"a\\ss#{x}", null, null, 0, 0,
                new Transcoding("/live.mp3", "mp3", 64, 44100, 2, null));
        // This node's Icecast, fed by ffmpeg; this node's source front, which takes the transcoded mount only.
        try (Icecast icecast = Icecast.start("127.0.0.44", List.of(new Icecast.Source("/live.mp3", "source", "tone-secret")));
             Icecast sourceFront = Icecast.start("127.0.0.45", List.of(new Icecast.Source(m.path(), m.sourceUser(), m.sourcePassword())))) {
            Process tone = Audio.tone(icecast, "/live.mp3", "tone-secret");
            Path file = dir.resolve("live-64.mp3.liq");
            Files.writeString(file, LiquidsoapScript.render(m, new Endpoint(icecast.host(), icecast.port()),
                    new Endpoint(sourceFront.host(), sourceFront.port()), ProcessHandle.current().pid()));
            List<String> command = new ArrayList<>(List.of(LIQUIDSOAP));
            command.addAll(LiquidsoapScript.OPTIONS);
            command.add(file.toString());
            Process liquidsoap = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("live-64.log").toFile()).start();
            try {
                await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500)).until(() -> {
                    if (!sourceFront.hasSource(m.path())) {
                        return false;
                    }
                    Path capture = Audio.capture(dir, sourceFront.url(m.path()), 80_000, Duration.ofSeconds(3));
                    return Audio.maxVolume(capture) > -30 && "64000".equals(Audio.probe(capture).get("bit_rate"));
                });
                assertEquals(List.of("/live.mp3"), List.copyOf(icecast.sources().keySet()), "nothing pushed to the Icecast pulled from");
            } finally {
                liquidsoap.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                tone.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void theAacEncoderIsAcceptedByDebiansLiquidsoap() throws Exception {
        String script = "settings.init.allow_root.set(true)\n"
                + "output.icecast(" + LiquidsoapScript.encoder("aac", 64, 44100, 2, null) + ", format="
                + LiquidsoapScript.string(LiquidsoapScript.mime("aac")) + ", host=\"127.0.0.1\", port=1, password=\"x\", "
                + "mount=\"/x.aac\", blank())\n";
        Result r = liquidsoap(script, List.of("--check"));
        assertEquals(0, r.status, r.output);
    }

    @Test
    void aTranscoderWhoseRadiodIsGoneStopsByItself() throws Exception {
        Process radiod = new ProcessBuilder("sleep", "60").start();
        try {
            assertStopsOnceGone(radiod.pid(), () -> radiod.destroyForcibly().waitFor());
        } finally {
            radiod.destroyForcibly();
        }
    }

    @Test
    void aTranscoderWhoseRadiodDiedButWasNotReapedStopsToo() throws Exception {
        // The shell becomes a `sleep` that never reaps its child: once killed, the child stays a zombie.
        Process parent = new ProcessBuilder("sh", "-c", "sleep 60 & echo $!; exec sleep 60").start();
        try {
            long radiod = Long.parseLong(new BufferedReader(new InputStreamReader(parent.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine().trim());
            assertStopsOnceGone(radiod, () -> {
                Processes.signal(radiod, "KILL");
                await().atMost(Duration.ofSeconds(2)).until(() -> Files.readString(Path.of("/proc/" + radiod + "/stat")).contains(") Z "));
            });
        } finally {
            parent.destroyForcibly();
        }
    }

    private interface Kill {
        void run() throws Exception;
    }

    private void assertStopsOnceGone(long radiodPid, Kill kill) throws Exception {
        Mount m = new Mount("/out.mp3", "transcoder", "secret", null, null, 0, 0,
                new Transcoding("/live.mp3", "mp3", 64, 44100, 2, null));
        Path file = dir.resolve("orphan.liq");
        Files.writeString(file, LiquidsoapScript.render(m, ICECAST, SOURCE_FRONT, radiodPid));
        List<String> command = new ArrayList<>(List.of(LIQUIDSOAP));
        command.addAll(LiquidsoapScript.OPTIONS);
        command.add(file.toString());
        Path log = dir.resolve("orphan.log");
        Process liquidsoap = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(log).contains("Streaming loop starts"));
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(1)).until(liquidsoap::isAlive);
            kill.run();
            long gone = System.nanoTime();
            assertTrue(liquidsoap.waitFor(3, TimeUnit.SECONDS), "liquidsoap outlived its radiod by 3 s");
            System.out.printf("liquidsoap stopped %d ms after its radiod was killed%n",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - gone));
            assertTrue(Files.readString(log).contains("radiod is gone: stopping"));
        } finally {
            liquidsoap.destroyForcibly();
        }
    }

    private record Result(int status, String output) {
    }

    private Result liquidsoap(String script, List<String> extra) throws IOException, InterruptedException {
        Path file = Files.createTempFile(dir, "t", ".liq");
        Files.writeString(file, "settings.log.stdout.set(false)\n" + script);
        List<String> command = new ArrayList<>(List.of(LIQUIDSOAP));
        command.addAll(LiquidsoapScript.OPTIONS);
        command.addAll(extra);
        command.add(file.toString());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "liquidsoap did not finish: " + out);
        return new Result(p.exitValue(), out.lines().filter(l -> !l.isBlank()).collect(Collectors.joining("\n")));
    }
}
