package radiod.tests.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * {@link NodeMemory}'s view of a killed process: a JVM killed with SIGKILL leaves a zombie leader that the kernel
 * shows in the root memory cgroup while its other threads exit, and the failure suite's sampler once counted such a
 * node's radiod as "outside its group" (CI, 2026-12-04). A process is judged by its group only while it lives.
 */
class NodeMemoryIT {

    /** A process with threads besides main, as radiod's JVM has. */
    public static final class Idle {
        public static void main(String[] args) throws InterruptedException {
            for (int i = 0; i < 8; i++) {
                Thread t = new Thread(() -> {
                    try {
                        Thread.sleep(60_000);
                    } catch (InterruptedException e) {
                        // ends
                    }
                });
                t.start();
            }
            Thread.sleep(60_000);
        }
    }

    @Test
    void aKilledJvmIsNotReadAsOutsideItsGroup() throws Exception {
        try (NodeMemory memory = NodeMemory.open("it-" + ProcessHandle.current().pid(), List.of("n1"))) {
            assumeTrue(memory.mode() == NodeMemory.Mode.CGROUP, memory.how());
            String java = ProcessHandle.current().info().command().orElseThrow();
            // The JVM's parent execs sleep, which never reaps: the killed JVM stays a zombie for the test to read.
            List<String> cmd = new ArrayList<>(memory.prefix("n1"));
            cmd.addAll(List.of("sh", "-c", "\"$0\" -Xmx16m -XX:+UseSerialGC -cp \"$1\" \"$2\" & exec sleep 60", java,
                    System.getProperty("java.class.path"), Idle.class.getName()));
            Process parent = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            // The sampler watches it as it watches a node's processes, through the kill below.
            memory.watch("n1", () -> parent.toHandle().descendants().toList());
            try {
                ProcessHandle jvm = Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
                        .until(() -> parent.toHandle().children().filter(c -> c.info().command().map(s -> s.endsWith("java"))
                                .orElse(false)).findFirst().orElse(null), j -> j != null && threads(j.pid()) > 8);
                String group = NodeMemory.memoryGroup(jvm.pid());
                assertTrue(group != null && group.endsWith("-n1"), "the JVM starts inside the node's group: " + group);
                assertTrue(NodeMemory.living(jvm.pid()), "a running JVM is living");
                Awaitility.await("the sampler sees the JVM inside its group").atMost(Duration.ofSeconds(5))
                        .pollInterval(Duration.ofMillis(50)).until(() -> memory.figures().get(0).seenInside().containsKey("radiod"));

                jvm.destroyForcibly();
                Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                        .until(() -> state(jvm.pid()).equals("Z"));
                // What the sampler saw in the CI failure: the dead JVM's leader read in another group than its own.
                String deadGroup = NodeMemory.memoryGroup(jvm.pid());
                assertFalse(NodeMemory.living(jvm.pid()), "a killed JVM, a zombie, is not living (its group read " + deadGroup + ")");
                long sampled = memory.figures().get(0).samples();
                Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
                        .until(() -> memory.figures().get(0).samples() >= sampled + 2);
            } finally {
                parent.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
                parent.destroyForcibly();
                parent.waitFor(10, TimeUnit.SECONDS);
            }
            assertNull(NodeMemory.memoryGroup(Long.MAX_VALUE), "no such process");
            assertFalse(NodeMemory.living(Long.MAX_VALUE), "no such process");
            NodeMemory.Figures f = memory.figures().get(0);
            assertEquals(List.of(), f.outside(), "the sampler saw the JVM alive and dead, never outside its group: " + f);
        }
    }

    private static String state(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).split(" ")[0];
        } catch (Exception e) {
            return "gone";
        }
    }

    private static int threads(long pid) {
        try (var s = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            return (int) s.count();
        } catch (Exception e) {
            return 0;
        }
    }
}
