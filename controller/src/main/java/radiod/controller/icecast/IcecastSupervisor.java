package radiod.controller.icecast;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the node's Icecast: writes its config from the current plan, starts it, reloads it with SIGHUP when the
 * plan changes (never a restart), restarts it with backoff when it dies, and polls its status every second.
 *
 * <p>Invariant: the config file on disk is always the rendering of the last applied plan, and Icecast has been
 * sent SIGHUP after every change of it.
 */
public final class IcecastSupervisor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(IcecastSupervisor.class);
    private static final long MIN_BACKOFF_MILLIS = 500;
    private static final long MAX_BACKOFF_MILLIS = 10_000;
    /** Local and cheap; fast enough that a new source reaches the relays well within a second. */
    private static final long POLL_MILLIS = 250;

    private final IcecastSettings settings;
    private final Runnable liveMountsChanged;
    private final String unknownSourcePassword = IcecastSettings.randomPassword();
    private final ScheduledExecutorService thread;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(800)).build();

    private volatile Process process;
    private volatile IcecastStats stats = IcecastStats.DOWN;
    private volatile boolean closed;
    private String renderedConfig;
    private IcecastPlan plan = IcecastPlan.STANDBY;
    private long backoffMillis = MIN_BACKOFF_MILLIS;
    private long startedAtNanos;
    private long restartAtNanos;
    private long starts;

    /**
     * @param liveMountsChanged told (on the supervisor's thread) when the set of live mounts or Icecast's
     *                          up/down state changes, so the node can publish it at once
     */
    public IcecastSupervisor(IcecastSettings settings, Runnable liveMountsChanged) {
        this.settings = settings;
        this.liveMountsChanged = liveMountsChanged;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "radiod-icecast");
            t.setDaemon(true);
            return t;
        });
    }

    /** Prepares the working directory, starts Icecast with a standby config, and begins supervising it. */
    public IcecastSupervisor start() {
        try {
            Files.createDirectories(settings.logDir());
            killLeftover();
            writeConfig(IcecastConfig.render(settings, plan, unknownSourcePassword));
            handOver(settings.dir());
            handOver(settings.logDir());
        } catch (IOException e) {
            throw new UncheckedIOException("icecast: cannot prepare " + settings.dir() + ": " + e.getMessage(), e);
        }
        thread.execute(this::launch);
        thread.scheduleWithFixedDelay(this::watch, 200, 200, TimeUnit.MILLISECONDS);
        thread.scheduleWithFixedDelay(this::poll, 300, POLL_MILLIS, TimeUnit.MILLISECONDS);
        return this;
    }

    /** Applies a plan: rewrites the config and reloads Icecast with SIGHUP, only if the config changes. */
    public void apply(IcecastPlan next) {
        thread.execute(() -> {
            if (closed || next.equals(plan)) {
                return;
            }
            plan = next;
            String config = IcecastConfig.render(settings, next, unknownSourcePassword);
            if (config.equals(renderedConfig)) {
                return;
            }
            try {
                writeConfig(config);
            } catch (IOException e) {
                log.error("icecast: cannot write {}: {}", settings.configFile(), e.getMessage());
                return;
            }
            Process p = process;
            if (p != null && p.isAlive()) {
                signal(p.pid(), "HUP");
                log.info("icecast reloaded (SIGHUP) as {} with {} mount(s){}", next.role(), next.mounts().size(),
                        next.role() == IcecastPlan.Role.RELAY ? " from " + next.masterHost() + ":" + next.masterPort() : "");
            }
        });
    }

    public IcecastStats stats() {
        return stats;
    }

    public boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    public Optional<Long> pid() {
        Process p = process;
        return p != null && p.isAlive() ? Optional.of(p.pid()) : Optional.empty();
    }

    /** How many times Icecast was started (1 in a calm life). */
    public long starts() {
        return starts;
    }

    public IcecastSettings settings() {
        return settings;
    }

    private void launch() {
        if (closed) {
            return;
        }
        try {
            Process p = new ProcessBuilder(settings.binary().toString(), "-c", settings.configFile().toString())
                    .redirectErrorStream(true)
                    .start();
            process = p;
            starts++;
            startedAtNanos = System.nanoTime();
            log.info("icecast started (pid {}) on {}:{}", p.pid(), settings.bind(), settings.port());
            Thread out = new Thread(() -> pipeOutput(p), "icecast-output");
            out.setDaemon(true);
            out.start();
        } catch (IOException e) {
            log.error("icecast: cannot start {}: {}", settings.binary(), e.getMessage());
            scheduleRestart();
        }
    }

    private void pipeOutput(Process p) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.isBlank()) {
                    log.info("icecast: {}", line);
                }
            }
        } catch (IOException e) {
            // process gone
        }
    }

    private void watch() {
        if (closed) {
            return;
        }
        Process p = process;
        if (p != null && !p.isAlive()) {
            process = null;
            stats = IcecastStats.DOWN;
            long upFor = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAtNanos);
            if (upFor > 30_000) {
                backoffMillis = MIN_BACKOFF_MILLIS;
            }
            log.warn("icecast exited with status {} after {} ms; restarting in {} ms", p.exitValue(), upFor, backoffMillis);
            scheduleRestart();
        } else if (p == null && restartAtNanos != 0 && System.nanoTime() - restartAtNanos >= 0) {
            restartAtNanos = 0;
            launch();
        }
    }

    private void scheduleRestart() {
        restartAtNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoffMillis);
        backoffMillis = Math.min(MAX_BACKOFF_MILLIS, backoffMillis * 2);
    }

    private void poll() {
        IcecastStats next = IcecastStats.DOWN;
        if (!closed && isRunning()) {
            try {
                HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(
                                "http://" + hostForUrl(settings.bind()) + ":" + settings.port() + "/status-json.xsl"))
                        .timeout(Duration.ofMillis(900)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
                next = r.statusCode() == 200 ? IcecastStatusParser.parse(r.body()) : IcecastStats.DOWN;
            } catch (IOException | IllegalArgumentException e) {
                next = IcecastStats.DOWN;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        IcecastStats before = stats;
        stats = next;
        if (before.up() != next.up() || !before.listenersByMount().keySet().equals(next.listenersByMount().keySet())) {
            log.info("icecast {}; live mounts: {}", next.up() ? "up" : "down", new java.util.TreeSet<>(next.listenersByMount().keySet()));
            liveMountsChanged.run();
        }
    }

    private static String hostForUrl(String bind) {
        if (bind.equals("0.0.0.0")) {
            return "127.0.0.1";
        }
        if (bind.equals("::")) {
            return "[::1]";
        }
        return bind.contains(":") ? "[" + bind + "]" : bind;
    }

    private void writeConfig(String config) throws IOException {
        Path tmp = settings.configFile().resolveSibling("icecast.xml.new");
        Files.writeString(tmp, config);
        handOver(tmp);
        try {
            Files.move(tmp, settings.configFile(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, settings.configFile(), StandardCopyOption.REPLACE_EXISTING);
        }
        renderedConfig = config;
    }

    /** When Icecast drops root, it must still read its config on reload and write its logs. */
    private void handOver(Path p) throws IOException {
        if (settings.runAs() == null) {
            return;
        }
        UserPrincipalLookupService users = p.getFileSystem().getUserPrincipalLookupService();
        PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class);
        view.setOwner(users.lookupPrincipalByName(settings.runAs()));
        GroupPrincipal group = users.lookupPrincipalByGroupName(settings.runAsGroup());
        view.setGroup(group);
    }

    /** An Icecast left running by a radiod that died (kill -9) still holds the port: stop it. */
    private void killLeftover() {
        Path pidFile = settings.pidFile();
        try {
            if (!Files.exists(pidFile)) {
                return;
            }
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            ProcessHandle.of(pid)
                    .filter(h -> h.info().commandLine().map(c -> c.contains(settings.configFile().toString())).orElse(false))
                    .ifPresent(h -> {
                        log.warn("icecast: stopping a leftover Icecast (pid {}) from an earlier run", pid);
                        h.destroyForcibly();
                        h.onExit().orTimeout(5, TimeUnit.SECONDS).exceptionally(t -> null).join();
                    });
            Files.deleteIfExists(pidFile);
        } catch (IOException | NumberFormatException e) {
            log.debug("icecast: no usable pid file: {}", e.toString());
        }
    }

    private static void signal(long pid, String sig) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).redirectErrorStream(true).start();
            kill.waitFor(2, TimeUnit.SECONDS);
        } catch (IOException e) {
            log.error("icecast: cannot send SIG{}: {}", sig, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops Icecast: SIGTERM, then SIGKILL if it lingers. */
    @Override
    public void close() {
        closed = true;
        thread.shutdownNow();
        Process p = process;
        if (p != null) {
            p.destroy();
            try {
                if (!p.waitFor(3, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(3, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
        stats = IcecastStats.DOWN;
    }
}
