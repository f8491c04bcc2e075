package radiod.controller.node;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import radiod.cluster.model.Title;
import radiod.cluster.mounts.TitleStore;
import radiod.redirector.source.TitleDesk;

/**
 * This node's writer of song titles to etcd ({@code titles/<mount>}), where every node reads them from its view.
 * Per mount, one write is in flight at a time, at most one every {@link #MIN_SPACING_MILLIS}; updates arriving
 * meanwhile are folded into the next write (the latest title wins, and every waiting encoder is answered when it
 * is written). So an encoder that floods titles costs etcd at most a few writes a second, and a station changing
 * songs every few minutes costs nothing worth counting.
 */
final class NodeTitles implements TitleDesk {
    private static final Logger log = LoggerFactory.getLogger(NodeTitles.class);
    static final long MIN_SPACING_MILLIS = 250;

    private final TitleStore store;
    private final String node;
    /** The session this node carries for a mount, when the encoder is not on this node; empty if none. */
    private final Function<String, String> carriedSession;
    /** The sessions nodes list as their encoders' for a mount (the view). */
    private final Function<String, Set<String>> listedSessions;
    /** One per mount that has had a title from this node (a handful), kept for the spacing. */
    private final Map<String, Lane> lanes = new HashMap<>();

    private static final class Lane {
        boolean writing;
        long lastWriteMillis;
        Title next;
        CompletableFuture<Void> nextDone;
    }

    NodeTitles(TitleStore store, String node, Function<String, String> carriedSession,
               Function<String, Set<String>> listedSessions) {
        this.store = store;
        this.node = node;
        this.carriedSession = carriedSession;
        this.listedSessions = listedSessions;
    }

    /**
     * {@inheritDoc} An update from an encoder on another node is tied to the session this node carries while no node
     * lists another one for the mount (a node keeps the last session it carried after its encoder left), else to one
     * a node lists; knowing none (the encoder connected elsewhere a moment ago), to {@link Title#SOME_ENCODER}, never
     * to none: a title with no session is one set by hand, which nothing takes away.
     */
    @Override
    public CompletableFuture<Void> set(String mount, String title, String session) {
        String s = session;
        if (s.isEmpty()) {
            String carried = carriedSession.apply(mount);
            Set<String> listed = listedSessions.apply(mount);
            if (!carried.isEmpty() && (listed.isEmpty() || listed.contains(carried))) {
                s = carried;
            } else if (!listed.isEmpty()) {
                s = listed.stream().sorted().findFirst().orElseThrow();
            } else {
                s = Title.SOME_ENCODER;
            }
        }
        Title t = new Title(title, s, node, System.currentTimeMillis());
        synchronized (lanes) {
            Lane lane = lanes.computeIfAbsent(mount, m -> new Lane());
            lane.next = t;
            if (lane.nextDone == null) {
                lane.nextDone = new CompletableFuture<>();
            }
            CompletableFuture<Void> done = lane.nextDone;
            if (!lane.writing) {
                writeNext(mount, lane);
            }
            return done;
        }
    }

    /** Starts the lane's next write, after the spacing; called holding the lock. */
    private void writeNext(String mount, Lane lane) {
        Title t = lane.next;
        CompletableFuture<Void> done = lane.nextDone;
        lane.next = null;
        lane.nextDone = null;
        lane.writing = true;
        long wait = lane.lastWriteMillis + MIN_SPACING_MILLIS - System.currentTimeMillis();
        CompletableFuture<Void> start = wait <= 0 ? CompletableFuture.completedFuture(null)
                // Run on the JDK's delay thread itself: without an executor, a 2-core host would start a thread
                // ("Thread-N") for each spaced write.
                : CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(wait,
                java.util.concurrent.TimeUnit.MILLISECONDS, Runnable::run));
        start.thenCompose(v -> store.set(mount, t)).whenComplete((v, e) -> {
            if (e == null) {
                done.complete(null);
            } else {
                done.completeExceptionally(e);
            }
            synchronized (lanes) {
                lane.writing = false;
                lane.lastWriteMillis = System.currentTimeMillis();
                if (lane.next != null) {
                    writeNext(mount, lane);
                }
            }
        });
    }

    @Override
    public void gone(String mount, String session) {
        store.clearIfSession(mount, session).whenComplete((removed, e) -> {
            if (e != null) {
                log.warn("title of {} not removed after its encoder left: {}", mount, e.toString());
            } else if (removed) {
                log.info("title of {} removed: its encoder left", mount);
            }
        });
    }
}
