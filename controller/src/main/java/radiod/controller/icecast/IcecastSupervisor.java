package radiod.controller.icecast;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.OptionalLong;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs this node's Icecast: writes icecast.xml for the current plan, starts Icecast, reloads it with SIGHUP when
 * the rendered config changes (never a restart: sources and listeners stay connected), restarts it with backoff
 * (0.5 s doubling to 10 s, back to 0.5 s once it has stayed up 10 s) when it dies, and polls its status.
 *
 * <p>Invariant: once the running Icecast has answered (so its SIGHUP handler is installed), it has loaded or been
 * sent SIGHUP for the config file on disk, and that file is the rendering of the last applied plan. Process and
 * file work happen on the supervisor's own thread; status polls on another; callers never block on either.
 */
public final class IcecastSupervisor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(IcecastSupervisor.class);
    private static final long MIN_BACKOFF_MILLIS = 500;
    private static final long MAX_BACKOFF_MILLIS = 10_000;
    private static final long STABLE_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final long POLL_MILLIS = 500;
    private static final long TERM_WAIT_MILLIS = 5_000;

    private final IcecastSettings settings;
    private final IcecastStatusReader reader;
    private final Runnable statusChanged;
    private final String where;
    private final ScheduledExecutorService control;
    private final ScheduledExecutorService poller;
    private final AtomicLong starts = new AtomicLong();
    private final AtomicLong reloads = new AtomicLong();
    private final Object publishLock = new Object();

    private volatile Process process;
    private volatile long readyPid = -1;
    private volatile IcecastStats stats = IcecastStats.DOWN;
    private volatile IcecastPlan plan = IcecastPlan.EMPTY;
    private volatile boolean started;
    private volatile boolean closed;
    // Confined to the control thread:
    private String renderedConfig;
    private String loadedConfig;
    private long backoffMillis = MIN_BACKOFF_MILLIS;
    private long startedAtNanos;

    public IcecastSupervisor(IcecastSettings settings) {
        this(settings, () -> { });
    }

    /** @param statusChanged see {@link #IcecastSupervisor(IcecastSettings, IcecastStatusReader, Runnable)} */
    public IcecastSupervisor(IcecastSettings settings, Runnable statusChanged) {
        this(settings, new IcecastStatusReader(settings), statusChanged);
    }

    /**
     * @param reader        how status is read (for example with the cluster's mount bitrates)
     * @param statusChanged told, on the poller thread, when Icecast goes up or down or its set of live mounts
     *                      changes, so the node can publish at once rather than at its next tick; must not block
     */
    public IcecastSupervisor(IcecastSettings settings, IcecastStatusReader reader, Runnable statusChanged) {
        this.settings = settings;
        this.reader = reader;
        this.statusChanged = statusChanged;
        this.where = settings.bind() + ":" + settings.port();
        this.control = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "icecast-" + where));
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "icecast-status-" + where));
    }

    /**
     * Prepares the working directory, writes the config for the current plan (EMPTY unless {@link #apply} came
     * first), starts Icecast and begins supervising and polling it.
     *
     * @throws UncheckedIOException when the working directory cannot be prepared
     */
    public synchronized IcecastSupervisor start() {
        if (started || closed) {
            throw new IllegalStateException("icecast supervisor for " + where + " was already started");
        }
        started = true;
        try {
            control.submit(() -> {
                prepare();
                launch();
                return null;
            }).get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof UncheckedIOException u) {
                throw u;
            }
            throw new IllegalStateException("icecast " + where + ": cannot start: " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting icecast " + where, e);
        }
        poller.scheduleWithFixedDelay(this::poll, 100, POLL_MILLIS, TimeUnit.MILLISECONDS);
        return this;
    }

    /**
     * Makes Icecast serve {@code next}: rewrites the config atomically and sends SIGHUP, but only when the
     * rendered config differs from the one on disk. Returns at once; the future tells whether the config changed.
     */
    public CompletableFuture<Boolean> apply(IcecastPlan next) {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        if (!onControl(() -> done.complete(applyNow(next)))) {
            done.complete(false);
        }
        return done;
    }

    private boolean applyNow(IcecastPlan next) {
        if (closed) {
            return false;
        }
        plan = next;
        if (renderedConfig == null) {
            return true; // not started yet: start() writes this plan's config
        }
        String config = IcecastConfig.render(settings, next);
        if (config.equals(renderedConfig)) {
            return false;
        }
        try {
            writeConfig(config);
        } catch (IOException e) {
            log.error("icecast {}: cannot write {}: {}; keeping the previous config", where, settings.configFile(),
                    e.getMessage());
            return false;
        }
        log.info("icecast {}: config now {}", where, next);
        reloadIfNeeded();
        return true;
    }

    /** The last plan given to {@link #apply}. */
    public IcecastPlan plan() {
        return plan;
    }

    /** The last status poll; {@link IcecastStats#DOWN} while Icecast is not running or not answering. */
    public IcecastStats stats() {
        return stats;
    }

    public boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /** The running Icecast's pid. */
    public OptionalLong pid() {
        Process p = process;
        return p != null && p.isAlive() ? OptionalLong.of(p.pid()) : OptionalLong.empty();
    }

    /** How many times Icecast was started: 1 in a calm life. */
    public long starts() {
        return starts.get();
    }

    /** How many times Icecast was sent SIGHUP. */
    public long reloads() {
        return reloads.get();
    }

    public IcecastSettings settings() {
        return settings;
    }

    private void prepare() {
        try {
            Files.createDirectories(settings.logDir());
            handOver(settings.dir());
            handOver(settings.logDir());
            try (Stream<Path> logs = Files.list(settings.logDir())) {
                for (Path p : logs.toList()) {
                    handOver(p);
                }
            }
            warnIfUnreachable();
            stopLeftover();
            writeConfig(IcecastConfig.render(settings, plan));
        } catch (IOException e) {
            throw new UncheckedIOException("icecast " + where + ": cannot prepare working dir " + settings.dir()
                    + ": " + e.getMessage(), e);
        }
    }

    private void launch() {
        if (closed) {
            return;
        }
        try {
            Process p = new ProcessBuilder(settings.binary().toString(), "-c", settings.configFile().toString())
                    .directory(settings.dir().toFile())
                    .redirectErrorStream(true)
                    .start();
            loadedConfig = renderedConfig;
            readyPid = -1;
            process = p;
            starts.incrementAndGet();
            startedAtNanos = System.nanoTime();
            log.info("icecast {}: started (pid {}) as {}", where, p.pid(), plan);
            daemon(() -> pipeOutput(p), "icecast-output-" + p.pid()).start();
            p.onExit().thenRun(() -> onControl(() -> exited(p)));
        } catch (IOException e) {
            log.error("icecast {}: cannot start {}: {}", where, settings.binary(), e.getMessage());
            scheduleLaunch(false);
        }
    }

    private void exited(Process p) {
        if (closed || p != process) {
            return;
        }
        process = null;
        readyPid = -1;
        long upNanos = System.nanoTime() - startedAtNanos;
        boolean stable = upNanos >= STABLE_NANOS;
        log.warn("icecast {}: pid {} exited with status {} after {} ms; restarting in {} ms", where, p.pid(),
                p.exitValue(), TimeUnit.NANOSECONDS.toMillis(upNanos), stable ? MIN_BACKOFF_MILLIS : backoffMillis);
        scheduleLaunch(stable);
        publish(IcecastStats.DOWN);
    }

    private void scheduleLaunch(boolean stable) {
        long delay = stable ? MIN_BACKOFF_MILLIS : backoffMillis;
        backoffMillis = Math.min(MAX_BACKOFF_MILLIS, delay * 2);
        try {
            control.schedule(this::launch, delay, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    /** SIGHUP when the running Icecast has not loaded the config on disk and can take the signal. */
    private void reloadIfNeeded() {
        Process p = process;
        if (closed || p == null || !p.isAlive() || readyPid != p.pid() || renderedConfig.equals(loadedConfig)) {
            return;
        }
        loadedConfig = renderedConfig;
        if (signal(p.pid(), "HUP")) {
            reloads.incrementAndGet();
            log.info("icecast {}: reloaded (SIGHUP to pid {})", where, p.pid());
        }
    }

    private void poll() {
        Process p = process;
        IcecastStats next = p != null && p.isAlive() ? reader.read() : IcecastStats.DOWN;
        if (p == null || p != process || !p.isAlive()) {
            next = IcecastStats.DOWN; // it died while we asked: do not publish the old process's answer
        }
        if (next.up() && p != null && readyPid != p.pid()) {
            // Answering HTTP means Icecast's main loop runs, so its SIGHUP handler is in place (before that, a
            // SIGHUP would kill it): a config written meanwhile can be sent now.
            readyPid = p.pid();
            onControl(this::reloadIfNeeded);
        }
        publish(next);
    }

    private void publish(IcecastStats next) {
        synchronized (publishLock) {
            publishLocked(next);
        }
    }

    private void publishLocked(IcecastStats next) {
        IcecastStats before = stats;
        stats = next;
        if (before.up() != next.up() || !before.listenersByMount().keySet().equals(next.listenersByMount().keySet())) {
            log.info("icecast {}: {}; live mounts {}", where, next.up() ? "up" : "down",
                    new TreeSet<>(next.listenersByMount().keySet()));
            try {
                statusChanged.run();
            } catch (RuntimeException e) {
                log.warn("icecast {}: status listener failed: {}", where, e.toString());
            }
        }
    }

    private void pipeOutput(Process p) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.isBlank()) {
                    // Icecast writes to its own log files; what it prints is rare: mostly why it cannot start.
                    if (line.startsWith("Changed ")) {
                        log.info("icecast {} (pid {}) says: {}", where, p.pid(), line.strip());
                    } else {
                        log.warn("icecast {} (pid {}) says: {}", where, p.pid(), line.strip());
                    }
                }
            }
        } catch (IOException e) {
            // the process is gone
        }
    }

    private void writeConfig(String config) throws IOException {
        Path tmp = settings.configFile().resolveSibling(settings.configFile().getFileName() + ".new");
        Files.deleteIfExists(tmp);
        // Holds passwords: readable by Icecast's user only.
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, config);
        handOver(tmp);
        try {
            Files.move(tmp, settings.configFile(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, settings.configFile(), StandardCopyOption.REPLACE_EXISTING);
        }
        renderedConfig = config;
    }

    /** After {@code <changeowner>}, Icecast must still read its config on SIGHUP and write its logs. */
    private void handOver(Path p) throws IOException {
        if (settings.runAsUser() == null) {
            return;
        }
        UserPrincipalLookupService users = p.getFileSystem().getUserPrincipalLookupService();
        PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class);
        view.setOwner(users.lookupPrincipalByName(settings.runAsUser()));
        view.setGroup(users.lookupPrincipalByGroupName(settings.runAsGroup()));
    }

    /** After {@code <changeowner>}, Icecast opens its logs as that user: every parent must let it through. */
    private void warnIfUnreachable() throws IOException {
        if (settings.runAsUser() == null) {
            return;
        }
        for (Path p = settings.dir().toAbsolutePath().getParent(); p != null; p = p.getParent()) {
            PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class);
            boolean through = a.permissions().contains(PosixFilePermission.OTHERS_EXECUTE)
                    || a.owner().getName().equals(settings.runAsUser()) && a.permissions().contains(PosixFilePermission.OWNER_EXECUTE)
                    || a.group().getName().equals(settings.runAsGroup()) && a.permissions().contains(PosixFilePermission.GROUP_EXECUTE);
            if (!through) {
                log.error("icecast {}: {} does not let user {} through to {}, so Icecast cannot open its logs: "
                        + "chmod o+x {} or move the icecast dir", where, p, settings.runAsUser(), settings.dir(), p);
            }
        }
    }

    /** An Icecast left behind by a radiod that was killed still holds the port: stop it before starting ours. */
    private void stopLeftover() {
        Path pidFile = settings.pidFile();
        try {
            if (!Files.exists(pidFile)) {
                return;
            }
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            ProcessHandle.of(pid)
                    .filter(h -> h.info().commandLine().map(c -> c.contains(settings.configFile().toString())).orElse(false))
                    .ifPresent(h -> {
                        log.warn("icecast {}: stopping Icecast pid {} left from an earlier run", where, pid);
                        h.destroyForcibly();
                        h.onExit().orTimeout(5, TimeUnit.SECONDS).exceptionally(t -> null).join();
                    });
            Files.deleteIfExists(pidFile);
        } catch (IOException | NumberFormatException e) {
            log.debug("icecast {}: no usable pid file: {}", where, e.toString());
        }
    }

    private boolean signal(long pid, String sig) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).redirectErrorStream(true).start();
            if (kill.waitFor(2, TimeUnit.SECONDS) && kill.exitValue() == 0) {
                return true;
            }
            log.error("icecast {}: kill -{} {} failed", where, sig, pid);
        } catch (IOException e) {
            log.error("icecast {}: cannot send SIG{}: {}", where, sig, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    private boolean onControl(Runnable task) {
        try {
            control.execute(task);
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Stops supervising and stops Icecast: SIGTERM, then SIGKILL if it is still there after 5 s. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        poller.shutdownNow();
        // Drops a pending restart; a launch already under way finishes, so its process is seen below.
        control.shutdownNow();
        try {
            control.awaitTermination(3, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Process p = process;
        if (p != null && p.isAlive()) {
            p.destroy();
            try {
                if (!p.waitFor(TERM_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                    log.warn("icecast {}: pid {} ignored SIGTERM for {} ms; killing it", where, p.pid(), TERM_WAIT_MILLIS);
                    p.destroyForcibly();
                    p.waitFor(2, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
            log.info("icecast {}: stopped", where);
        }
        stats = IcecastStats.DOWN;
    }
}
