package radiod.cluster.view;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdUnavailableException;
import radiod.cluster.etcd.Keys;

/**
 * An in-memory copy of everything under radiod's prefix, kept current by one watch.
 *
 * <p>Invariant: {@link #current()} is always a complete picture at one revision. The watch is supervised:
 * on an error, a completion (compaction, etcd restart), or silence that a progress request does not break,
 * the view reads the whole prefix again and watches from the revision after that read. Readers never wait
 * for etcd; while etcd is away they keep the last picture.
 *
 * <p>Re-reads back off: each one that follows a failure (a read or watch that failed, a watch that ended or went
 * silent) waits longer than the one before, exponentially from {@link #BACKOFF_INITIAL_MILLIS} to
 * {@link #BACKOFF_CAP_MILLIS}, with jitter so that nodes that lost etcd together do not come back in step. The delay
 * starts over once a watch that has lasted {@link #STABLE_MILLIS} is heard from (events or a progress notification),
 * not merely after a read succeeds: a read that works followed by a watch that ends soon after is still a failure. So
 * an unhealthy etcd sees at most one read of the whole prefix per {@code BACKOFF_CAP_MILLIS / 2} from each node.
 */
public final class ClusterView implements AutoCloseable {
    /** Told, on the view's thread, about each new snapshot. Keep it quick. */
    public interface Listener {
        void changed(ClusterSnapshot snapshot);
    }

    private static final Logger log = LoggerFactory.getLogger(ClusterView.class);
    private static final long WATCHDOG_MILLIS = 500;
    private static final long PROGRESS_AFTER_MILLIS = 1500;
    private static final long RESYNC_AFTER_MILLIS = 4000;
    static final long BACKOFF_INITIAL_MILLIS = 100;
    static final long BACKOFF_CAP_MILLIS = 5000;
    static final long STABLE_MILLIS = 3000;

    private final Client client;
    private final Keys keys;
    private final Duration callTimeout;
    private final ScheduledExecutorService thread;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final ViewState state = new ViewState();
    private final Backoff backoff = Backoff.of(BACKOFF_INITIAL_MILLIS, BACKOFF_CAP_MILLIS);

    private volatile ClusterSnapshot current = ClusterSnapshot.EMPTY;
    // Owned by the view thread:
    private Watch.Watcher watcher;
    private long generation;
    private long lastHeardNanos;
    private long watchingSinceNanos;
    private boolean progressRequested;
    private boolean resyncScheduled;
    private volatile long resyncs;
    private volatile long resyncAttempts;
    private volatile boolean closed;

    public ClusterView(Client client, Keys keys, Duration callTimeout) {
        this.client = client;
        this.keys = keys;
        this.callTimeout = callTimeout;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "radiod-view");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts reading and watching; returns at once. */
    public ClusterView start() {
        thread.execute(this::resync);
        thread.scheduleWithFixedDelay(this::watchdog, WATCHDOG_MILLIS, WATCHDOG_MILLIS, TimeUnit.MILLISECONDS);
        return this;
    }

    /** The latest complete picture: a volatile read, never a round trip. */
    public ClusterSnapshot current() {
        return current;
    }

    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    /** How many times the view re-read the prefix (the first read included). */
    public long resyncs() {
        return resyncs;
    }

    /** How many times the view tried to read the prefix, failed tries included. */
    public long resyncAttempts() {
        return resyncAttempts;
    }

    /** Forces a re-read of the whole prefix, e.g. after etcd was found reachable again. */
    public void resyncSoon() {
        thread.execute(() -> scheduleResync(0));
    }

    private void resync() {
        resyncScheduled = false;
        if (closed) {
            return;
        }
        generation++;
        if (watcher != null) {
            watcher.close();
            watcher = null;
        }
        GetResponse response;
        resyncAttempts++;
        try {
            response = EtcdClients.await(
                    client.getKVClient().get(keys.all(), GetOption.builder().isPrefix(true).build()),
                    callTimeout.toMillis(), "reading " + keys.prefix());
        } catch (EtcdUnavailableException e) {
            log.warn("cluster view: {}; keeping the last view (revision {}) and retrying in {} ms", e.getMessage(),
                    current.revision(), scheduleRetry());
            return;
        }
        resyncs++;
        state.clear();
        Snapshots.fold(state, keys, response);
        long revision = response.getHeader().getRevision();
        publish(state.snapshot(revision));
        long gen = generation;
        lastHeardNanos = System.nanoTime();
        watchingSinceNanos = lastHeardNanos;
        progressRequested = false;
        try {
            watcher = client.getWatchClient().watch(keys.all(),
                    WatchOption.builder().isPrefix(true).withRevision(revision + 1).withRequireLeader(true).build(),
                    Watch.listener(
                            r -> thread.execute(() -> onWatch(gen, r)),
                            e -> thread.execute(() -> onWatchEnd(gen, e)),
                            () -> thread.execute(() -> onWatchEnd(gen, null))));
        } catch (RuntimeException e) {
            log.warn("cluster view: cannot watch {}: {}", keys.prefix(), e.getMessage());
            scheduleRetry();
        }
        log.debug("cluster view resynced at revision {}", revision);
    }

    private void onWatch(long gen, WatchResponse response) {
        if (gen != generation || closed) {
            return;
        }
        lastHeardNanos = System.nanoTime();
        progressRequested = false;
        if (lastHeardNanos - watchingSinceNanos >= TimeUnit.MILLISECONDS.toNanos(STABLE_MILLIS)) {
            backoff.reset(); // the watch works, and not just for a moment
        }
        List<WatchEvent> events = response.getEvents();
        if (events.isEmpty()) {
            return;
        }
        long revision = current.revision();
        for (WatchEvent event : events) {
            long modRevision = event.getKeyValue().getModRevision();
            if (modRevision <= current.revision()) {
                continue;
            }
            revision = Math.max(revision, modRevision);
            keys.relative(event.getKeyValue().getKey()).ifPresent(rel -> {
                if (event.getEventType() == WatchEvent.EventType.PUT) {
                    state.put(rel, event.getKeyValue().getValue().getBytes(), modRevision);
                } else if (event.getEventType() == WatchEvent.EventType.DELETE) {
                    state.delete(rel);
                }
            });
        }
        publish(state.snapshot(Math.max(revision, response.getHeader().getRevision())));
    }

    private void onWatchEnd(long gen, Throwable error) {
        if (gen != generation || closed) {
            return;
        }
        long delay = scheduleRetry();
        log.info("cluster view: watch ended ({}); resyncing in {} ms", error == null ? "completed" : error.getMessage(),
                delay);
    }

    private void watchdog() {
        if (closed || resyncScheduled || watcher == null) {
            return;
        }
        long silent = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastHeardNanos);
        if (silent > RESYNC_AFTER_MILLIS) {
            log.info("cluster view: watch silent for {} ms; resyncing in {} ms", silent, scheduleRetry());
        } else if (silent > PROGRESS_AFTER_MILLIS && !progressRequested) {
            progressRequested = true;
            try {
                watcher.requestProgress();
            } catch (RuntimeException e) {
                scheduleRetry();
            }
        }
    }

    /** Schedules a re-read after a failure, backing off; returns the delay, or -1 if one is scheduled already. */
    private long scheduleRetry() {
        if (resyncScheduled || closed) {
            return -1;
        }
        long delay = backoff.next();
        scheduleResync(delay);
        return delay;
    }

    private void scheduleResync(long delayMillis) {
        if (resyncScheduled || closed) {
            return;
        }
        resyncScheduled = true;
        thread.schedule(this::resync, delayMillis, TimeUnit.MILLISECONDS);
    }

    private void publish(ClusterSnapshot snapshot) {
        current = snapshot;
        for (Listener l : listeners) {
            try {
                l.changed(snapshot);
            } catch (RuntimeException e) {
                log.error("cluster view listener failed", e);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.execute(() -> {
            if (watcher != null) {
                watcher.close();
                watcher = null;
            }
        });
        thread.shutdown();
        try {
            thread.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
