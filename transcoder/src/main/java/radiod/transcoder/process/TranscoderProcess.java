package radiod.transcoder.process;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.slf4j.event.Level;

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

    /** The script holds the mount's source password: readable by radiod's user only, from its creation on. */
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    private final List<String> command;
    private final Path scriptFile;
    private final String mount;
    private final RestartPolicy policy;
    private final ScheduledExecutorService executor;
    private final Listener listener;

    // Guarded by this.
    private String wanted;
    private Process process;
    private boolean terminating;
    private long startedAtNanos;
    private ScheduledFuture<?> pendingStart;
    private final Deque<Long> failures = new ArrayDeque<>();
    private long backoffMillis;

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
        this.executor = executor;
        this.listener = listener;
        this.backoffMillis = policy.minBackoff().toMillis();
    }

    /**
     * Runs liquidsoap with this script: starts it, or replaces a process running another script. Nothing
     * happens if this script is already wanted (running, or waiting to be restarted after a crash).
     */
    public synchronized void run(String script) {
        Objects.requireNonNull(script, "script");
        if (script.equals(wanted)) {
            return;
        }
        boolean replacing = wanted != null && process != null;
        wanted = script;
        failures.clear();
        backoffMillis = policy.minBackoff().toMillis();
        cancelPendingStart();
        if (process != null) {
            if (replacing) {
                log.info("transcoder {}: new script; restarting liquidsoap", mount);
            }
            terminate(process, policy.stopGrace()); // the new one starts when it has exited
        } else {
            launch();
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
        cancelPendingStart();
        Process p = process;
        if (p == null) {
            return CompletableFuture.completedFuture(null);
        }
        terminate(p, grace);
        return p.onExit().thenApply(x -> null);
    }

    /** Whether a liquidsoap of this instance is alive (including one being stopped). */
    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Whether liquidsoap is wanted: running, starting, or waiting to be restarted. */
    public synchronized boolean isWanted() {
        return wanted != null;
    }

    public synchronized OptionalLong pid() {
        return process != null && process.isAlive() ? OptionalLong.of(process.pid()) : OptionalLong.empty();
    }

    public List<String> command() {
        return command;
    }

    private void launch() {
        if (wanted == null || process != null) {
            return;
        }
        Process p;
        try {
            writeScript(wanted);
            p = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
        } catch (IOException e) {
            log.error("transcoder {}: cannot start {}: {}", mount, command.get(0), e.getMessage());
            crashed("it did not start");
            return;
        }
        process = p;
        terminating = false;
        startedAtNanos = System.nanoTime();
        log.info("transcoder {}: liquidsoap started (pid {}, {})", mount, p.pid(), scriptFile);
        Thread out = new Thread(() -> pipe(p), "liquidsoap " + mount);
        out.setDaemon(true);
        out.start();
        p.onExit().thenRunAsync(() -> exited(p));
    }

    /**
     * Writes the script where liquidsoap reads it: into a new file that is 0600 from its creation (a left-over
     * temporary file, whatever its mode, is removed first), then renamed over the old script in one step.
     */
    private void writeScript(String script) throws IOException {
        Files.createDirectories(scriptFile.toAbsolutePath().getParent());
        Path tmp = scriptFile.resolveSibling(scriptFile.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, OWNER_ONLY);
        Files.writeString(tmp, script);
        Files.move(tmp, scriptFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private synchronized void exited(Process p) {
        if (p != process) {
            return;
        }
        process = null;
        boolean deliberate = terminating;
        terminating = false;
        if (deliberate) {
            log.info("transcoder {}: liquidsoap stopped (pid {}, status {})", mount, p.pid(), p.exitValue());
            launch(); // if a new script is wanted
            return;
        }
        if (wanted == null) {
            return;
        }
        if (System.nanoTime() - startedAtNanos > policy.window().toNanos()) {
            backoffMillis = policy.minBackoff().toMillis();
        }
        crashed("it exited with status " + p.exitValue());
    }

    private void crashed(String why) {
        long now = System.nanoTime();
        failures.addLast(now);
        while (!failures.isEmpty() && now - failures.peekFirst() > policy.window().toNanos()) {
            failures.removeFirst();
        }
        if (failures.size() >= policy.maxFailures()) {
            log.error("transcoder {}: liquidsoap failed {} times within {} s ({}); giving up on this node", mount,
                    failures.size(), policy.window().toSeconds(), why);
            wanted = null;
            tell(listener::gaveUp);
            return;
        }
        long delay = backoffMillis;
        backoffMillis = Math.min(policy.maxBackoff().toMillis(), backoffMillis * 2);
        log.warn("transcoder {}: liquidsoap failed ({}); restarting in {} ms", mount, why, delay);
        try {
            pendingStart = executor.schedule(this::restart, delay, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            wanted = null; // shutting down
        }
    }

    private void restart() {
        synchronized (this) {
            pendingStart = null;
            if (wanted == null || process != null) {
                return;
            }
            launch();
        }
        listener.restarted();
    }

    private void terminate(Process p, Duration grace) {
        if (!terminating) {
            terminating = true;
            p.destroy();
        }
        // Not on the executor: a stop must be enforced even while the executor is busy or shut down.
        CompletableFuture.delayedExecutor(grace.toMillis(), TimeUnit.MILLISECONDS).execute(() -> {
            if (p.isAlive()) {
                log.warn("transcoder {}: liquidsoap (pid {}) still alive {} ms after SIGTERM; sending SIGKILL", mount,
                        p.pid(), grace.toMillis());
                p.destroyForcibly();
            }
        });
    }

    private void cancelPendingStart() {
        if (pendingStart != null) {
            pendingStart.cancel(false);
            pendingStart = null;
        }
    }

    private void tell(Runnable r) {
        try {
            executor.execute(r);
        } catch (RejectedExecutionException e) {
            // shutting down: nobody to tell
        }
    }

    private void pipe(Process p) {
        MDC.put("mount", mount);
        Map<String, Long> lastLogged = new HashMap<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                logLine(line, lastLogged);
            }
        } catch (IOException e) {
            // the process is gone
        } finally {
            MDC.remove("mount");
        }
    }

    /**
     * One of liquidsoap's lines at the level it gave it. A line repeated within {@link #REPEAT_QUIET_NANOS} (an
     * Icecast that keeps refusing us, retried every second) goes to debug, except source switches.
     */
    private void logLine(String line, Map<String, Long> lastLogged) {
        if (line.isBlank()) {
            return;
        }
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
        if (level != Level.DEBUG && !label.equals("safe")) {
            long now = System.nanoTime();
            Long last = lastLogged.get(text);
            if (last != null && now - last < REPEAT_QUIET_NANOS) {
                level = Level.DEBUG;
            } else {
                if (lastLogged.size() > 200) {
                    lastLogged.clear();
                }
                lastLogged.put(text, now);
            }
        }
        log.atLevel(level).log("transcoder {}: {}", mount, text);
    }
}
