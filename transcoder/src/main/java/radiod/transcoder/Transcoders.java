package radiod.transcoder;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import radiod.cluster.election.Candidate;
import radiod.cluster.election.Election;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Json;
import radiod.cluster.model.Mount;
import radiod.cluster.model.TranscoderOwner;
import radiod.cluster.view.ClusterSnapshot;
import radiod.lifecycle.Component;
import radiod.lifecycle.DaemonThreads;
import radiod.lifecycle.Lifecycle;
import radiod.transcoder.process.RestartPolicy;
import radiod.transcoder.process.TranscoderProcess;
import radiod.transcoder.script.LiquidsoapScript;

/**
 * The node's transcoders: for every transcoded mount in the view, an {@link Election} on
 * {@code transcoders/<mount>}; while this node wins it, one liquidsoap runs here for that mount, pulling the
 * source mount from this node's own Icecast and pushing to this node's own source front with the mount's
 * credentials, like any encoder. Neither depends on who is master (every node's Icecast carries every live
 * mount, and the source front holds an encoder across master changes), so a transcoder runs whether or not the
 * view names a master, and a master change neither changes its script nor restarts it. Both need this node's link
 * to the master's hub, though: a node that has had none for {@link #noLinkGrace} (a path cut between it and the
 * master) gives its transcoders up, so that a node with one runs them.
 *
 * <p>Invariant: liquidsoap runs here only while this node holds that mount's election (its lease vouched for).
 * Losing the election or the lease sends SIGTERM at once, on the thread that learns it; an election is released
 * only after its liquidsoap has exited.
 *
 * <p>Callers never block: {@link #viewChanged} hands the snapshot to the transcoders' own thread, which looks at
 * nothing before {@link #start()}.
 */
public final class Transcoders implements Component {
    /**
     * @param liquidsoap  the liquidsoap binary
     * @param dir         where the generated scripts go (one file per transcoded mount)
     * @param icecastHost this node's Icecast, to pull source mounts from: an address to connect to (an IPv6 one
     *                    without brackets), not a wildcard such as {@code 0.0.0.0}
     * @param icecastPort its listener port
     * @param sourceHost  this node's source front, to push transcoded mounts to: an address to connect to, as
     *                    {@code icecastHost}
     * @param sourcePort  its port (the one encoders use)
     * @param restarts    when a crashed liquidsoap is restarted, and when this node gives up on it; null for
     *                    {@link RestartPolicy#DEFAULT}
     * @throws IllegalArgumentException naming the field that is missing or not valid
     */
    public record Settings(Path liquidsoap, Path dir, String icecastHost, int icecastPort, String sourceHost,
                           int sourcePort, RestartPolicy restarts) {
        public Settings {
            if (liquidsoap == null) {
                throw new IllegalArgumentException("transcoder settings: liquidsoap (the binary, e.g. /usr/bin/liquidsoap) is missing");
            }
            if (dir == null) {
                throw new IllegalArgumentException("transcoder settings: dir (for the scripts, e.g. /var/lib/radiod/transcoders) is missing");
            }
            check(() -> LiquidsoapScript.checkHost("icecastHost", icecastHost));
            check(() -> LiquidsoapScript.checkPort("icecastPort", icecastPort));
            check(() -> LiquidsoapScript.checkHost("sourceHost", sourceHost));
            check(() -> LiquidsoapScript.checkPort("sourcePort", sourcePort));
            restarts = Objects.requireNonNullElse(restarts, RestartPolicy.DEFAULT);
        }

        /** With {@link RestartPolicy#DEFAULT}. */
        public Settings(Path liquidsoap, Path dir, String icecastHost, int icecastPort, String sourceHost, int sourcePort) {
            this(liquidsoap, dir, icecastHost, icecastPort, sourceHost, sourcePort, RestartPolicy.DEFAULT);
        }

        /** This node's Icecast, where liquidsoap pulls the source mount from. */
        public LiquidsoapScript.Endpoint icecast() {
            return new LiquidsoapScript.Endpoint(icecastHost, icecastPort);
        }

        /** This node's source front, where liquidsoap pushes the transcoded mount to. */
        public LiquidsoapScript.Endpoint sourceFront() {
            return new LiquidsoapScript.Endpoint(sourceHost, sourcePort);
        }

        private static void check(Runnable check) {
            try {
                check.run();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("transcoder settings: " + e.getMessage(), e);
            }
        }
    }

    private static final Logger log = LoggerFactory.getLogger(Transcoders.class);
    /** After giving up on a transcoder, leave it to the other nodes for this long. */
    static final Duration GIVE_UP_HOLD_OFF = Duration.ofSeconds(30);
    /**
     * A transcoder whose node has had no link to the master's hub for this long, or for the lease TTL and 5 s more
     * when that is longer ({@link #noLinkGrace}), gives it up: its input does not come and its output goes nowhere.
     * Longer than a master's failover (the links are down until the view names the next master: up to the TTL after
     * the master went), so a failover never moves a transcoder.
     */
    static final Duration NO_LINK_GRACE = Duration.ofSeconds(10);
    /** A deposed transcoder gets this long after SIGTERM: the lease it ran under is about to expire. */
    static final Duration FENCE_GRACE = Duration.ofMillis(300);
    /** Re-check elections and processes this often, besides reacting to events. */
    private static final long TICK_MILLIS = 500;

    /** One transcoded mount as this node sees it. Fields other than the finals are touched on the executor only. */
    private final class Slot {
        final String path;
        final Candidate election;
        final TranscoderProcess process;
        final Counter restarts;
        final Gauge running;
        Mount definition;
        long heldOffUntilNanos;
        boolean heldOff;
        /** When this node last set out to run the slot's liquidsoap (it was not wanted before). */
        long wantedSinceNanos;

        Slot(Mount mount) {
            this.path = mount.path();
            this.definition = mount;
            this.restarts = Counter.builder("radiod.transcoder.restarts").tag("mount", path)
                    .description("Restarts of this mount's liquidsoap on this node after it crashed")
                    .register(registry);
            this.process = new TranscoderProcess(settings.liquidsoap(), LiquidsoapScript.OPTIONS,
                    settings.dir().resolve(scriptFileName(path)), path, settings.restarts(), executor,
                    new TranscoderProcess.Listener() {
                        @Override
                        public void restarted() {
                            restarts.increment();
                        }

                        @Override
                        public void gaveUp() {
                            giveUp(Slot.this, "liquidsoap keeps failing here");
                        }
                    });
            this.running = Gauge.builder("radiod.transcoder.running", process, p -> p.isRunning() ? 1 : 0)
                    .tag("mount", path)
                    .description("1 while this mount's liquidsoap runs on this node")
                    .register(registry);
            this.election = new Candidate(session, keys.transcoder(path),
                    () -> Json.encode(new TranscoderOwner(nodeName, System.currentTimeMillis())), new Election.Listener() {
                        @Override
                        public void elected() {
                            log.info("transcoder {}: elected; liquidsoap runs on this node", path);
                            requestSync();
                        }

                        @Override
                        public void deposed() {
                            // At once, on the thread that learnt it: the lease may be about to expire.
                            if (process.isWanted() || process.isRunning()) {
                                log.warn("transcoder {}: deposed; stopping liquidsoap", path);
                            }
                            process.stop(FENCE_GRACE);
                            requestSync();
                        }
                    });
        }
    }

    private final EtcdSession session;
    private final Keys keys;
    private final String nodeName;
    private final Settings settings;
    private final MeterRegistry registry;
    private final ScheduledExecutorService executor;
    private final long pid = ProcessHandle.current().pid();
    private final LiquidsoapScript.Endpoint icecast;
    private final LiquidsoapScript.Endpoint sourceFront;
    /** Changed on the executor only; read by {@link #running()} from any thread. */
    private final Map<String, Slot> slots = new ConcurrentHashMap<>();
    private final LongSupplier masterLinkDownSince;
    private final Duration noLinkGrace;
    private final AtomicBoolean syncQueued = new AtomicBoolean();
    private volatile ClusterSnapshot view = ClusterSnapshot.EMPTY;
    private final Lifecycle lifecycle = new Lifecycle("transcoders");

    public Transcoders(EtcdSession session, Keys keys, String nodeName, Settings settings, MeterRegistry registry) {
        this(session, keys, nodeName, settings, registry, () -> -1);
    }

    /**
     * @param masterLinkDownSince since when ({@link System#nanoTime()}) this node has had no link up to the master's
     *                            hub, or -1 while it has one (or has nothing to link, or no master is named): a
     *                            transcoder here gives its mount up after {@link #noLinkGrace} without one
     */
    public Transcoders(EtcdSession session, Keys keys, String nodeName, Settings settings, MeterRegistry registry,
                       LongSupplier masterLinkDownSince) {
        this.masterLinkDownSince = Objects.requireNonNull(masterLinkDownSince, "masterLinkDownSince");
        this.noLinkGrace = noLinkGrace(session.ttl());
        this.session = session;
        this.keys = keys;
        this.nodeName = nodeName;
        this.settings = Objects.requireNonNull(settings, "settings");
        this.icecast = settings.icecast();
        this.sourceFront = settings.sourceFront();
        this.registry = registry;
        this.executor = DaemonThreads.scheduled("radiod-transcoders");
    }

    /** How long a transcoder may go without a link to the master before its node gives it up, for a lease TTL. */
    static Duration noLinkGrace(Duration ttl) {
        Duration afterFailover = ttl.plusSeconds(5);
        return afterFailover.compareTo(NO_LINK_GRACE) > 0 ? afterFailover : NO_LINK_GRACE;
    }

    /** Begins the periodic look at elections and processes; views given before are acted on at the first. */
    @Override
    public void start() {
        lifecycle.start();
        executor.scheduleWithFixedDelay(this::sync, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
        requestSync();
    }

    /** Tell it about each new view; returns at once (cheap when nothing relevant changed). */
    public void viewChanged(ClusterSnapshot snapshot) {
        view = Objects.requireNonNull(snapshot);
        requestSync();
    }

    /** Mounts whose liquidsoap runs on this node right now, sorted. */
    public List<String> running() {
        return slots.values().stream()
                .filter(s -> s.process.isRunning() && s.election.isLeader())
                .map(s -> s.path)
                .sorted()
                .toList();
    }

    /** The file the script of a transcoded mount is written to, under the settings' directory. */
    public static String scriptFileName(String mountPath) {
        // '+' cannot occur in a mount path, so the name is unique and still readable: /a/b.mp3 -> a+b.mp3.liq
        return mountPath.substring(1).replace('/', '+') + ".liq";
    }

    private void requestSync() {
        if (!lifecycle.isStarted() || !syncQueued.compareAndSet(false, true)) {
            return;
        }
        try {
            executor.execute(() -> {
                syncQueued.set(false);
                sync();
            });
        } catch (RejectedExecutionException e) {
            syncQueued.set(false); // closing
        }
    }

    private void sync() {
        if (!lifecycle.isStarted()) {
            return;
        }
        try {
            ClusterSnapshot v = view;
            Map<String, Mount> wanted = new LinkedHashMap<>();
            v.mounts().values().stream().filter(Mount::isTranscoded).forEach(m -> wanted.put(m.path(), m));
            for (Iterator<Slot> it = slots.values().iterator(); it.hasNext(); ) {
                Slot slot = it.next();
                if (!wanted.containsKey(slot.path)) {
                    log.info("transcoder {}: the mount is gone or no longer transcoded; stopping and leaving its election", slot.path);
                    it.remove();
                    retire(List.of(slot));
                }
            }
            for (Mount m : wanted.values()) {
                Slot slot = slots.get(m.path());
                if (slot == null) {
                    slot = new Slot(m);
                    slots.put(m.path(), slot);
                    slot.election.start();
                }
                slot.definition = m;
                reconcile(slot);
            }
        } catch (RuntimeException e) {
            log.error("transcoders: sync failed", e);
        }
    }

    /**
     * Runs or stops the slot's liquidsoap. The script depends on the mount's definition only (not on the
     * master), so re-rendering it for a new view leaves a running liquidsoap alone unless the mount changed.
     */
    private void reconcile(Slot slot) {
        String why = null;
        if (!slot.election.isLeader()) {
            why = "this node no longer holds " + slot.election.key();
        } else if (slot.heldOff && System.nanoTime() - slot.heldOffUntilNanos < 0) {
            why = "this node gave up on it";
        }
        if (why != null) {
            if (slot.process.isWanted()) {
                log.info("transcoder {}: stopping liquidsoap: {}", slot.path, why);
            }
            slot.process.stop();
            return;
        }
        slot.heldOff = false;
        long now = System.nanoTime();
        if (!slot.process.isWanted()) {
            slot.wantedSinceNanos = now;
        }
        long down = masterLinkDownSince.getAsLong();
        if (down != -1 && now - Math.max(down, slot.wantedSinceNanos) > noLinkGrace.toNanos()) {
            giveUp(slot, "this node has had no link to the master for " + noLinkGrace.toSeconds()
                    + " s (its input does not come, its output reaches no one)");
            return;
        }
        String script;
        try {
            script = LiquidsoapScript.render(slot.definition, icecast, sourceFront, pid);
        } catch (IllegalArgumentException e) {
            log.error("transcoder {}: cannot run: {}", slot.path, e.getMessage());
            return;
        }
        // The leader check and the start are one step under the process's lock, which deposed()'s stop takes after
        // the election stopped saying leader: a deposition between them would otherwise start liquidsoap again, and
        // only the next sync would stop it, with the 2 s grace rather than the fence's 300 ms.
        slot.process.runIf(slot.election::isLeader, script);
    }

    /** On the executor: the transcoder cannot work here ({@code why}), so let another node try. */
    private void giveUp(Slot slot, String why) {
        if (slots.get(slot.path) != slot) {
            return;
        }
        log.warn("transcoder {}: {}; resigning {} for {} s so that another node can try", slot.path, why,
                slot.election.key(), GIVE_UP_HOLD_OFF.toSeconds());
        slot.heldOff = true;
        slot.heldOffUntilNanos = System.nanoTime() + GIVE_UP_HOLD_OFF.toNanos();
        // The election goes only once liquidsoap has exited, so that no two ever run (one that crashed has already);
        // one that does not exit in time is left to the lease, which still fences it, as retire() does.
        slot.process.stop().orTimeout(settings.restarts().stopGrace().toMillis() + 2000, TimeUnit.MILLISECONDS)
                .whenComplete((v, e) -> resignGivenUp(slot));
    }

    /** Once the given-up slot's liquidsoap has exited (or was given the time to): its election goes, on the executor. */
    private void resignGivenUp(Slot slot) {
        try {
            executor.execute(() -> {
                if (slots.get(slot.path) == slot) {
                    slot.election.resign(GIVE_UP_HOLD_OFF);
                }
            });
        } catch (RejectedExecutionException closing) {
            // closing: retire() releases the election
        }
    }

    /** Stops the slots' liquidsoaps, waits for them to exit, then releases their elections (so no two ever overlap). */
    private void retire(List<Slot> retired) {
        List<CompletableFuture<Void>> stopped = retired.stream().map(s -> s.process.stop()).toList();
        try {
            CompletableFuture.allOf(stopped.toArray(CompletableFuture[]::new))
                    .get(settings.restarts().stopGrace().toMillis() + 2000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            log.warn("transcoders: liquidsoap did not exit in time ({}); releasing the elections anyway: the lease "
                    + "still fences them", e.toString());
        }
        // All resign at once and are waited for together, bounded once: no thread per election.
        Candidate.closeAll(retired.stream().map(s -> s.election).toList());
        for (Slot s : retired) {
            registry.remove(s.restarts);
            registry.remove(s.running);
        }
    }

    /** Stops every liquidsoap, waits for them to exit, and releases every election. */
    @Override
    public void close() {
        if (!lifecycle.close()) {
            return;
        }
        try {
            executor.submit(() -> {
                List<Slot> all = new ArrayList<>(slots.values());
                slots.clear();
                retire(all);
            }).get(settings.restarts().stopGrace().toMillis() + 10_000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            log.warn("transcoders: close: {}", e.toString());
        }
        DaemonThreads.stop(executor, Duration.ofSeconds(1));
    }
}
