package radiod.controller.icecast;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import radiod.lifecycle.DaemonThreads;
import radiod.lifecycle.Lifecycle;
import radiod.lifecycle.process.AtomicFiles;
import radiod.lifecycle.process.Backoff;
import radiod.lifecycle.process.Supervisor;

/**
 * Runs this node's Icecast: writes icecast.xml for the current plan, starts Icecast, reloads it with SIGHUP when
 * the rendered config changes (never a restart: sources and listeners stay connected), restarts it with backoff
 * (0.5 s doubling to 10 s, back to 0.5 s once it has stayed up 10 s) when it dies, and polls its status; an Icecast
 * that stops answering for {@value #HUNG_MILLIS} ms is killed and restarted the same way.
 *
 * <p>Invariant: once the running Icecast has answered (so its SIGHUP handler is installed), it has loaded or been
 * sent SIGHUP for the config file on disk, and that file is the rendering of the last applied plan. Process and
 * file work happen on the supervisor's own thread; status polls on another; callers never block on either.
 */
public final class IcecastSupervisor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(IcecastSupervisor.class);
    /** 0.5 s doubling to 10 s, a fifth more at random, back to 0.5 s once it has stayed up 10 s; SIGKILL 5 s after SIGTERM. */
    private static final Supervisor.Policy RESTARTS = Supervisor.Policy.forever(
            new Backoff(Duration.ofMillis(500), Duration.ofSeconds(10), Duration.ofSeconds(10), 0.2), Duration.ofSeconds(5));
    private static final long POLL_MILLIS = 500;
    /**
     * While Icecast has not answered yet, and for a second after {@link #pollSoon()}: a node that starts or a mount
     * that goes live is redirected to as soon as Icecast shows it, not up to half a second later.
     */
    private static final long FAST_POLL_MILLIS = 50;
    private static final long FAST_AFTER_NUDGE_NANOS = TimeUnit.SECONDS.toNanos(1);
    /**
     * An Icecast that is running but has not answered a status read (no answer at all, not an error) for this long is
     * hung, a deadlock say: it is killed, and started again as after a crash. Shorter than the passthrough's 15 s hold
     * of its listeners, so that they hear the restarted Icecast; far longer than any answer of a loaded Icecast
     * (a read gives up after 1.5 s).
     */
    static final long HUNG_MILLIS = 10_000;
    /**
     * How long an Icecast that was up has been down before it is out of service ({@link #outOfService}): longer than a
     * crash's restart (0.5 s and its start), so that players coming back meanwhile are held for it as before; a hung or
     * crash-looping one is out of service after this.
     */
    public static final long OUT_OF_SERVICE_MILLIS = 2_000;

    private final IcecastSettings settings;
    private final IcecastStatusReader reader;
    private final Runnable statusChanged;
    private final String where;
    private final Lifecycle lifecycle;
    private final ScheduledExecutorService control;
    private final ScheduledExecutorService poller;
    private final Supervisor process;
    private final AtomicLong reloads = new AtomicLong();
    private final AtomicLong hangKills = new AtomicLong();
    /** Restarts after Icecast died by itself, and after the watchdog killed it. */
    private final AtomicLong crashRestarts = new AtomicLong();
    private final AtomicLong hangRestarts = new AtomicLong();
    /** The pid the watchdog is killing (-1: none), and whether the last exit was that kill (for the next start). */
    private volatile long hangKillPid = -1;
    private volatile boolean lastExitWasHangKill;
    /**
     * When each mount was last seen live on this Icecast ({@link System#nanoTime()}), in this process's life: the
     * mounts of the plan, and those live now (a feed for a mount the config does not name). A mount that is neither
     * goes at the next plan ({@link #forgetMountsGone}).
     */
    private final Map<String, Long> lastLive = new ConcurrentHashMap<>();
    /** The process whose status reads go unanswered, since when (the first such read's start), how many; poller thread. */
    private long silentPid = -1;
    private long silentSinceNanos;
    private int silentReads;
    private final Object publishLock = new Object();

    private volatile long readyPid = -1;
    private volatile long fastUntilNanos = System.nanoTime();
    /** The one poll scheduled; confined to the poller's thread. */
    private ScheduledFuture<?> nextPoll;
    private volatile IcecastStats stats = IcecastStats.DOWN;
    /** Whether Icecast has answered in this process's life, and since when it has not (0 while up); publishLock. */
    private volatile boolean everUp;
    private volatile long downSinceNanos;
    private volatile IcecastPlan plan = IcecastPlan.EMPTY;
    // Confined to the control thread:
    private String renderedConfig;
    private String loadedConfig;

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
        this.lifecycle = new Lifecycle("icecast supervisor for " + where);
        this.control = DaemonThreads.scheduled("icecast-" + where);
        this.poller = DaemonThreads.scheduled("icecast-status-" + where);
        this.process = new Supervisor("icecast " + where, this::command, RESTARTS, this::output, control,
                new Supervisor.Listener() {
                    @Override
                    public void started(Process p, boolean restart) {
                        loadedConfig = renderedConfig; // on the control thread: it starts with the file on disk
                        readyPid = -1;
                        if (restart) {
                            (lastExitWasHangKill ? hangRestarts : crashRestarts).incrementAndGet();
                        }
                        lastExitWasHangKill = false;
                        hangKillPid = -1;
                    }

                    @Override
                    public void crashed(Optional<Process> p, Optional<Duration> restartIn) {
                        if (p.isPresent()) { // else a start that failed: the restart it retries keeps its reason
                            long killed = hangKillPid;
                            lastExitWasHangKill = killed >= 0 && p.get().pid() == killed;
                            if (lastExitWasHangKill) {
                                hangKillPid = -1;
                            }
                        }
                        readyPid = -1;
                        publish(IcecastStats.DOWN);
                    }
                });
    }

    /**
     * Prepares the working directory, writes the config for the current plan (EMPTY unless {@link #apply} came
     * first), starts Icecast and begins supervising and polling it.
     *
     * @throws UncheckedIOException when the working directory cannot be prepared
     */
    public IcecastSupervisor start() {
        lifecycle.start();
        try {
            control.submit(() -> {
                prepare();
                process.run();
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
        poller.execute(() -> pollAgainIn(FAST_POLL_MILLIS));
        return this;
    }

    /**
     * Reads Icecast's status now, and every {@value #FAST_POLL_MILLIS} ms for the next second: say, when a source was
     * just handed to it, so that the node publishes the mount live within tens of milliseconds. Any thread.
     */
    public void pollSoon() {
        fastUntilNanos = System.nanoTime() + FAST_AFTER_NUDGE_NANOS;
        try {
            poller.execute(() -> {
                if (nextPoll != null && nextPoll.cancel(false)) {
                    pollAndGoOn(); // now, and at the fast pace from here
                }
            });
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    private void pollAgainIn(long millis) {
        try {
            nextPoll = poller.schedule(this::pollAndGoOn, millis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    /** On the poller's thread: one poll, then the next one scheduled (there is only ever one scheduled). */
    private void pollAndGoOn() {
        try {
            poll();
        } finally {
            boolean fast = !stats.up() || System.nanoTime() - fastUntilNanos < 0;
            if (!lifecycle.isClosed()) {
                pollAgainIn(fast ? FAST_POLL_MILLIS : POLL_MILLIS);
            }
        }
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
        if (lifecycle.isClosed()) {
            return false;
        }
        synchronized (publishLock) {
            plan = next;
            forgetMountsGone(next);
        }
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

    /**
     * Forgets when mounts were live that the cluster's config no longer names and that are not live now: no listener
     * route asks about a mount outside the config, so each mount name ever fed here would otherwise stay for the
     * process's life. Under publishLock, so that a poll in flight does not add back a mount just forgotten.
     */
    private void forgetMountsGone(IcecastPlan next) {
        Map<String, Integer> live = stats.listenersByMount();
        Set<String> named = new HashSet<>();
        next.mounts().forEach(m -> named.add(m.path()));
        lastLive.keySet().removeIf(mount -> !live.containsKey(mount) && !named.contains(mount));
    }

    /** The mounts whose last time live this supervisor keeps (for tests). */
    Set<String> mountsRemembered() {
        return Set.copyOf(lastLive.keySet());
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
        return process.isRunning();
    }

    /** The running Icecast's pid. */
    public OptionalLong pid() {
        return process.pid();
    }

    /** How many times Icecast was started: 1 in a calm life. */
    public long starts() {
        return process.starts();
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

    /** What starts Icecast; the config it reads is on disk already. */
    private ProcessBuilder command() {
        return new ProcessBuilder(settings.binary().toString(), "-c", settings.configFile().toString())
                .directory(settings.dir().toFile())
                .redirectErrorStream(true);
    }

    /** SIGHUP when the running Icecast has not loaded the config on disk and can take the signal. */
    private void reloadIfNeeded() {
        OptionalLong pid = process.pid();
        if (lifecycle.isClosed() || pid.isEmpty() || readyPid != pid.getAsLong() || renderedConfig.equals(loadedConfig)) {
            return;
        }
        loadedConfig = renderedConfig;
        if (signal(pid.getAsLong(), "HUP")) {
            reloads.incrementAndGet();
            log.info("icecast {}: reloaded (SIGHUP to pid {})", where, pid.getAsLong());
        }
    }

    private void poll() {
        OptionalLong pid = process.pid();
        long asked = System.nanoTime();
        IcecastStats next = pid.isPresent() ? reader.read() : IcecastStats.DOWN;
        if (pid.isEmpty() || !pid.equals(process.pid())) {
            next = IcecastStats.DOWN; // it died while we asked: do not publish the old process's answer
            silentPid = -1;
        } else {
            watchForHang(pid.getAsLong(), !next.up() && reader.lastReadUnanswered(), asked);
        }
        if (next.up() && readyPid != pid.getAsLong()) {
            // Answering HTTP means Icecast's main loop runs, so its SIGHUP handler is in place (before that, a
            // SIGHUP would kill it): a config written meanwhile can be sent now.
            readyPid = pid.getAsLong();
            onControl(this::reloadIfNeeded);
        }
        publish(next);
    }

    /**
     * On the poller's thread, after each read of a running Icecast: kills it once reads started {@link #HUNG_MILLIS}
     * apart (three at least) have all gone unanswered. Measured between the reads' starts, so that one read that
     * spans a stall of radiod itself (a long pause of its JVM, of its VM) can never decide alone.
     */
    private void watchForHang(long pid, boolean silent, long asked) {
        if (!silent) {
            silentPid = -1;
            return;
        }
        if (silentPid != pid) {
            silentPid = pid;
            silentSinceNanos = asked;
            silentReads = 0;
        }
        silentReads++;
        long silentMillis = (asked - silentSinceNanos) / 1_000_000;
        if (silentMillis >= HUNG_MILLIS && silentReads >= 3 && !lifecycle.isClosed()) {
            silentPid = -1;
            hangKillPid = pid; // before the kill: its exit may be handled before kill() returns
            if (process.kill(pid)) {
                hangKills.incrementAndGet();
                log.warn("icecast {} (pid {}): no answer for {} ms ({} reads); it hangs, so it was killed and is started"
                        + " again", where, pid, silentMillis, silentReads);
            } else {
                hangKillPid = -1; // no longer the running one: nothing killed
            }
        }
    }

    /**
     * Whether this node's Icecast, up before in this process's life, has been down for {@link #OUT_OF_SERVICE_MILLIS}
     * (crashed and not back, hung, crash-looping). False while it starts for the first time, and during a restart
     * after a crash: what is coming back soon is not out of service. Any thread.
     */
    public boolean outOfService() {
        long since = downSinceNanos;
        return everUp && !stats.up() && since != 0
                && System.nanoTime() - since >= TimeUnit.MILLISECONDS.toNanos(OUT_OF_SERVICE_MILLIS);
    }

    /**
     * How long {@code mount}, live on this Icecast earlier in this process's life, has been missing from it (while it
     * was down too); 0 while it is live, and for a mount never live here (a node just started, a new mount). Any thread.
     */
    public long mountLostMillis(String mount) {
        if (stats.listenersByMount().containsKey(mount)) {
            return 0;
        }
        Long seen = lastLive.get(mount);
        return seen == null ? 0 : (System.nanoTime() - seen) / 1_000_000;
    }

    /** Icecasts started again after one died by itself (a crash, an OOM kill, a kill by someone else). */
    public long crashRestarts() {
        return crashRestarts.get();
    }

    /** Icecasts started again after one was killed for not answering ({@link #HUNG_MILLIS}). */
    public long hangRestarts() {
        return hangRestarts.get();
    }

    /** Icecasts killed because they stopped answering (see {@link #HUNG_MILLIS}). */
    public long hangKills() {
        return hangKills.get();
    }

    private void publish(IcecastStats next) {
        synchronized (publishLock) {
            publishLocked(next);
        }
    }

    private void publishLocked(IcecastStats next) {
        IcecastStats before = stats;
        stats = next;
        long now = System.nanoTime();
        next.listenersByMount().keySet().forEach(mount -> lastLive.put(mount, now));
        if (next.up()) {
            everUp = true;
            downSinceNanos = 0;
        } else if (before.up()) {
            downSinceNanos = System.nanoTime();
        }
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

    /** Icecast writes to its own log files; what it prints is rare: mostly why it cannot start. */
    private void output(long pid, String line) {
        if (line.startsWith("Changed ")) {
            log.info("icecast {} (pid {}) says: {}", where, pid, line);
        } else {
            log.warn("icecast {} (pid {}) says: {}", where, pid, line);
        }
    }

    /** Holds passwords: written 0600 and handed to Icecast's user before it takes the config's name. */
    private void writeConfig(String config) throws IOException {
        AtomicFiles.writeOwnerOnly(settings.configFile(), config, this::handOver);
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

    /** Stops supervising and stops Icecast: SIGTERM, then SIGKILL if it is still there after 5 s. */
    @Override
    public void close() {
        if (!lifecycle.close()) {
            return;
        }
        DaemonThreads.stop(poller, Duration.ZERO);
        // Drops a pending restart; a start already under way finishes first, so its process is the one stopped.
        process.close();
        DaemonThreads.stop(control, Duration.ofSeconds(3));
        stats = IcecastStats.DOWN;
    }
}
