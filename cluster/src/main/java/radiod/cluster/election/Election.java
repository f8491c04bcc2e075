package radiod.cluster.election;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.watch.WatchEvent;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.watch.Backoff;
import radiod.cluster.watch.KeyWatch;
import radiod.lifecycle.Component;
import radiod.lifecycle.Lifecycle;
import radiod.lifecycle.Steps;

/**
 * Holds one key while this process is elected, as etcd's own election recipe does: one transaction creates the key
 * under the session's lease if it is absent (and otherwise reads who holds it); a loser then waits, on a
 * {@link KeyWatch} of the key, for the key to be deleted, and tries again. Nothing is sent to etcd at rest: the
 * leader's lease keep-alive is the heartbeat. Used for the {@code master} key, each {@code transcoders/<mount>} and the
 * ACME holder; eligibility and hold-off are the business of a {@link Candidate} around it.
 *
 * <p>Invariant: {@link #isLeader()} is true only while the key was created by this election under a lease that the
 * {@link EtcdSession} still vouches for, so a leader that cannot reach etcd stops being one before its lease can
 * expire; and a leader whose key its watch sees deleted or overwritten steps down at once.
 *
 * <p>Life: LATENT, STARTED once, CLOSED for good (closing resigns: the key is deleted at once if it is still the one
 * this election created). Runs on the session's scheduler, one thread for all the node's elections and watches.
 */
public final class Election implements Component, EtcdSession.Listener {
    /** Told on the session's scheduler, or on the session's thread when the lease is lost. Keep it quick. */
    public interface Listener {
        void elected();

        void deposed();
    }

    private static final Logger log = LoggerFactory.getLogger(Election.class);

    private final EtcdSession session;
    private final ByteSequence key;
    private final String name;
    private final Supplier<byte[]> value;
    private final Listener listener;
    private final Steps steps;
    private final Duration callTimeout;
    private final KeyWatch watch;
    private final Lifecycle lifecycle;

    /** Lease under which we hold the key; 0 when not leader. Set after {@link #heldRevision}. */
    private final AtomicLong heldUnder = new AtomicLong();
    /** The revision at which we created the key (it is never rewritten while we hold it). */
    private volatile long heldRevision;
    /**
     * The lease of the key this election last created, and the revision that created it: unlike {@link #heldUnder},
     * kept through a fence (etcd may still hold the key, and does for as long as the fenced lease is kept alive)
     * until the watch sees the key gone or a resign deletes it; 0 when there is none.
     */
    private long createdUnder;
    private long createdRevision;
    /** The key as the watch last saw it; null when absent. */
    private volatile KeyValue holder;
    // Owned by the scheduler's thread:
    private long seenRevision;
    private boolean campaigning;
    private boolean campaignAgain;
    /** The lease of a campaign that got no answer (its put may have been applied: a key under it is ours); or 0. */
    private long unansweredLease;
    /** Set once closed: completes when nothing this election put in etcd is left there (or its lease is gone). */
    private final AtomicReference<CompletableFuture<Void>> cleanedUp = new AtomicReference<>();
    private final Backoff retries = Backoff.of(100, 2000);
    private final Backoff resignRetries = Backoff.of(100, 2000);

    public Election(EtcdSession session, ByteSequence key, Supplier<byte[]> value, Listener listener) {
        this.session = session;
        this.key = key;
        this.name = key.toString(StandardCharsets.UTF_8);
        this.value = value;
        this.listener = listener;
        this.steps = new Steps(session.scheduler(), "election " + name);
        this.callTimeout = Duration.ofMillis(Math.max(500, session.ttl().toMillis() / 5));
        this.lifecycle = new Lifecycle("election " + name);
        this.watch = new KeyWatch(session.client(), key, false, session.scheduler(), KeyWatch.Timing.quiet(callTimeout),
                new KeyWatch.Listener() {
                    @Override
                    public void resynced(List<KeyValue> kvs, long revision) {
                        seen(kvs.isEmpty() ? null : kvs.get(0), revision);
                    }

                    @Override
                    public void changed(List<WatchEvent> events, long revision) {
                        WatchEvent last = events.get(events.size() - 1);
                        seen(last.getEventType() == WatchEvent.EventType.DELETE ? null : last.getKeyValue(), revision);
                    }
                });
    }

    /** Campaigns now, and again each time the key is seen deleted; returns at once. Throws if started before. */
    @Override
    public void start() {
        lifecycle.start();
        watch.start();
        session.addListener(this); // tells leaseGranted at once if a lease is held
        steps.post(this::campaign);
    }

    /** Whether this process holds the key right now (checked against the lease's validity at each call). */
    public boolean isLeader() {
        long lease = heldUnder.get();
        return lease != 0 && session.isValid(lease);
    }

    /** The leader's value as this election's watch last saw it (never a round trip); empty when no one holds it. */
    public Optional<ByteSequence> leader() {
        KeyValue kv = holder;
        return kv == null ? Optional.empty() : Optional.of(kv.getValue());
    }

    /** The key, e.g. {@code /radiod/master}. */
    public String key() {
        return name;
    }

    @Override
    public void leaseGranted(long leaseId) {
        steps.post(() -> {
            // A new lease is a new start: a campaign still out under the old one (which kept this one from being sent)
            // is followed within 100 ms of its failure, not after the backoff (up to 2 s) the outage grew.
            retries.reset();
            campaign();
        });
    }

    @Override
    public void leaseLost(long leaseId) {
        // At once, on the session's thread: the scheduler may be busy, and the lease may be about to expire.
        depose(leaseId, "lease lost", false);
    }

    /** One transaction: create the key under our lease if absent, else read it. On the scheduler's thread. */
    private void campaign() {
        if (!lifecycle.isStarted() || heldUnder.get() != 0 || campaigning) {
            return;
        }
        long lease = session.validLease().orElse(0);
        if (lease == 0) {
            return; // leaseGranted brings us back
        }
        campaigning = true;
        campaignAgain = false;
        session.client().getKVClient().txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.version(0)))
                .Then(Op.put(key, ByteSequence.from(value.get()), PutOption.builder().withLeaseId(lease).build()))
                .Else(Op.get(key, GetOption.DEFAULT))
                .commit()
                .orTimeout(callTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((r, e) -> steps.post(() -> campaigned(lease, r, e)));
    }

    private void campaigned(long lease, TxnResponse r, Throwable error) {
        campaigning = false;
        if (error != null) {
            unansweredLease = lease;
            if (lifecycle.isStarted()) {
                long delay = retries.next();
                log.debug("{}: campaign failed ({}); again in {} ms", name, error.toString(), delay);
                steps.after(delay, this::campaign);
            } else {
                cleanUp();
            }
            return;
        }
        retries.reset();
        long revision = r.getHeader().getRevision();
        boolean won = r.isSucceeded();
        if (!won && !r.getGetResponses().isEmpty() && !r.getGetResponses().get(0).getKvs().isEmpty()) {
            // Ours, under the same lease: a key this election created before a fence that did not outlast the lease,
            // or the put of a campaign whose answer was lost. Not a key another election of this node created (one
            // closed and still resigning it, when the node was drained and made eligible again at once).
            KeyValue kv = r.getGetResponses().get(0).getKvs().get(0);
            if (kv.getLease() == lease && (unansweredLease == lease || (kv.getModRevision() == createdRevision
                    && createdUnder == lease))) {
                won = true;
                revision = kv.getModRevision();
            }
        }
        unansweredLease = 0;
        if (!won) {
            if (!lifecycle.isStarted()) {
                cleanUp();
            } else if (campaignAgain && holder == null) {
                campaign(); // the watch saw the key go while we were asking
            }
            return;
        }
        createdRevision = revision;
        createdUnder = lease;
        if (!lifecycle.isStarted()) {
            cleanUp(); // closed meanwhile: give it straight back
            return;
        }
        if (!session.isValid(lease)) {
            resign(lease, revision, null); // the lease lost meanwhile: give it back
            return;
        }
        heldRevision = revision;
        heldUnder.set(lease);
        // closeAsync or leaseLost may have come between the checks above and the set, and found nothing held to
        // depose: this does it (never both: each takes heldUnder from the lease to 0). A close's posted cleanUp gives
        // the key back; a lost lease's key is given back here, as above.
        if (!lifecycle.isStarted()) {
            depose(lease, "closed", true);
            return;
        }
        if (!session.isValid(lease)) {
            depose(lease, "lease lost", false);
            resign(lease, revision, null);
            return;
        }
        log.info("elected: holding {}", name);
        listener.elected();
    }

    /** What the watch says is at the key now ({@code kv} null: absent), as of {@code revision}. */
    private void seen(KeyValue kv, long revision) {
        holder = kv;
        seenRevision = Math.max(seenRevision, revision);
        long created = createdUnder;
        if (created != 0 && seenRevision >= createdRevision
                && !(kv != null && kv.getLease() == created && kv.getModRevision() == createdRevision)) {
            createdUnder = 0; // the key this election created is gone: nothing left to resign
        }
        long lease = heldUnder.get();
        if (lease != 0) {
            // Only a picture at least as new as our own write can say the key is no longer ours.
            boolean ours = kv != null && kv.getLease() == lease && kv.getModRevision() == heldRevision;
            if (!ours && seenRevision >= heldRevision) {
                depose(lease, kv == null ? "the key was deleted" : "the key was overwritten", false);
            }
        } else if (kv == null) {
            if (campaigning) {
                campaignAgain = true;
            } else {
                campaign();
            }
        }
    }

    /** @param resigning given up on purpose (closed: a mount deleted, a node stopping), not taken away */
    private void depose(long lease, String why, boolean resigning) {
        if (lease == 0 || !heldUnder.compareAndSet(lease, 0)) {
            return;
        }
        if (resigning) {
            log.info("giving up {}: {}", name, why);
        } else {
            log.warn("deposed from {}: {}", name, why);
        }
        listener.deposed();
        steps.post(this::campaign); // a deleted key may be ours again at once; otherwise this loses and waits
    }

    /**
     * Deletes the key if it is still the one created at {@code revision} (the caller has deposed already), then
     * completes {@code done} (may be null). A call that gets no answer is sent again, with backoff, for as long as the
     * lease may hold the key: a lease kept alive would keep the role held by no one. On the scheduler's thread.
     */
    private void resign(long lease, long revision, CompletableFuture<Void> done) {
        if (heldUnder.get() == lease && heldRevision == revision) {
            complete(done); // won back meanwhile (a fence that passed): not to be given away now
            return;
        }
        session.client().getKVClient().txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(revision)))
                .Then(Op.delete(key, DeleteOption.DEFAULT))
                .commit()
                .orTimeout(callTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((r, e) -> {
                    if (!steps.post(() -> resigned(lease, revision, r, e, done))) {
                        complete(done); // the node is stopping: its lease goes with it
                    }
                });
    }

    private void resigned(long lease, long revision, TxnResponse r, Throwable error, CompletableFuture<Void> done) {
        if (error == null) {
            if (r.isSucceeded()) {
                log.info("resigned {}", name);
            }
            if (createdUnder == lease && createdRevision == revision) {
                createdUnder = 0;
            }
            complete(done);
        } else if (!session.mayHold(lease)) {
            log.info("{}: could not resign ({}); the lease is given up, and the key goes with it", name,
                    error.toString());
            complete(done);
        } else {
            long delay = resignRetries.next();
            log.warn("{}: could not resign ({}); trying again in {} ms (the lease lives on)", name, error.toString(),
                    delay);
            if (steps.after(delay, () -> resign(lease, revision, done)).isEmpty()) {
                complete(done);
            }
        }
    }

    /**
     * After a campaign of {@code lease} got no answer: reads the key and resigns it if it is under that lease (the
     * put was applied after all). On the scheduler's thread.
     */
    private void resignIfUnder(long lease, CompletableFuture<Void> done) {
        session.client().getKVClient().get(key)
                .orTimeout(callTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((r, e) -> {
                    boolean posted = steps.post(() -> {
                        if (e == null) {
                            Optional<KeyValue> kv = r.getKvs().stream().findFirst();
                            if (kv.isPresent() && kv.get().getLease() == lease) {
                                resign(lease, kv.get().getModRevision(), done);
                            } else {
                                complete(done);
                            }
                        } else if (!session.mayHold(lease)) {
                            complete(done);
                        } else if (steps.after(resignRetries.next(), () -> resignIfUnder(lease, done)).isEmpty()) {
                            complete(done);
                        }
                    });
                    if (!posted) {
                        complete(done);
                    }
                });
    }

    /**
     * Once closed, on the scheduler's thread: gives back the key this election created (even if a fence deposed it,
     * as the fenced lease may live on), or the one a campaign that got no answer may have put; waits for a
     * campaign still on its way first ({@link #campaigned} comes back here).
     */
    private void cleanUp() {
        CompletableFuture<Void> done = cleanedUp.get();
        if (done == null || done.isDone() || campaigning) {
            return;
        }
        if (createdUnder != 0) {
            resign(createdUnder, createdRevision, done);
        } else if (unansweredLease != 0) {
            resignIfUnder(unansweredLease, done);
        } else {
            done.complete(null);
        }
    }

    private static void complete(CompletableFuture<Void> done) {
        if (done != null) {
            done.complete(null);
        }
    }

    /**
     * Stops campaigning and resigns: deposes at once, then deletes the key if it is still the one this election
     * created (compared on the revision that created it), even when a fence deposed it before (the fenced lease may
     * live on), or the one a campaign that got no answer may have put. Completes when nothing of this election is
     * left in etcd, or its lease is gone; never fails. Calls after the first get the same future.
     */
    public CompletableFuture<Void> closeAsync() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (!cleanedUp.compareAndSet(null, done)) {
            return cleanedUp.get();
        }
        lifecycle.close();
        session.removeListener(this);
        watch.close();
        depose(heldUnder.get(), "closed", true);
        if (!steps.post(this::cleanUp)) {
            done.complete(null);
        }
        return done;
    }

    /** Resigns at once (the key is deleted, not left to expire) and stops campaigning; waits for etcd, bounded. */
    @Override
    public void close() {
        try {
            closeAsync().get(closeWaitMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            log.debug("{}: close: {}", name, e.toString());
        }
    }

    /** How long {@link #close} waits for etcd: a call's timeout and a second. */
    long closeWaitMillis() {
        return callTimeout.toMillis() + 1000;
    }

    @Override
    public String toString() {
        return lifecycle.toString();
    }
}
