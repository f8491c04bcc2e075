package radiod.cluster.etcd;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import radiod.lifecycle.DaemonThreads;
import radiod.lifecycle.Steps;

/**
 * The process's one etcd lease: granted, kept alive, and declared lost in time.
 *
 * <p>Invariant (fencing by time): {@link #validLease()} returns a lease only while it is certain that etcd
 * still holds it. Each keep-alive that succeeds proves the lease lives until at least the moment the request
 * was <em>sent</em> plus the TTL; the session stops vouching for the lease a safety margin before that, whether
 * or not its own thread got to run (a paused process sees the lease invalid the instant it wakes), and every
 * listener is told it is lost ({@link Listener#leaseLost}). It goes on sending keep-alives until the lease may have
 * expired (the last successful send plus the TTL): one that succeeds before then proves etcd held the lease
 * throughout, so it is vouched for again and the listeners are told {@link Listener#leaseGranted} with the same id
 * (an etcd leader election or a disk stall of a second or two costs a short fence, not the node's keys and roles).
 * Past that moment, or when etcd says it expired, the lease is revoked and a new one granted as soon as etcd answers.
 * A lease given up while etcd did not answer is revoked once it does (tried again with each grant and keep-alive):
 * etcd keeps a lease through its own restart and gives it a whole TTL again once it has a leader, so without that the
 * keys bound to it (this node's master key, say) would hold an election up for one TTL after etcd is back.
 *
 * <p>Keep-alives are sent one at a time with {@code keepAliveOnce} rather than through jetcd's streaming
 * keep-alive, so the send time of each success is known exactly.
 */
public final class EtcdSession implements AutoCloseable {
    /** Told on the session's thread; keep it quick. */
    public interface Listener {
        /**
         * A lease is held: a new one (rewrite whatever was bound to the old one), or the same one again after
         * {@link #leaseLost} when etcd turned out to have held it throughout (act on it again).
         */
        void leaseGranted(long leaseId);

        /** The lease can no longer be vouched for: stop acting on anything bound to it. */
        void leaseLost(long leaseId);
    }

    private static final Logger log = LoggerFactory.getLogger(EtcdSession.class);
    /**
     * The least time between the starts of two grants while etcd does not answer them, whatever the TTL: a node without
     * a lease holds nothing, and etcd turns a grant away cheaply while it has no quorum.
     */
    static final long GRANT_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
    /**
     * A first grant's timeout: the keep-alive period (TTL/5), but at least 1 s and at most 2 s; doubled after each
     * that timed out, up to the period.
     */
    static final long GRANT_TIMEOUT_MIN_MILLIS = 1000;
    static final long GRANT_TIMEOUT_MAX_MILLIS = 2000;
    /** While grants keep failing, a WARN line this often (DEBUG between). */
    static final long GRANT_WARN_EVERY_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final Client client;
    private final long ttlSeconds;
    private final long periodNanos;
    private final long marginNanos;
    private final long callTimeoutMillis;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final Thread thread;
    /** Local monotonic time in nanoseconds; {@link System#nanoTime()} but in tests. */
    private final LongSupplier clock;
    private final ScheduledExecutorService coordination = DaemonThreads.scheduled("radiod-coordination");

    private volatile long leaseId;
    /** Local nanoTime until which the lease is vouched for; 0 when no lease is held. */
    private volatile long validUntilNanos;
    /**
     * Local nanoTime until which etcd certainly still holds the lease (the last successful keep-alive's send time plus
     * the TTL it answered): past the vouched-for deadline but before this, the lease is fenced, not lost, and a
     * keep-alive that succeeds brings it back. Owned by the session's thread.
     */
    private long aliveUntilNanos;
    /** Whether the listeners were told the lease is lost (fenced) and not yet that it is held again. */
    private boolean toldLost;
    private volatile boolean closed;
    private volatile long leasesGranted;
    /**
     * Grants in a row that failed, when the first of them was sent, when that was last logged at WARN, and the next
     * grant's timeout. Owned by the session's thread.
     */
    private int grantsFailed;
    private long grantsFailingSinceNanos;
    private long grantWarnedNanos;
    private long grantTimeoutMillis;
    /**
     * A grant or keep-alive failed since the listeners of {@link EtcdConnection#answersAgain} were last told (or since
     * the start): etcd did not answer (a call failed by a client rebuild does not count: the rebuild tells them
     * itself). Owned by the session's thread.
     */
    private boolean unanswered;
    private volatile long unansweredCalls;
    /** Leases given up whose revoke etcd has not answered yet. */
    private final Set<Long> unrevoked = ConcurrentHashMap.newKeySet();
    /** Of those, the ones with a revoke in flight, and the call. */
    private final Map<Long, CompletableFuture<?>> revoking = new ConcurrentHashMap<>();
    /**
     * Released when the node's client is rebuilt: a grant (or keep-alive) is tried at once on the new client rather
     * than after the pause between tries (up to a keep-alive period, TTL/5).
     */
    private final Semaphore wake = new Semaphore(0);
    /** The grant or keep-alive being waited for, failed at once when the client is rebuilt (it went to the old one). */
    private volatile CompletableFuture<?> inFlight;
    private final Runnable wakeUp = () -> {
        // What went to the old client is failed now (and sent again on the new one), not waited for until it times out.
        ClientRebuilt rebuilt = new ClientRebuilt();
        CompletableFuture<?> call = inFlight;
        if (call != null) {
            call.completeExceptionally(rebuilt);
        }
        revoking.values().forEach(revoke -> revoke.completeExceptionally(rebuilt));
        wake.release();
    };

    /** What a call sent to the old client fails with when the node's client is rebuilt: not etcd failing to answer. */
    private static final class ClientRebuilt extends IllegalStateException {
        ClientRebuilt() {
            super("the node's etcd client was rebuilt");
        }
    }

    /**
     * @param ttl the lease TTL (whole seconds, at least 2); keep-alives go every TTL/5 and the lease is
     *            given up 2×TTL/5 before it could expire
     */
    public EtcdSession(Client client, Duration ttl) {
        this(client, ttl, System::nanoTime);
    }

    /** @param clock monotonic nanoseconds, as {@link System#nanoTime()}; a test passes one it moves itself */
    EtcdSession(Client client, Duration ttl, LongSupplier clock) {
        if (ttl.toSeconds() < 2) {
            throw new IllegalArgumentException("lease TTL must be at least 2 seconds, got " + ttl);
        }
        this.client = client;
        this.clock = clock;
        this.ttlSeconds = ttl.toSeconds();
        this.periodNanos = TimeUnit.SECONDS.toNanos(ttlSeconds) / 5;
        this.marginNanos = 2 * periodNanos;
        this.callTimeoutMillis = TimeUnit.NANOSECONDS.toMillis(periodNanos);
        this.grantTimeoutMillis = firstGrantTimeoutMillis();
        this.thread = new Thread(this::run, "radiod-lease");
        this.thread.setDaemon(true);
    }

    public Client client() {
        return client;
    }

    /**
     * The one thread on which this node's watches and elections run their steps and tell their listeners (each step
     * quick, never waiting on etcd: they chain on jetcd's futures), instead of a thread per election.
     */
    public ScheduledExecutorService scheduler() {
        return coordination;
    }

    public Duration ttl() {
        return Duration.ofSeconds(ttlSeconds);
    }

    /** Listeners added before {@link #start()} hear about the first lease. */
    public void addListener(Listener listener) {
        listeners.add(listener);
        OptionalLong current = validLease();
        if (current.isPresent() && thread.isAlive()) {
            listener.leaseGranted(current.getAsLong());
        }
    }

    public void removeListener(Listener listener) {
        listeners.remove(listener);
    }

    public EtcdSession start() {
        if (client instanceof EtcdConnection c) {
            c.onReconnect(wakeUp);
        }
        thread.start();
        return this;
    }

    /** The lease, if it can be vouched for right now (checked against the clock at each call). */
    public OptionalLong validLease() {
        long id = leaseId;
        long until = validUntilNanos;
        if (id == 0 || until == 0 || clock.getAsLong() - until >= 0) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(id);
    }

    /** The clock reading from which the lease is no longer vouched for; 0 when none is held. For tests. */
    long vouchedUntilNanos() {
        return validUntilNanos;
    }

    /** Whether {@code id} is the current lease and can be vouched for right now. */
    public boolean isValid(long id) {
        OptionalLong l = validLease();
        return l.isPresent() && l.getAsLong() == id;
    }

    /**
     * Whether {@code id} is still this session's lease, vouched for or only fenced: etcd may still hold keys bound
     * to it, and they stay while the keep-alives go on. False once it is given up (revoked, or expired).
     */
    public boolean mayHold(long id) {
        return id != 0 && leaseId == id;
    }

    /** How many leases this session has been granted (1 in a calm life). */
    public long leasesGranted() {
        return leasesGranted;
    }

    /** How many grants and keep-alives etcd did not answer (or answered with an error other than "not found"). */
    public long unansweredCalls() {
        return unansweredCalls;
    }

    private void run() {
        while (!closed) {
            try {
                if (leaseId == 0) {
                    grant();
                } else {
                    keepAlive();
                }
            } catch (RuntimeException e) {
                log.error("lease loop: unexpected failure", e);
                pause(periodNanos);
            }
        }
    }

    private void grant() {
        revokeLeftOvers(); // in flight beside the grant: does not delay it
        long sent = clock.getAsLong();
        long id;
        try {
            id = EtcdClients.await(inFlight(client.getLeaseClient().grant(ttlSeconds)), grantTimeoutMillis,
                    "granting a lease").getID();
        } catch (EtcdUnavailableException e) {
            long now = clock.getAsLong();
            boolean refused = EtcdErrors.isAnswered(e); // asked again at once, etcd would say the same
            if (grantsFailed++ == 0) {
                grantsFailingSinceNanos = sent;
            }
            if (grantsFailed == 1 || now - grantWarnedNanos >= GRANT_WARN_EVERY_NANOS) {
                grantWarnedNanos = now;
                log.warn("{}; {} grant(s) in a row for {} ms; trying again until etcd answers", e.getMessage(),
                        grantsFailed, TimeUnit.NANOSECONDS.toMillis(now - grantsFailingSinceNanos));
            } else {
                log.debug("{}; retrying", e.getMessage());
            }
            notAnswered(e);
            if (e.getCause() instanceof TimeoutException) {
                // A slow disk or a distant member may need longer: doubled up to the keep-alive period (TTL/5).
                grantTimeoutMillis = Math.min(grantTimeoutMillis * 2, Math.max(callTimeoutMillis, GRANT_TIMEOUT_MIN_MILLIS));
            }
            // A grant that timed out has waited already: the next goes at once, or within [125, 250] ms of the last
            // (nodes turned away together do not come back in step). Not a keep-alive period (TTL/5) as before, a
            // second more without a lease at TTL 5 once etcd's quorum was back; but that for a refusal.
            long every = refused ? periodNanos
                    : GRANT_EVERY_NANOS / 2 + (long) (ThreadLocalRandom.current().nextDouble() * GRANT_EVERY_NANOS / 2);
            pause(Math.max(0, every - (now - sent)));
            return;
        }
        grantTimeoutMillis = firstGrantTimeoutMillis();
        if (grantsFailed > 0) {
            log.info("etcd granted a lease after {} grants in a row it did not, {} ms", grantsFailed,
                    TimeUnit.NANOSECONDS.toMillis(clock.getAsLong() - grantsFailingSinceNanos));
            grantsFailed = 0;
        }
        if (closed) {
            revokeQuietly(List.of(id));
            return;
        }
        leaseId = id;
        aliveUntilNanos = sent + TimeUnit.SECONDS.toNanos(ttlSeconds);
        validUntilNanos = aliveUntilNanos - marginNanos;
        toldLost = false;
        leasesGranted++;
        log.info("holding etcd lease {} (TTL {} s)", Long.toHexString(id), ttlSeconds);
        for (Listener l : listeners) {
            try {
                l.leaseGranted(id);
            } catch (RuntimeException e) {
                log.error("lease listener failed", e);
            }
        }
        if (leasesGranted > 1) {
            answersAgain("a new lease after the last was lost");
        } else if (unanswered) {
            // A node started while etcd had no quorum (a whole cluster booting after a power cut): its watches began
            // before its first lease, failed and backed off as they would in any outage.
            answersAgain("the first lease, after etcd did not answer");
        }
    }

    private long firstGrantTimeoutMillis() {
        return Math.min(Math.max(callTimeoutMillis, GRANT_TIMEOUT_MIN_MILLIS), GRANT_TIMEOUT_MAX_MILLIS);
    }

    private void notAnswered(Throwable e) {
        if (!EtcdErrors.isCausedBy(e, ClientRebuilt.class)) {
            unanswered = true;
            unansweredCalls++;
        }
    }

    /** After an outage: the node's watches read again now, not when their own backoff runs out. */
    private void answersAgain(String why) {
        unanswered = false;
        if (client instanceof EtcdConnection c) {
            c.answersAgain(why);
        }
    }

    private void keepAlive() {
        revokeLeftOvers();
        long id = leaseId;
        long sent = clock.getAsLong();
        if (sent - aliveUntilNanos >= 0) {
            giveUp(id, "no keep-alive succeeded within the TTL: etcd may have expired it");
            return;
        }
        if (!validLease().isPresent()) {
            fence(id, "no keep-alive succeeded within the TTL less the safety margin");
        }
        try {
            // Never wait past the moment the lease stops being vouched for (or, fenced, may have expired).
            long deadline = validLease().isPresent() ? validUntilNanos : aliveUntilNanos;
            long untilDeadline = TimeUnit.NANOSECONDS.toMillis(deadline - sent);
            LeaseKeepAliveResponse r = EtcdClients.await(inFlight(client.getLeaseClient().keepAliveOnce(id)),
                    Math.max(20, Math.min(callTimeoutMillis, untilDeadline)), "keeping lease alive");
            if (r.getTTL() <= 0) {
                giveUp(id, "etcd says it expired");
                return;
            }
            // etcd renewed it: it lives at least until this keep-alive's send time plus the TTL it answered.
            long alive = sent + TimeUnit.SECONDS.toNanos(r.getTTL());
            aliveUntilNanos = Math.max(aliveUntilNanos, alive);
            long until = alive - marginNanos;
            if (validLease().isPresent()) {
                validUntilNanos = until;
                if (unanswered) {
                    // An outage shorter than the fence (an etcd leader election; with a long TTL, seconds): the
                    // watches it broke read again now.
                    answersAgain("a keep-alive answered after failed ones");
                }
            } else if (until - clock.getAsLong() > 0) {
                // Fenced for a while (an etcd leader election, a stalled disk, a paused process), but etcd held the
                // lease throughout, so nothing bound to it went and no one else can hold a key on it: vouch for it
                // again and tell the listeners, as for a new lease, so that they act on it again.
                validUntilNanos = until;
                resumed(id);
            }
        } catch (EtcdUnavailableException e) {
            if (EtcdErrors.isNotFound(e)) {
                giveUp(id, "etcd no longer knows it");
                return;
            }
            log.warn("{}", e.getMessage());
            notAnswered(e);
        }
        if (!validLease().isPresent()) {
            fence(id, "no keep-alive succeeded within the TTL less the safety margin");
            // Fenced: try again soon (a quarter period); once it may have expired, the next round gives it up.
            long wait = Math.min(sent + periodNanos / 4, aliveUntilNanos) - clock.getAsLong();
            if (wait > 0) {
                pause(wait);
            }
            return;
        }
        long next = sent + periodNanos;
        long wait = Math.min(next, validUntilNanos) - clock.getAsLong();
        if (wait > 0) {
            pause(wait);
        }
    }

    /** The lease can no longer be vouched for, though etcd may still hold it: listeners stop acting on it (once). */
    private void fence(long id, String why) {
        if (leaseId != id || toldLost) {
            return;
        }
        toldLost = true;
        validUntilNanos = Math.min(validUntilNanos, clock.getAsLong()); // stays not vouched for until a keep-alive succeeds
        log.warn("etcd lease {} not vouched for: {}; keeping it alive until it may have expired", Long.toHexString(id),
                why);
        for (Listener l : listeners) {
            try {
                l.leaseLost(id);
            } catch (RuntimeException e) {
                log.error("lease listener failed", e);
            }
        }
    }

    /** A keep-alive succeeded while fenced, in time: the same lease is held again. */
    private void resumed(long id) {
        toldLost = false;
        log.info("etcd lease {} vouched for again: a keep-alive succeeded before it could expire", Long.toHexString(id));
        for (Listener l : listeners) {
            try {
                l.leaseGranted(id);
            } catch (RuntimeException e) {
                log.error("lease listener failed", e);
            }
        }
        answersAgain("the lease vouched for again");
    }

    /** The lease is gone (or may be): listeners are told if they were not yet, it is revoked, and a new one is granted. */
    private void giveUp(long id, String why) {
        if (leaseId != id) {
            return;
        }
        fence(id, why);
        validUntilNanos = 0;
        leaseId = 0;
        log.warn("etcd lease {} lost: {}", Long.toHexString(id), why);
        // Whatever is still bound to it on the server should go now rather than at expiry, or once etcd answers.
        unrevoked.add(id);
        revokeLeftOvers();
    }

    /** Sends a revoke for each lease given up whose revoke etcd has not answered (one at a time each), not waiting. */
    private void revokeLeftOvers() {
        for (long id : unrevoked) {
            if (revoking.containsKey(id)) {
                continue;
            }
            CompletableFuture<?> revoke;
            try {
                revoke = client.getLeaseClient().revoke(id)
                        .orTimeout(Math.max(callTimeoutMillis, 500), TimeUnit.MILLISECONDS);
            } catch (RuntimeException e) {
                continue;
            }
            revoking.put(id, revoke);
            revoke.whenComplete((r, t) -> {
                if (t == null) {
                    unrevoked.remove(id);
                    log.info("revoked etcd lease {}, given up earlier: what was bound to it is gone now, not at its expiry",
                            Long.toHexString(id));
                } else if (EtcdErrors.isAnswered(t)) {
                    unrevoked.remove(id); // expired already (not found), or not ours to revoke: nothing more to do
                    log.debug("revoke of {}: {}", Long.toHexString(id), t.toString());
                }
                revoking.remove(id, revoke);
            });
        }
    }

    /** How many leases given up still wait for etcd to answer their revoke. For tests. */
    int unrevokedLeases() {
        return unrevoked.size();
    }

    /** Sends a revoke for each lease at once and waits for their answers, at most 1 s in all; failures are logged. */
    private void revokeQuietly(List<Long> ids) {
        List<CompletableFuture<?>> calls = new ArrayList<>();
        for (long id : ids) {
            CompletableFuture<?> call;
            try {
                call = client.getLeaseClient().revoke(id);
            } catch (RuntimeException e) {
                call = CompletableFuture.failedFuture(e);
            }
            calls.add(call.whenComplete((r, t) -> {
                if (t != null) {
                    log.debug("revoke of {} failed: {}", Long.toHexString(id), t.toString());
                }
            }));
        }
        try {
            EtcdClients.await(CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)), 1000, "revoking leases");
        } catch (RuntimeException e) {
            log.debug("revokes not all answered: {}", e.getMessage());
        }
    }

    /**
     * Remembers {@code call} as the one to fail if the client is rebuilt while it is waited for. A rebuild between
     * the call and this is missed (closing the old client fails the call anyway); one just after may fail a call that
     * went to the new client, which is only tried again.
     */
    private <T> CompletableFuture<T> inFlight(CompletableFuture<T> call) {
        inFlight = call;
        return call;
    }

    /** Waits {@code nanos}, or less when the connection's client was rebuilt meanwhile (etcd may answer now). */
    private void pause(long nanos) {
        try {
            if (wake.tryAcquire(nanos, TimeUnit.NANOSECONDS)) {
                wake.drainPermits();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }

    /** Stops keep-alives and revokes the lease, so every key bound to it goes at once. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (client instanceof EtcdConnection c) {
            c.removeReconnectListener(wakeUp);
        }
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long id = leaseId;
        leaseId = 0;
        validUntilNanos = 0;
        if (id != 0 && !toldLost) {
            for (Listener l : listeners) {
                try {
                    l.leaseLost(id);
                } catch (RuntimeException e) {
                    log.error("lease listener failed", e);
                }
            }
        }
        // The current lease (fenced or not: etcd may still hold it) and those given up earlier and not yet revoked,
        // all at once and waited for together: their keys go now, not at their expiry.
        List<Long> revokes = new ArrayList<>(unrevoked);
        if (id != 0) {
            log.info("revoking etcd lease {}", Long.toHexString(id));
            revokes.add(0, id);
        }
        revokeQuietly(revokes);
        Steps.finish(coordination, Duration.ofSeconds(1));
    }
}
