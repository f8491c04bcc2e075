package radiod.cluster.view;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.watch.WatchEvent;
import radiod.cluster.etcd.Keys;
import radiod.cluster.watch.KeyWatch;
import radiod.lifecycle.DaemonThreads;
import radiod.lifecycle.Steps;

/**
 * An in-memory copy of everything under radiod's prefix, kept current by one {@link KeyWatch}.
 *
 * <p>Invariant: {@link #current()} is always a complete picture at one revision. The watch is supervised by the
 * {@link KeyWatch}: on an error, a completion (compaction, etcd restart), or silence that a progress request does not
 * break, it reads the whole prefix again (backing off, with jitter, while that keeps failing: at most one read of the
 * whole prefix per 2.5 s from each node once capped) and the view starts over from that read. Readers never wait for
 * etcd; while etcd is away they keep the last picture.
 */
public final class ClusterView implements AutoCloseable {
    /** Told, on the view's thread, about each new snapshot. Keep it quick. */
    public interface Listener {
        void changed(ClusterSnapshot snapshot);
    }

    private static final Logger log = LoggerFactory.getLogger(ClusterView.class);

    private final Keys keys;
    private final ScheduledExecutorService ownThread;
    private final KeyWatch watch;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    /** Changed on the watch's thread only. */
    private final ViewState state = new ViewState();

    private volatile ClusterSnapshot current = ClusterSnapshot.EMPTY;

    /** A view on a thread of its own. */
    public ClusterView(Client client, Keys keys, Duration callTimeout) {
        this(client, keys, callTimeout, DaemonThreads.scheduled("radiod-view"), true);
    }

    /** A view on the node's coordination scheduler (single-threaded), shared with its elections. */
    public ClusterView(Client client, Keys keys, Duration callTimeout, ScheduledExecutorService scheduler) {
        this(client, keys, callTimeout, scheduler, false);
    }

    private ClusterView(Client client, Keys keys, Duration callTimeout, ScheduledExecutorService scheduler, boolean own) {
        this.keys = keys;
        this.ownThread = own ? scheduler : null;
        this.watch = new KeyWatch(client, keys.all(), true, scheduler, KeyWatch.Timing.busy(callTimeout),
                new KeyWatch.Listener() {
                    @Override
                    public void resynced(List<KeyValue> kvs, long revision) {
                        reread(kvs, revision);
                    }

                    @Override
                    public void changed(List<WatchEvent> events, long revision) {
                        apply(events, revision);
                    }
                });
    }

    /** Starts reading and watching; returns at once. */
    public ClusterView start() {
        watch.start();
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
        return watch.resyncs();
    }

    /** How many times the view tried to read the prefix, failed tries included. */
    public long resyncAttempts() {
        return watch.resyncAttempts();
    }

    /** Forces a re-read of the whole prefix, e.g. after etcd was found reachable again. */
    public void resyncSoon() {
        watch.resyncSoon();
    }

    private void reread(List<KeyValue> kvs, long revision) {
        state.clear();
        Snapshots.fold(state, keys, kvs);
        publish(state.snapshot(revision));
        log.debug("cluster view resynced at revision {}", revision);
    }

    private void apply(List<WatchEvent> events, long revision) {
        for (WatchEvent event : events) {
            KeyValue kv = event.getKeyValue();
            keys.relative(kv.getKey()).ifPresent(rel -> {
                if (event.getEventType() == WatchEvent.EventType.PUT) {
                    state.put(rel, kv.getValue().getBytes(), kv.getModRevision());
                } else if (event.getEventType() == WatchEvent.EventType.DELETE) {
                    state.delete(rel);
                }
            });
        }
        publish(state.snapshot(revision));
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
        watch.close();
        if (ownThread != null) {
            Steps.finish(ownThread, Duration.ofSeconds(2)); // after the watch's closing step, queued just now
        }
    }
}
