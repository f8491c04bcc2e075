package radiod.cluster.election;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Txn;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.etcd.EtcdUnavailableException;

/**
 * Holds one key while this process is elected: CAS (create-if-absent, bound to the session's lease) plus
 * the lease keep-alive as heartbeat. Used for the {@code master} key and for each {@code transcoders/<mount>}.
 *
 * <p>Invariant: {@link #isLeader()} is true only while the key was created by this election under a lease
 * that the {@link EtcdSession} still vouches for, so a leader that cannot reach etcd stops being one before
 * its lease can expire. Losers watch the key and try again the moment it goes (and every second anyway).
 */
public final class Election implements AutoCloseable, EtcdSession.Listener {
    /** Told on the election's thread, or on the session's when the lease is lost. Keep it quick. */
    public interface Listener {
        void elected();

        void deposed();
    }

    private static final Logger log = LoggerFactory.getLogger(Election.class);
    /** Backup to the watch: a campaign is a compare-only transaction, cheap enough to try four times a second. */
    private static final long TICK_MILLIS = 250;
    private static final long MAX_REWATCH_MILLIS = 5000;

    private final EtcdSession session;
    private final ByteSequence key;
    private final String name;
    private final Supplier<byte[]> value;
    private final Listener listener;
    private final ScheduledExecutorService thread;
    private final long callTimeoutMillis;

    /** Lease under which we hold the key; 0 when not leader. */
    private final AtomicLong heldUnder = new AtomicLong();
    private volatile boolean eligible = true;
    private volatile long holdOffUntilNanos;
    private volatile boolean closed;
    private Watch.Watcher watcher;
    /** Owned by the election thread: which watch is current, and how many in a row ended early. */
    private long watchGeneration;
    private int watchFailures;

    public Election(EtcdSession session, ByteSequence key, Supplier<byte[]> value, Listener listener) {
        this.session = session;
        this.key = key;
        this.name = key.toString(StandardCharsets.UTF_8);
        this.value = value;
        this.listener = listener;
        this.callTimeoutMillis = Math.max(500, session.ttl().toMillis() / 5);
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "radiod-election " + name);
            t.setDaemon(true);
            return t;
        });
    }

    public Election start() {
        session.addListener(this);
        thread.execute(this::watchKey);
        thread.scheduleWithFixedDelay(this::tick, 0, TICK_MILLIS, TimeUnit.MILLISECONDS);
        return this;
    }

    /** Whether this process holds the key right now (checked against the lease's validity at each call). */
    public boolean isLeader() {
        long lease = heldUnder.get();
        return lease != 0 && session.isValid(lease);
    }

    /** The key, e.g. {@code /radiod/master}. */
    public String key() {
        return name;
    }

    /**
     * Whether to campaign at all. A node that is not eligible (e.g. drained) resigns if it holds the key and
     * stops campaigning until made eligible again.
     */
    public void setEligible(boolean eligible) {
        if (this.eligible == eligible) {
            return;
        }
        this.eligible = eligible;
        thread.execute(eligible ? this::tick : () -> resignNow("no longer eligible"));
    }

    /** Gives the key up now and does not campaign again for {@code holdOffMillis}, so another node can try. */
    public void resign(long holdOffMillis) {
        holdOffUntilNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(holdOffMillis);
        thread.execute(() -> resignNow("resigned"));
    }

    @Override
    public void leaseGranted(long leaseId) {
        thread.execute(this::tick);
    }

    @Override
    public void leaseLost(long leaseId) {
        // At once, on the session's thread: the election thread may be blocked on an etcd call.
        depose(leaseId, "lease lost");
    }

    private void tick() {
        if (closed) {
            return;
        }
        try {
            if (heldUnder.get() != 0) {
                verify();
            } else if (eligible && System.nanoTime() - holdOffUntilNanos >= 0) {
                campaign();
            }
        } catch (EtcdUnavailableException e) {
            log.debug("{}: {}", name, e.getMessage());
        } catch (RuntimeException e) {
            log.error("{}: election step failed", name, e);
        }
    }

    private void campaign() {
        long lease = session.validLease().orElse(0);
        if (lease == 0) {
            return;
        }
        Txn txn = session.client().getKVClient().txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                .Then(Op.put(key, ByteSequence.from(value.get()), PutOption.builder().withLeaseId(lease).build()))
                .Else(Op.get(key, GetOption.DEFAULT));
        TxnResponse r = EtcdClients.await(txn.commit(), callTimeoutMillis, "campaigning for " + name);
        boolean won = r.isSucceeded();
        if (!won && !r.getGetResponses().isEmpty()) {
            // An earlier attempt of ours may have succeeded after its response was lost.
            won = r.getGetResponses().get(0).getKvs().stream().anyMatch(kv -> kv.getLease() == lease);
        }
        if (won && session.isValid(lease) && !closed) {
            heldUnder.set(lease);
            log.info("elected: holding {}", name);
            listener.elected();
        }
    }

    private void verify() {
        long lease = heldUnder.get();
        if (!session.isValid(lease)) {
            depose(lease, "lease no longer valid");
            return;
        }
        GetResponse r = EtcdClients.await(session.client().getKVClient().get(key), callTimeoutMillis, "checking " + name);
        boolean ours = r.getKvs().stream().map(KeyValue::getLease).anyMatch(l -> l == lease);
        if (!ours) {
            depose(lease, "the key is gone or held by another lease");
        }
    }

    private void depose(long lease, String why) {
        if (lease == 0 || !heldUnder.compareAndSet(lease, 0)) {
            return;
        }
        log.warn("deposed from {}: {}", name, why);
        listener.deposed();
    }

    private void resignNow(String why) {
        long lease = heldUnder.get();
        if (lease == 0) {
            return;
        }
        depose(lease, why);
        try {
            // Delete the key only if it is still the one we created (jetcd has no compare on lease).
            GetResponse r = EtcdClients.await(session.client().getKVClient().get(key), callTimeoutMillis,
                    "resigning " + name);
            for (KeyValue kv : r.getKvs()) {
                if (kv.getLease() == lease) {
                    EtcdClients.await(session.client().getKVClient().txn()
                                    .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(kv.getModRevision())))
                                    .Then(Op.delete(key, DeleteOption.DEFAULT))
                                    .commit(),
                            callTimeoutMillis, "resigning " + name);
                }
            }
        } catch (EtcdUnavailableException e) {
            log.warn("{}: {} (the key goes with the lease)", name, e.getMessage());
        }
    }

    /**
     * (Re)creates the watch on the key; on the election thread. A watch that ends is replaced once, by the current
     * generation only (an error and a completion of the same watch, or of an older one, must not each start a new
     * watch: with etcd down they would double every time), after a delay that grows while watches keep failing
     * (etcd without a leader cancels every watch at once), up to {@value #MAX_REWATCH_MILLIS} ms. The campaign
     * poll goes on meanwhile, so a slow re-watch only costs speed, never correctness.
     */
    private void watchKey() {
        if (closed) {
            return;
        }
        if (watcher != null) {
            watcher.close();
        }
        long gen = ++watchGeneration;
        long started = System.nanoTime();
        AtomicBoolean ended = new AtomicBoolean();
        Runnable rewatch = () -> {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            thread.execute(() -> {
                if (gen != watchGeneration || closed) {
                    return;
                }
                boolean lived = System.nanoTime() - started > TimeUnit.MILLISECONDS.toNanos(MAX_REWATCH_MILLIS);
                watchFailures = lived ? 0 : watchFailures + 1;
                long delay = Math.min(MAX_REWATCH_MILLIS, TICK_MILLIS << Math.min(watchFailures, 5));
                thread.schedule(this::watchKey, delay, TimeUnit.MILLISECONDS);
            });
        };
        watcher = session.client().getWatchClient().watch(key,
                WatchOption.builder().withNoPut(true).withRequireLeader(true).build(),
                Watch.listener(
                        r -> {
                            if (r.getEvents().stream().anyMatch(e -> e.getEventType() == WatchEvent.EventType.DELETE)) {
                                thread.execute(this::tick);
                            }
                        },
                        e -> rewatch.run(),
                        rewatch));
    }

    /** Resigns at once (the key is deleted, not left to expire) and stops campaigning. */
    @Override
    public void close() {
        session.removeListener(this);
        try {
            thread.submit(() -> {
                resignNow("closing");
                closed = true;
                if (watcher != null) {
                    watcher.close();
                }
            }).get(callTimeoutMillis + 1000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            closed = true;
            log.debug("{}: close: {}", name, e.toString());
        }
        thread.shutdownNow();
    }
}
