package radiod.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Signals and waits on OS processes, for tests that kill, pause and resume real parts. */
public final class Processes {
    private Processes() {
    }

    /** Sends a signal by name (KILL, STOP, CONT, TERM, HUP) to a pid. */
    public static void signal(long pid, String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
                    .redirectErrorStream(true).start();
            if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + signal + " " + pid + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** How a command ended ({@code exit} -1: killed after its timeout) and what it wrote to its standard output. */
    public record Run(int exit, byte[] out) {
        public String text() {
            return new String(out, StandardCharsets.UTF_8);
        }
    }

    /**
     * Runs a command to its end, at most {@code timeout} (then it is killed); its standard error goes where the
     * builder says (merged with {@link ProcessBuilder#redirectErrorStream}, or discarded).
     */
    public static Run run(ProcessBuilder command, Duration timeout) {
        try {
            Process p = command.start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                return new Run(-1, out);
            }
            return new Run(p.exitValue(), out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command.command().get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Waits for a process to exit, up to a timeout. */
    public static boolean await(Process process, Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Ends a process: SIGTERM, then SIGKILL if it has not exited within {@code grace}; waits as long again. */
    public static void stop(Process process, Duration grace) {
        process.destroy();
        if (!await(process, grace)) {
            process.destroyForcibly();
            await(process, grace);
        }
    }

    /** Kills a process and all its descendants with SIGKILL. */
    public static void killTree(ProcessHandle handle) {
        handle.descendants().forEach(ProcessHandle::destroyForcibly);
        handle.destroyForcibly();
    }
}
