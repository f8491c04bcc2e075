package radiod.cluster.election;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.etcd.jetcd.ByteSequence;
import radiod.cluster.etcd.EtcdSession;
import radiod.lifecycle.Component;
import radiod.lifecycle.Lifecycle;
import radiod.lifecycle.Steps;

/**
 * A node's candidacy for one key: the policy around an {@link Election}, as Curator's LeaderSelector wraps its
 * LeaderLatch. It runs an election while the node is eligible and not holding off; made ineligible (drained), or told to
 * {@link #resign(Duration)} (a transcoder that keeps crashing here), it closes that election (resigning the key at once
 * so another node takes it) and, when it may run again, starts a fresh one.
 *
 * <p>Life: LATENT, STARTED once, CLOSED for good. Its steps run on the session's scheduler.
 */
public final class Candidate implements Component {
    private static final Logger log = LoggerFactory.getLogger(Candidate.class);

    private final String name;
    private final Supplier<Election> elections;
    private final Steps steps;
    private final Lifecycle lifecycle;

    private volatile boolean eligible = true;
    private volatile long holdOffUntilNanos;
    /** The running election, if any; replaced on the scheduler's thread (and cleared by close). */
    private volatile Election election;
    /** The last election closed: the next one starts only once it has given back what it held (on the scheduler). */
    private CompletableFuture<Void> previous = CompletableFuture.completedFuture(null);
    private boolean waitingForPrevious;
    private ScheduledFuture<?> comeBack;
    /** Completed once the election running at the first {@link #closeAsync}, if any, has given back what it held. */
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    /** How long a close waits for that: the closed election's bound; 0 when none was running. */
    private volatile long closeWaitMillis;

    public Candidate(EtcdSession session, ByteSequence key, Supplier<byte[]> value, Election.Listener listener) {
        this.name = key.toString(StandardCharsets.UTF_8);
        this.elections = () -> new Election(session, key, value, listener);
        this.steps = new Steps(session.scheduler(), "candidate for " + name);
        this.lifecycle = new Lifecycle("candidate for " + name);
        this.holdOffUntilNanos = System.nanoTime();
    }

    @Override
    public void start() {
        lifecycle.start();
        steps.post(this::reconsider);
    }

    /** Whether this node holds the key right now. */
    public boolean isLeader() {
        Election e = election;
        return e != null && e.isLeader();
    }

    /** The key, e.g. {@code /radiod/master}. */
    public String key() {
        return name;
    }

    /**
     * Whether to run at all. A node that is not eligible (e.g. drained) resigns if it holds the key and does not run
     * until made eligible again. Cheap to call with an unchanged value.
     */
    public void setEligible(boolean eligible) {
        if (this.eligible == eligible) {
            return;
        }
        this.eligible = eligible;
        steps.post(this::reconsider);
    }

    /** Gives the key up now and does not run again for {@code holdOff}, so another node can try. */
    public void resign(Duration holdOff) {
        holdOffUntilNanos = System.nanoTime() + holdOff.toNanos();
        steps.post(this::reconsider);
    }

    /** Starts or stops the election as the policy says; on the scheduler's thread. */
    private void reconsider() {
        if (!lifecycle.isStarted()) {
            return;
        }
        long wait = holdOffUntilNanos - System.nanoTime();
        boolean run = eligible && wait <= 0;
        Election current = election;
        if (run && current == null && !previous.isDone()) {
            // The election closed last is still giving its key back: one election of this node at a time, so that the
            // next never takes a key the last one is deleting for its own (two masters until its watch said so).
            if (!waitingForPrevious) {
                waitingForPrevious = true;
                previous.whenComplete((v, e) -> steps.post(() -> {
                    waitingForPrevious = false;
                    reconsider();
                }));
            }
        } else if (run && current == null) {
            Election e = elections.get();
            election = e;
            e.start();
            if (!lifecycle.isStarted()) {
                e.close(); // closed meanwhile, perhaps before close() could see this election
            }
        } else if (!run && current != null) {
            election = null;
            log.info("{}: standing aside ({})", name, eligible ? "holding off" : "not eligible");
            previous = current.closeAsync();
        }
        if (eligible && wait > 0 && comeBack == null) {
            comeBack = steps.after(TimeUnit.NANOSECONDS.toMillis(wait) + 1, () -> {
                comeBack = null;
                reconsider();
            }).orElse(null);
        }
    }

    /**
     * Resigns at once if elected (the key is deleted, not left to expire) and stops running, without waiting: completes
     * when the running election, if any, has given back what it held (see {@link Election#closeAsync}). Calls after the
     * first get the same future.
     */
    public CompletableFuture<Void> closeAsync() {
        if (lifecycle.close()) {
            Election e = election;
            election = null;
            if (e == null) {
                closed.complete(null);
            } else {
                closeWaitMillis = e.closeWaitMillis();
                e.closeAsync().whenComplete((v, x) -> closed.complete(null));
            }
        }
        return closed;
    }

    /** As {@link #closeAsync}, waiting for etcd as {@link Election#close} does, bounded. */
    @Override
    public void close() {
        closeAll(List.of(this));
    }

    /**
     * Closes them all at once and waits for their resignations together, bounded as one {@link #close()} is: when etcd
     * does not answer, a node retiring many candidates waits that bound once, not once for each.
     */
    public static void closeAll(Collection<Candidate> candidates) {
        CompletableFuture<?>[] done = candidates.stream().map(Candidate::closeAsync).toArray(CompletableFuture[]::new);
        long wait = candidates.stream().mapToLong(c -> c.closeWaitMillis).max().orElse(0);
        try {
            CompletableFuture.allOf(done).get(wait, TimeUnit.MILLISECONDS);
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException | ExecutionException x) {
            log.debug("closing {} candidate(s): {}", done.length, x.toString());
        }
    }

    @Override
    public String toString() {
        return lifecycle.toString();
    }
}
