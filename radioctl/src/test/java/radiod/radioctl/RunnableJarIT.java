package radiod.radioctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import radiod.testkit.EtcdCluster;
import radiod.testkit.Ports;

/** target/radioctl.jar, the shaded artifact, runs on its own: java -jar, real etcd, quiet stderr. */
class RunnableJarIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    private static final Path JAR = Path.of("target", "radioctl.jar");

    private record Run(int exitCode, String out, String err) {
    }

    private static Run java(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("radioctl.jar did not finish: " + cmd);
        }
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void theShadedJarTalksToEtcdAndPrintsOnlyItsOwnWords() throws Exception {
        assertTrue(Files.isRegularFile(JAR), "mvn package writes " + JAR.toAbsolutePath());
        Run created = java("--endpoints", etcd.endpointsCsv(), "create-mount", "/jar.mp3", "--password", "jarpw");
        assertEquals(0, created.exitCode(), created::toString);
        assertTrue(created.out().startsWith("created mount /jar.mp3"), created::toString);
        assertEquals("", created.err());

        Run listed = java("--endpoints", etcd.endpointsCsv(), "--json", "list-mounts");
        assertEquals(0, listed.exitCode(), listed::toString);
        assertTrue(listed.out().contains("\"path\" : \"/jar.mp3\""), listed::toString);
    }

    @Test
    void binRadioctlRunsTheJar() throws Exception {
        Process p = new ProcessBuilder(Path.of("..", "bin", "radioctl").toString(), "--version").start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue());
        assertTrue(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).startsWith("radioctl "));
    }

    @Test
    void theShadedJarReportsAnUnreachableEtcdInOneLineWithExitFive() throws Exception {
        String endpoint = "http://127.0.0.1:" + Ports.free("127.0.0.1");
        Run r = java("--endpoints", endpoint, "--timeout", "1s", "status");
        assertEquals(5, r.exitCode(), r::toString);
        assertEquals(1, r.err().lines().count(), () -> "only radioctl's own line, no gRPC/Netty logging:\n" + r.err());
        assertTrue(r.err().startsWith("radioctl: etcd at " + endpoint + " is unreachable"), r::toString);
    }
}
