package radiod.cluster.watch;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import radiod.cluster.etcd.EtcdConnection;
import radiod.cluster.etcd.EtcdErrors;
import radiod.lifecycle.Component;
import radiod.lifecycle.Lifecycle;
import radiod.lifecycle.Steps;

/**
 * One supervised etcd watch on a key or a prefix: a read gives the whole picture at a revision, then a watch from the
 * revision after it delivers what changes, in order.
 *
 * <p>Invariant: the listener sees a full picture ({@link Listener#resynced}) and then only the events that follow it,
 * each once and in revision order, until the next full picture. Whenever the watch cannot be trusted to go on from
 * where it is (it failed, it completed, etcd compacted the revision it needed, or it went silent and a progress request
 * did not bring it back) the key is read again and watched from the revision after that read.
 *
 * <p>Re-reads back off: each one that follows a failure waits longer than the one before ({@link Backoff}: doubling
 * from {@link Timing#backoffInitial()} to {@link Timing#backoffCap()}, jittered), and the delay starts over only once
 * a watch that has lasted {@link Timing#stable()} is heard from. Every call to etcd has a timeout.
 *
 * <p>Runs on a scheduler it is given, shared with the node's other watches and elections, which must be a single thread
 * (events are delivered in order because they are handed over in order to that one thread). The listener is called on
 * it: keep it quick.
 */
public final class KeyWatch implements Component {
    /** Told, on the scheduler's thread, what is under the key. */
    public interface Listener {
        /** Everything under the key at {@code revision}: replaces all that was known before. */
        void resynced(List<KeyValue> kvs, long revision);

        /** What changed since the last delivery, in order; {@code revision} is at least that of the last event. */
        void changed(List<WatchEvent> events, long revision);

        /** A re-read is due in {@code delayMillis} because of {@code why}. */
        default void retrying(long delayMillis, String why) {
        }
    }

    /** How fast silence is noticed, how long a call may take, and how re-reads back off. */
    public record Timing(Duration callTimeout, Duration progressAfter, Duration resyncAfter, Duration backoffInitial,
                         Duration backoffCap, Duration stable) {
        public Timing {
            if (progressAfter.compareTo(resyncAfter) >= 0) {
                throw new IllegalArgumentException("a watch must ask for progress (after " + progressAfter
                        + ") before it gives up on a silent watch (after " + resyncAfter + ")");
            }
        }

        /** For a busy prefix that must be current within a second or two: the cluster view's. */
        public static Timing busy(Duration callTimeout) {
            return new Timing(callTimeout, Duration.ofMillis(1500), Duration.ofMillis(4000), Duration.ofMillis(100),
                    Duration.ofMillis(5000), Duration.ofMillis(3000));
        }

        /**
         * For a key that rarely changes, watched by every node (an election's): a progress request is a message to
         * etcd from each node and each election, so silence is checked every 10 s, not every second and a half.
         */
        public static Timing quiet(Duration callTimeout) {
            return new Timing(callTimeout, Duration.ofSeconds(10), Duration.ofSeconds(25), Duration.ofMillis(100),
                    Duration.ofMillis(5000), Duration.ofMillis(3000));
        }

        long checkEveryMillis() {
            return Math.max(50, progressAfter.toMillis() / 3);
        }
    }

    private static final Logger log = LoggerFactory.getLogger(KeyWatch.class);

    private final Client client;
    private final ByteSequence key;
    private final boolean prefix;
    private final String name;
    private final Steps steps;
    private final Timing timing;
    private final Listener listener;
    private final LongSupplier clock;
    private final Backoff backoff;
    private final Lifecycle lifecycle;
    /**
     * Reads again at once when the node's etcd client is rebuilt (other members, or renewed: the old one's watch is
     * gone); when etcd answers again after an outage, a re-read that failed meanwhile, or is still waiting for its
     * answer, is done again now.
     */
    private final Runnable onReconnect = this::resyncSoon;
    /** Reads again now when etcd answers again on the same client, unless the watch works. */
    private final Runnable onAnswersAgain = this::readNowIfNotWatching;

    // Owned by the scheduler's thread:
    private Watch.Watcher watcher;
    private ScheduledFuture<?> watchdog;
    private long generation;
    private long revision;
    private long lastHeardNanos;
    private long watchingSinceNanos;
    private boolean progressRequested;
    private boolean resyncScheduled;
    /** A read has been sent and its answer (or failure) not yet taken in. */
    private boolean reading;
    /**
     * The re-read waiting out its delay, cancelled when one is brought forward or the watch closes (on the scheduler's
     * one thread, so a cancelled one cannot be running).
     */
    private ScheduledFuture<?> pendingResync;
    private volatile long resyncs;
    private volatile long resyncAttempts;

    /** Watches {@code key} alone, or every key that starts with it if {@code prefix}. */
    public KeyWatch(Client client, ByteSequence key, boolean prefix, ScheduledExecutorService scheduler, Timing timing,
                    Listener listener) {
        this(client, key, prefix, scheduler, timing, listener, System::nanoTime,
                () -> ThreadLocalRandom.current().nextDouble());
    }

    /**
     * @param clock  monotonic nanoseconds, as {@link System#nanoTime()}
     * @param random uniform in [0, 1), the backoff's jitter
     */
    KeyWatch(Client client, ByteSequence key, boolean prefix, ScheduledExecutorService scheduler, Timing timing,
             Listener listener, LongSupplier clock, DoubleSupplier random) {
        this.client = client;
        this.key = key;
        this.prefix = prefix;
        this.name = key.toString(StandardCharsets.UTF_8) + (prefix ? "*" : "");
        this.steps = new Steps(scheduler, "watch " + name);
        this.timing = timing;
        this.listener = listener;
        this.clock = clock;
        this.backoff = new Backoff(timing.backoffInitial().toMillis(), timing.backoffCap().toMillis(), random);
        this.lifecycle = new Lifecycle("watch " + name);
    }

    /** Starts reading and watching; returns at once. */
    @Override
    public void start() {
        lifecycle.start();
        if (client instanceof EtcdConnection connection) {
            connection.onReconnect(onReconnect);
            connection.onAnswersAgain(onAnswersAgain);
        }
        steps.post(() -> {
            watchdog = steps.every(timing.checkEveryMillis(), this::watchdog).orElse(null);
            resync();
        });
    }

    /** How many times the key was read and a watch started from it (the first read included). */
    public long resyncs() {
        return resyncs;
    }

    /** How many times a read was tried, failed tries included. */
    public long resyncAttempts() {
        return resyncAttempts;
    }

    /**
     * Reads again now, e.g. after etcd was found reachable again (a new client): a re-read already waiting out its
     * backoff is brought forward, not waited for.
     */
    public void resyncSoon() {
        steps.post(() -> {
            dropPendingResync();
            scheduleResync(0);
        });
    }

    /**
     * A re-read waiting out its backoff is done now, and so is one still waiting for its answer: that read was sent
     * while etcd did not answer (a member without a leader holds it), so it may fail only at its timeout and then
     * back off, seconds after etcd answers; a new read supersedes it (its answer, if it comes, is dropped). A watch
     * that works is left alone.
     */
    private void readNowIfNotWatching() {
        steps.post(() -> {
            if (resyncScheduled) {
                dropPendingResync();
                scheduleResync(0);
            } else if (reading && lifecycle.isStarted()) {
                log.info("watch {}: etcd answers again while a read is out; reading again now", name);
                resync();
            }
        });
    }

    private void resync() {
        resyncScheduled = false;
        if (!lifecycle.isStarted()) {
            return;
        }
        long gen = ++generation;
        closeWatcher();
        resyncAttempts++;
        reading = true;
        GetOption options = prefix ? GetOption.builder().isPrefix(true).build() : GetOption.DEFAULT;
        timed(client.getKVClient().get(key, options))
                .whenComplete((r, e) -> steps.post(() -> read(gen, r, e)));
    }

    private void read(long gen, GetResponse response, Throwable error) {
        if (gen != generation || !lifecycle.isStarted()) {
            return;
        }
        reading = false;
        if (error != null) {
            retry("reading failed: " + describe(error));
            return;
        }
        resyncs++;
        revision = response.getHeader().getRevision();
        deliver(() -> listener.resynced(response.getKvs(), revision));
        lastHeardNanos = clock.getAsLong();
        watchingSinceNanos = lastHeardNanos;
        progressRequested = false;
        WatchOption.Builder options = WatchOption.builder().withRevision(revision + 1).withRequireLeader(true);
        if (prefix) {
            options.isPrefix(true);
        }
        try {
            watcher = client.getWatchClient().watch(key, options.build(), Watch.listener(
                    r -> steps.post(() -> watched(gen, r)),
                    e -> steps.post(() -> ended(gen, e)),
                    () -> steps.post(() -> ended(gen, null))));
        } catch (RuntimeException e) {
            retry("cannot watch: " + describe(e));
        }
    }

    private void watched(long gen, WatchResponse response) {
        if (gen != generation || !lifecycle.isStarted()) {
            return;
        }
        lastHeardNanos = clock.getAsLong();
        progressRequested = false;
        if (lastHeardNanos - watchingSinceNanos >= timing.stable().toNanos()) {
            backoff.reset(); // the watch works, and not just for a moment
        }
        List<WatchEvent> fresh = new ArrayList<>(response.getEvents().size());
        long last = revision;
        for (WatchEvent event : response.getEvents()) {
            long modRevision = event.getKeyValue().getModRevision();
            if (modRevision > revision) {
                fresh.add(event);
                last = Math.max(last, modRevision);
            }
        }
        if (fresh.isEmpty()) {
            return;
        }
        // The events' own revisions, not the header's: a watch catching up from far behind gets its events in
        // batches of 1,000 revisions, each under a header naming etcd's current revision (etcd 3.4's syncWatchers);
        // taken as read, it would drop every batch after the first as old news.
        revision = last;
        long at = revision;
        deliver(() -> listener.changed(List.copyOf(fresh), at));
    }

    private void ended(long gen, Throwable error) {
        if (gen != generation || !lifecycle.isStarted()) {
            return;
        }
        if (error == null) {
            retry("the watch completed");
        } else if (EtcdErrors.isCompacted(error)) {
            retry("etcd compacted the revisions the watch needed");
        } else {
            retry("the watch failed: " + describe(error));
        }
    }

    private void watchdog() {
        if (!lifecycle.isStarted() || resyncScheduled || watcher == null) {
            return;
        }
        long silentMillis = TimeUnit.NANOSECONDS.toMillis(clock.getAsLong() - lastHeardNanos);
        if (silentMillis > timing.resyncAfter().toMillis()) {
            retry("the watch was silent for " + silentMillis + " ms");
        } else if (silentMillis > timing.progressAfter().toMillis() && !progressRequested) {
            progressRequested = true;
            try {
                watcher.requestProgress();
            } catch (RuntimeException e) {
                retry("cannot ask for progress: " + describe(e));
            }
        }
    }

    /** Schedules a re-read after a failure, backing off (unless one is scheduled already). */
    private void retry(String why) {
        if (resyncScheduled || !lifecycle.isStarted()) {
            return;
        }
        long delay = backoff.next();
        scheduleResync(delay);
        log.info("watch {}: {} (last revision {}); reading again in {} ms", name, why, revision, delay);
        deliver(() -> listener.retrying(delay, why));
    }

    private void scheduleResync(long delayMillis) {
        if (resyncScheduled || !lifecycle.isStarted()) {
            return;
        }
        resyncScheduled = true;
        pendingResync = steps.after(delayMillis, () -> {
            pendingResync = null;
            resync();
        }).orElse(null);
    }

    /** Cancels the re-read waiting out its delay, if any. */
    private void dropPendingResync() {
        resyncScheduled = false;
        if (pendingResync != null) {
            pendingResync.cancel(false);
            pendingResync = null;
        }
    }

    private <T> CompletableFuture<T> timed(CompletableFuture<T> call) {
        return call.orTimeout(timing.callTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    private void deliver(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            log.error("watch {}: listener failed", name, e);
        }
    }

    /** Closes the watch and ends its stream (jetcd's close alone leaves the stream open: {@link WatchStreams}). */
    private void closeWatcher() {
        if (watcher != null) {
            WatchStreams.close(watcher);
            watcher = null;
        }
    }

    private static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        return root.getClass().getSimpleName() + (m == null ? "" : ": " + m.lines().findFirst().orElse(""));
    }

    /** Stops watching; no listener call starts after it returns on the scheduler's thread. */
    @Override
    public void close() {
        if (!lifecycle.close()) {
            return;
        }
        if (client instanceof EtcdConnection connection) {
            connection.removeReconnectListener(onReconnect);
            connection.removeAnswersAgainListener(onAnswersAgain);
        }
        Runnable stop = () -> {
            generation++;
            closeWatcher();
            dropPendingResync();
            if (watchdog != null) {
                watchdog.cancel(false);
            }
        };
        if (!steps.post(stop)) {
            stop.run(); // no scheduler thread to race with any more
        }
    }

    @Override
    public String toString() {
        return lifecycle.toString();
    }
}
