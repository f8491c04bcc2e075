package radiod.radioctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import radiod.testkit.EtcdCluster;
import radiod.testkit.Ports;

/**
 * When etcd cannot answer, every command ends with exit code 5 and a clear message within its timeout:
 * whether nothing listens on the port or the etcd process is frozen (SIGSTOP) with its socket open.
 */
class EtcdDownIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    /** The timeout each request gets, and the slack allowed for a loaded CI machine on top of it. */
    private static final Duration TIMEOUT = Duration.ofMillis(800);
    private static final Duration SLACK = Duration.ofMillis(3000);

    private static final String[][] COMMANDS = {
            {"status"},
            {"list-mounts"},
            {"show-mount", "/live.mp3"},
            {"create-mount", "/live.mp3"},
            {"edit-mount", "/live.mp3", "--bitrate", "64"},
            {"delete-mount", "/live.mp3"},
            {"drain", "node1"},
            {"undrain", "node1"},
    };

    /** Loads jetcd, gRPC and Netty once, so that class loading on a busy machine is not timed as waiting. */
    @BeforeAll
    static void warmUp() {
        Radioctl.Result r = Radioctl.at(etcd.endpointsCsv(), "/warm-up/").run("list-mounts");
        assertEquals(0, r.exitCode(), r::toString);
    }

    private static void assertUnreachable(Radioctl.Result r, String endpoint) {
        assertEquals(5, r.exitCode(), r::toString);
        assertTrue(r.err().startsWith("radioctl: etcd at " + endpoint + " is unreachable ("), r::toString);
        assertTrue(r.err().contains("did not answer within " + TIMEOUT.toMillis() + " ms"), r::toString);
        assertTrue(r.took().compareTo(TIMEOUT.plus(SLACK)) < 0, () -> "took " + r.took().toMillis() + " ms: " + r);
        assertEquals("", r.out());
    }

    @Test
    void withNothingListeningEveryCommandExitsFiveWithinTheTimeout() {
        String endpoint = "http://127.0.0.1:" + Ports.free("127.0.0.1");
        Radioctl radioctl = new Radioctl(List.of("--endpoints", endpoint, "--timeout", "800ms"),
                Map.of());
        for (String[] command : COMMANDS) {
            assertUnreachable(radioctl.run(command), endpoint);
        }
    }

    @Test
    void withEtcdFrozenEveryCommandExitsFiveWithinTheTimeoutAndWorksAgainAfterwards() {
        Radioctl radioctl = new Radioctl(List.of("--endpoints", etcd.endpointsCsv(), "--timeout", "800ms"),
                Map.of("RADIOCTL_PREFIX", "/frozen/"));
        Radioctl patient = Radioctl.at(etcd.endpointsCsv(), "/frozen/");
        assertEquals(0, patient.run("create-mount", "/live.mp3").exitCode());
        etcd.member(0).pause();
        try {
            for (String[] command : new String[][] {{"status"}, {"create-mount", "/other.mp3"},
                    {"edit-mount", "/live.mp3", "--bitrate", "64"}, {"drain", "node1", "--force"}}) {
                assertUnreachable(radioctl.run(command), etcd.endpointsCsv());
            }
        } finally {
            etcd.member(0).resume();
        }
        Radioctl.Result after = patient.run("list-mounts", "--json");
        assertEquals(0, after.exitCode(), after::toString);
        assertEquals(List.of("/live.mp3"), after.json().findValuesAsText("path"), "nothing else was written");
    }
}
