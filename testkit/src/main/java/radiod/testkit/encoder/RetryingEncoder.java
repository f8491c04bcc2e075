package radiod.testkit.encoder;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import radiod.testkit.Processes;

/**
 * An encoder that reconnects, as ices2, butt or liquidsoap's {@code output.icecast} do: it runs a command (usually
 * a {@link Tone}'s), and {@code retry} after the process exits (its connection ended or was refused) runs the
 * command the supplier gives next, until closed. Asking the supplier each time lets a test send the next connection
 * elsewhere, as an encoder given the cluster's name would reach another node.
 */
public final class RetryingEncoder implements AutoCloseable {
    private final Supplier<List<String>> command;
    private final Duration retry;
    private final Thread loop;
    private volatile Process process;
    private volatile boolean closed;
    private volatile int starts;

    /** Starts the first process at once, on a daemon thread of its own. */
    public RetryingEncoder(Supplier<List<String>> command, Duration retry) {
        this.command = command;
        this.retry = retry;
        this.loop = new Thread(this::run, "retrying-encoder");
        loop.setDaemon(true);
        loop.start();
    }

    /** A tone to one URL, again every 200 ms after ffmpeg exits. */
    public static RetryingEncoder of(Tone tone) {
        return new RetryingEncoder(tone::command, Duration.ofMillis(200));
    }

    private void run() {
        while (!closed) {
            try {
                Process p = new ProcessBuilder(command.get()).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                process = p;
                starts++;
                if (closed) {
                    p.destroy();
                }
                p.waitFor();
            } catch (IOException e) {
                process = null; // counted as a failed connection: try again after the pause
            } catch (InterruptedException e) {
                return;
            }
            try {
                TimeUnit.MILLISECONDS.sleep(retry.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Processes started so far. */
    public int starts() {
        return starts;
    }

    /** Whether the current process is running (connected or connecting). */
    public boolean connected() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /** Stops retrying and ends the current process (SIGTERM, then SIGKILL after 3 s). */
    @Override
    public void close() {
        closed = true;
        loop.interrupt();
        try {
            loop.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Process p = process;
        if (p != null) {
            Processes.stop(p, Duration.ofSeconds(3));
        }
    }
}
