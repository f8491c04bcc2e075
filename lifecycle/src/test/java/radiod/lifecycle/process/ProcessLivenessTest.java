package radiod.lifecycle.process;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;

class ProcessLivenessTest {

    @Test
    void aZombieIsDeadAlthoughProcessHandleStillCountsItAlive() throws Exception {
        // The shell starts a child and then becomes a `sleep` that never reaps it: the child stays a zombie. The child
        // outlives the shell's own turn (a shell may reap a finished background job before its next command).
        Process parent = new ProcessBuilder("/bin/sh", "-c", "sleep 0.5 & echo $!; exec sleep 30").start();
        try {
            long zombie;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(parent.getInputStream(), StandardCharsets.UTF_8))) {
                zombie = Long.parseLong(r.readLine().trim());
            }
            Path stat = Path.of("/proc/" + zombie + "/stat");
            await().atMost(Duration.ofSeconds(5)).until(() -> Files.readString(stat).contains(") Z "));

            assertFalse(ProcessLiveness.isAlive(zombie));
            assertTrue(ProcessHandle.of(zombie).map(ProcessHandle::isAlive).orElse(false),
                    "ProcessHandle counts the zombie alive: the reason this class exists");
            assertTrue(ProcessLiveness.isAlive(parent.pid()), "its sleeping parent runs");
        } finally {
            parent.destroyForcibly().waitFor();
        }
    }

    @Test
    void aProcessThatIsGoneIsDead() throws Exception {
        Process p = new ProcessBuilder("/bin/true").start();
        p.waitFor();
        assertFalse(ProcessLiveness.isAlive(p.pid()));
    }

    @Test
    void theStateIsReadAfterTheLastParenthesisOfTheCommandName() {
        assertTrue(ProcessLiveness.runs("42 (a) b) S 1 42 42 0"));
        assertFalse(ProcessLiveness.runs("42 (a) Z) Z 1 42 42 0"));
        assertFalse(ProcessLiveness.runs("42 (icecast) X 1"));
        assertFalse(ProcessLiveness.runs("garbage"));
    }
}
