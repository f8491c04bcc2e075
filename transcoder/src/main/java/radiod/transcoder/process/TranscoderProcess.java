package radiod.transcoder.process;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.event.Level;

import radiod.lifecycle.process.AtomicFiles;
import radiod.lifecycle.process.Backoff;
import radiod.lifecycle.process.Supervisor;

/**
 * Runs one liquidsoap for one transcoded mount: started with a script, its output logged with the mount as
 * context, restarted with backoff when it dies, given up on after too many crashes in a short time (the
 * {@link Listener} is told, so the owner can resign), stopped with SIGTERM and then SIGKILL.
 *
 * <p>Invariant: at most one liquidsoap per instance is alive at any time; a new script starts only after the
 * process running the old one has exited (the Icecast mount would still be taken otherwise).
 */
public final class TranscoderProcess {
    /** Told on the executor; keep it quick. */
    public interface Listener {
        /** liquidsoap was started again after a crash. */
        void restarted();

        /** liquidsoap crashed too often: it stays stopped until {@link #run(String)} is called again. */
        void gaveUp();
    }

    private static final Logger log = LoggerFactory.getLogger(TranscoderProcess.class);
    /** {@code 2026/11/22 14:17:41 [clock.main:3] message}: liquidsoap's own log lines. */
    private static final Pattern LIQUIDSOAP_LINE = Pattern.compile("^\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d \\[([^\\]]+):(\\d)\\] (.*)$");
    /** {@code [tcp @ 0x7fc7e8007dc0] Connection to … refused}: FFmpeg's, repeated at each poll of an absent source. */
    private static final Pattern FFMPEG_LINE = Pattern.compile("^\\[[^\\]]+ @ 0x[0-9a-f]+\\] .*");

    /**
     * Labels whose level-3 lines are events worth a line in the node's log (source found or lost, connected to
     * Icecast, radiod gone); liquidsoap's other level-3 lines are start-up chatter.
     */
    private static final Set<String> EVENT_LABELS = Set.of("source", "safe", "output", "radiod", "lang");

    private static final long REPEAT_QUIET_NANOS = TimeUnit.SECONDS.toNanos(60);
    /** Restarts of liquidsoaps on many nodes that died together (their Icecast went) spread over a fifth more. */
    private static final double JITTER = 0.2;

    private final List<String> command;
    private final Path scriptFile;
    private final String mount;
    private final RestartPolicy policy;
    private final Supervisor supervisor;
    /** The wanted script, or null; read by the supervisor when it starts liquidsoap. */
    private volatile String wanted;
    /** When each of liquidsoap's lines was last logged at its own level (guarded by itself). */
    private final Map<String, Long> lastLogged = new HashMap<>();

    /**
     * @param liquidsoap the binary
     * @param options    options before the script file (e.g. {@code --no-stdlib})
     * @param scriptFile where the script is written; its path is on liquidsoap's command line
     * @param mount      the transcoded mount, for the logs
     * @param executor   runs restarts and tells the listener
     */
    public TranscoderProcess(Path liquidsoap, List<String> options, Path scriptFile, String mount, RestartPolicy policy,
                             ScheduledExecutorService executor, Listener listener) {
        List<String> c = new ArrayList<>();
        c.add(liquidsoap.toString());
        c.addAll(options);
        c.add(scriptFile.toString());
        this.command = List.copyOf(c);
        this.scriptFile = scriptFile;
        this.mount = mount;
        this.policy = policy;
        this.supervisor = new Supervisor("liquidsoap " + mount, this::prepare,
                new Supervisor.Policy(new Backoff(policy.minBackoff(), policy.maxBackoff(), policy.window(), JITTER),
                        policy.maxFailures(), policy.window(), policy.stopGrace()),
                (pid, line) -> logLine(line), executor, new Supervisor.Listener() {
                    @Override
                    public void started(Process process, boolean restart) {
                        if (restart) {
                            listener.restarted();
                        }
                    }

                    @Override
                    public void gaveUp() {
                        listener.gaveUp();
                    }
                });
    }

    /**
     * Runs liquidsoap with this script: starts it, or replaces a process running another script. Nothing
     * happens if this script is already wanted (running, or waiting to be restarted after a crash).
     */
    public synchronized void run(String script) {
        Objects.requireNonNull(script, "script");
        if (script.equals(wanted) && supervisor.isWanted()) {
            return;
        }
        if (wanted != null && supervisor.isRunning()) {
            log.info("transcoder {}: new script; restarting liquidsoap", mount);
        }
        wanted = script;
        supervisor.run();
    }

    /**
     * {@link #run} if {@code condition} holds, checked under the lock {@link #stop(Duration)} takes: a stop that
     * follows the condition turning false cannot come between the check and the start.
     */
    public synchronized void runIf(java.util.function.BooleanSupplier condition, String script) {
        if (condition.getAsBoolean()) {
            run(script);
        }
    }

    /** Stops liquidsoap (SIGTERM, then SIGKILL after the policy's grace); completes once it has exited. */
    public CompletableFuture<Void> stop() {
        return stop(policy.stopGrace());
    }

    /**
     * Stops liquidsoap, sending SIGKILL if it is still alive {@code grace} after SIGTERM. Returns at once, on
     * any thread; completes once the process has exited.
     */
    public synchronized CompletableFuture<Void> stop(Duration grace) {
        wanted = null;
        return supervisor.stop(grace);
    }

    /** Whether a liquidsoap of this instance is alive (including one being stopped). */
    public boolean isRunning() {
        return supervisor.isRunning();
    }

    /** Whether liquidsoap is wanted: running, starting, or waiting to be restarted. */
    public boolean isWanted() {
        return supervisor.isWanted();
    }

    public OptionalLong pid() {
        return supervisor.pid();
    }

    public List<String> command() {
        return command;
    }

    /** Writes the wanted script where liquidsoap reads it (it holds the mount's source password: 0600). */
    private ProcessBuilder prepare() throws IOException {
        String script = wanted;
        if (script == null) {
            throw new IllegalStateException("no script is wanted");
        }
        AtomicFiles.writeOwnerOnly(scriptFile, script);
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    }

    /**
     * One of liquidsoap's lines at the level it gave it, with the mount as context. A line repeated within
     * {@link #REPEAT_QUIET_NANOS} (an Icecast that keeps refusing us, retried every second) goes to debug, except
     * source switches.
     */
    private void logLine(String line) {
        Matcher m = LIQUIDSOAP_LINE.matcher(line);
        String label = m.matches() ? m.group(1) : "";
        String text = m.matches() ? "[" + label + "] " + m.group(3) : line;
        Level level;
        if (m.matches()) {
            level = switch (m.group(2).charAt(0)) {
                case '1' -> Level.ERROR;
                case '2' -> Level.WARN;
                case '3' -> EVENT_LABELS.contains(label) ? Level.INFO : Level.DEBUG; // the rest is start-up chatter
                default -> Level.DEBUG;
            };
        } else {
            level = FFMPEG_LINE.matcher(line).matches() ? Level.DEBUG : Level.INFO;
        }
        if (level != Level.DEBUG && !label.equals("safe") && repeated(text)) {
            level = Level.DEBUG;
        }
        try (MDC.MDCCloseable c = MDC.putCloseable("mount", mount)) {
            log.atLevel(level).log("transcoder {}: {}", mount, text);
        }
    }

    private boolean repeated(String text) {
        long now = System.nanoTime();
        synchronized (lastLogged) {
            Long last = lastLogged.get(text);
            if (last != null && now - last < REPEAT_QUIET_NANOS) {
                return true;
            }
            if (lastLogged.size() > 200) {
                lastLogged.clear();
            }
            lastLogged.put(text, now);
            return false;
        }
    }
}
