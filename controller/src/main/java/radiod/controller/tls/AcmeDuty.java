package radiod.controller.tls;

import java.security.KeyPair;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.shredzone.acme4j.exception.AcmeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import radiod.cluster.election.Election;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.etcd.EtcdUnavailableException;
import radiod.cluster.model.Json;
import radiod.cluster.tls.AcmeAccount;
import radiod.cluster.tls.AcmeChallenge;
import radiod.cluster.tls.AcmeHolder;
import radiod.cluster.tls.AcmeStatus;
import radiod.cluster.tls.TlsCertificate;
import radiod.cluster.tls.TlsKey;
import radiod.cluster.tls.TlsState;
import radiod.cluster.tls.TlsStore;
import radiod.cluster.view.ClusterSnapshot;
import radiod.cluster.view.ClusterView;
import radiod.lifecycle.DaemonThreads;

/**
 * The cluster's ACME duty: one node, elected on {@code acme/holder} with the same {@link Election} as the master and the
 * transcoders, obtains the certificate for the zone apex and {@code *.<zone>} by DNS-01 and renews it; every node then
 * loads it from its view ({@link CertificateLoader}).
 *
 * <p>The holder tries when no certificate is stored (or it is for other names), when renewal is due (see
 * {@link RenewalPolicy#renewAt}), or when {@code radioctl renew-certificate} asked after the certificate was stored. An
 * attempt: the account key from {@code secret/acme/account} (made once), an order, the challenge records into
 * {@code acme/challenges/} on this node's lease (so they go if it dies), a wait until this node's view has them (every
 * node's DNS answers from its view), the CA's validation, a CSR with a fresh key, and the chain and key stored in one
 * transaction that also deletes the challenges, guarded by the holder key's revision. A certificate that write missed
 * (the duty moved, or etcd did not answer) is kept and written again, guarded by the stored certificate instead, never
 * over a newer one: the CA issued it, and ordering another would spend the CA's duplicate-certificate limit. A failed
 * attempt is recorded in {@code tls/status} and retried after an exponential backoff with jitter (30 s doubling to 1 h
 * by default) that a later holder keeps to; a new renewal request skips the wait once. An attempt etcd cut short is not
 * the CA's failure: it is retried after a backoff of its own (5 s doubling to 5 min).
 *
 * <p>Attempts run on the duty's own thread; nothing here blocks the view, the election or an event loop.
 */
public final class AcmeDuty implements AutoCloseable {
    /**
     * @param backoffInitial     the wait after the first failure
     * @param backoffCap         the longest wait between attempts
     * @param propagation        how long the challenge records may take to reach this node's view
     * @param validation         how long the CA may take to validate the challenges
     * @param order              how long the CA may take for each of the order's other steps
     * @param http               the timeout of each HTTP request to the CA
     * @param tick               how often the duty looks at the view besides on each change
     */
    public record Timing(Duration backoffInitial, Duration backoffCap, Duration propagation, Duration validation,
                         Duration order, Duration http, Duration tick) {
        public static final Timing DEFAULT = new Timing(Duration.ofSeconds(30), Duration.ofHours(1),
                Duration.ofSeconds(30), Duration.ofMinutes(2), Duration.ofMinutes(2), Duration.ofSeconds(20),
                Duration.ofSeconds(1));
    }

    private static final Logger log = LoggerFactory.getLogger(AcmeDuty.class);

    private final EtcdSession session;
    private final ClusterView view;
    private final String node;
    private final String zone;
    private final AcmeSettings settings;
    private final Timing timing;
    private final TlsStore store;
    private final Election election;
    private final ScheduledExecutorService thread;
    private final AtomicBoolean wakeQueued = new AtomicBoolean();
    private final AtomicLong attemptNumber = new AtomicLong();
    private final Counter successes;
    private final Counter failures;
    private final Counter etcdInterruptions;
    private final Timer successTime;
    private final Timer failureTime;
    private volatile boolean closed;
    /** Owned by the duty's thread: the status this node last wrote, and the revision the view must reach first. */
    private AcmeStatus lastStatus;
    private long awaitRevision;
    /** Owned by the duty's thread: a certificate the CA issued that etcd has not taken yet, or null. */
    private Unsaved unsaved;
    /** When etcd's silence about {@link #unsaved} was last logged at WARN (its first failed write is). */
    private long unsavedWarnedNanos;
    /** While etcd does not take an issued certificate, a WARN line this often (DEBUG between). */
    static final long UNSAVED_WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);
    /** Owned by the duty's thread: attempts in a row that etcd cut short, and when to try again after the last. */
    private int etcdCuts;
    private long etcdRetryAtNanos;

    /** The first wait, and the longest, after an attempt that etcd cut short (at most the CA backoff's own). */
    static final Duration ETCD_RETRY_FIRST = Duration.ofSeconds(5);
    static final Duration ETCD_RETRY_CAP = Duration.ofMinutes(5);

    /** An issued certificate with what its transaction writes besides it, and when its attempt began. */
    private record Unsaved(TlsCertificate certificate, TlsKey key, AcmeStatus status, List<String> challengeIds,
                           long startedNanos) {
    }

    /**
     * @param options the etcd options (prefix, call timeout) the session's client was made with
     * @param zone    the cluster's DNS zone ({@code dns.zone}): the certificate is for it and {@code *.<zone>}
     */
    public AcmeDuty(EtcdSession session, EtcdOptions options, ClusterView view, String node, String zone,
                    AcmeSettings settings, Timing timing, MeterRegistry registry) {
        this.session = session;
        this.view = view;
        this.node = node;
        this.zone = Objects.requireNonNull(zone, "zone");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.timing = Objects.requireNonNull(timing, "timing");
        if (settings.caFile() != null) {
            AcmeTrust.context(settings.caFile()); // a bad ca_file stops the start with its reason, not each attempt
        }
        this.store = new TlsStore(session.client(), options);
        this.thread = DaemonThreads.scheduled("radiod-acme");
        this.election = new Election(session, store.keys().acmeHolder(),
                () -> Json.encode(new AcmeHolder(node, System.currentTimeMillis())), new Election.Listener() {
                    @Override
                    public void elected() {
                        log.info("acme: this node now holds the ACME duty for {}", zone);
                        wake();
                    }

                    @Override
                    public void deposed() {
                        log.warn("acme: this node no longer holds the ACME duty");
                    }
                });
        this.successes = Counter.builder("radiod.acme.attempts").tag("outcome", "success")
                .description("Attempts of this node to obtain the cluster's certificate from the ACME CA").register(registry);
        this.failures = Counter.builder("radiod.acme.attempts").tag("outcome", "failure")
                .description("Attempts of this node to obtain the cluster's certificate from the ACME CA").register(registry);
        this.etcdInterruptions = Counter.builder("radiod.acme.attempts").tag("outcome", "etcd_unavailable")
                .description("Attempts of this node to obtain the cluster's certificate from the ACME CA").register(registry);
        this.successTime = Timer.builder("radiod.acme.attempt.duration").tag("outcome", "success")
                .description("How long this node's ACME attempts took").register(registry);
        this.failureTime = Timer.builder("radiod.acme.attempt.duration").tag("outcome", "failure")
                .description("How long this node's ACME attempts took").register(registry);
        Gauge.builder("radiod.acme.holder", this, d -> d.isHolder() ? 1 : 0)
                .description("1 while this node holds the cluster's ACME duty").register(registry);
        Gauge.builder("radiod.acme.consecutive.failures", view,
                        v -> v.current().tls().status().map(AcmeStatus::failures).orElse(0))
                .description("Failed ACME attempts in a row, cluster-wide (from tls/status)").register(registry);
        Gauge.builder("radiod.acme.certificate.not.after", view,
                        v -> v.current().tls().certificate().map(c -> c.notAfter() / 1000.0).orElse(Double.NaN))
                .description("Expiry of the cluster's stored certificate, Unix seconds").baseUnit("seconds")
                .register(registry);
    }

    public AcmeDuty start() {
        view.addListener(s -> wake());
        election.start();
        thread.scheduleWithFixedDelay(this::tick, timing.tick().toMillis(), timing.tick().toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** Whether this node holds the duty right now. */
    public boolean isHolder() {
        return election.isLeader();
    }

    private void wake() {
        if (!closed && wakeQueued.compareAndSet(false, true)) {
            try {
                thread.execute(() -> {
                    wakeQueued.set(false);
                    tick();
                });
            } catch (RejectedExecutionException e) {
                wakeQueued.set(false);
            }
        }
    }

    private void tick() {
        if (closed) {
            return;
        }
        try {
            if (unsaved != null) {
                // Held or not: the CA issued it, and ordering another would spend the CA's duplicate limit.
                storeUnsaved();
                return;
            }
            if (!election.isLeader() || (etcdCuts > 0 && System.nanoTime() - etcdRetryAtNanos < 0)) {
                return;
            }
            ClusterSnapshot snapshot = view.current();
            if (!snapshot.isRead() || snapshot.revision() < awaitRevision) {
                // No picture yet (a node elected before its view's first read would see no certificate), or
                // this node's last write is not in its view yet: decide on what it wrote, not before it.
                return;
            }
            TlsState tls = snapshot.tls();
            Optional<AcmeStatus> status = latest(tls.status());
            long now = System.currentTimeMillis();
            RenewalPolicy.Decision d = RenewalPolicy.decide(tls, status, zone, settings.renewBefore(), now);
            if (d.attemptNow(now)) {
                attempt(tls, status, d.reason());
            }
        } catch (EtcdUnavailableException e) {
            log.warn("acme: {}; trying again at the next tick", e.getMessage());
        } catch (RuntimeException e) {
            log.error("acme: duty step failed", e);
        }
    }

    /** The view's status, or this node's own if it wrote a newer one that the view does not show yet. */
    private Optional<AcmeStatus> latest(Optional<AcmeStatus> fromView) {
        AcmeStatus mine = lastStatus;
        if (mine != null && (fromView.isEmpty() || fromView.get().lastAttempt() < mine.lastAttempt())) {
            return Optional.of(mine);
        }
        return fromView;
    }

    private void attempt(TlsState tls, Optional<AcmeStatus> previous, String reason) {
        long lease = session.validLease().orElse(0);
        OptionalLong holderRevision = lease == 0 ? OptionalLong.empty() : store.holderRevision(lease);
        if (holderRevision.isEmpty()) {
            return; // the election has not written its key under this lease (yet), or lost it
        }
        long started = System.currentTimeMillis();
        long startedNanos = System.nanoTime();
        int failedBefore = previous.map(AcmeStatus::failures).orElse(0);
        long lastSuccess = previous.map(AcmeStatus::lastSuccess).orElse(0L);
        long renewHandled = Math.max(tls.renewRevision(), previous.map(AcmeStatus::renewHandled).orElse(0L));
        List<String> names = List.of(zone, "*." + zone);
        log.info("acme: obtaining a certificate for {} from {}: {}", names, settings.directory(), reason);
        write(new AcmeStatus(node, started, AcmeStatus.RUNNING, "", 0, failedBefore, lastSuccess, renewHandled));
        List<String> challengeIds = new ArrayList<>();
        long n = attemptNumber.incrementAndGet();
        try {
            KeyPair accountKey = accountKey();
            AcmeOrder order = new AcmeOrder(AcmeOrder.session(settings, timing.http()),
                    new AcmeOrder.Limits(timing.validation(), timing.order()));
            AcmeOrder.Issued issued = order.obtain(accountKey, settings.email(), names, node,
                    records -> publish(records, lease, n, challengeIds), this::fence);
            TlsCertificate certificate = describe(issued.chain(), node);
            TlsKey key = new TlsKey(Pem.privateKey(issued.key().getPrivate()), certificate.serial());
            AcmeStatus ok = new AcmeStatus(node, started, AcmeStatus.OK, "",
                    RenewalPolicy.renewAt(certificate, settings.renewBefore()), 0, System.currentTimeMillis(),
                    renewHandled);
            etcdCuts = 0;
            unsaved = new Unsaved(certificate, key, ok, List.copyOf(challengeIds), startedNanos);
            unsavedWarnedNanos = System.nanoTime();
            OptionalLong stored;
            try {
                stored = store.save(certificate, key, ok, challengeIds, holderRevision.getAsLong());
            } catch (EtcdUnavailableException e) {
                log.warn("acme: the CA issued the certificate (serial {}) but etcd did not answer its write: {}; it is"
                        + " kept and stored once etcd answers, not ordered again", certificate.serial(), e.getMessage());
                return;
            }
            if (stored.isEmpty()) {
                log.warn("acme: this node lost the duty before the certificate (serial {}) was stored; storing it"
                        + " unless a newer one is there", certificate.serial());
                storeUnsaved();
                return;
            }
            stored(unsaved, stored.getAsLong());
        } catch (EtcdUnavailableException e) {
            // etcd, not the CA: no failure in tls/status (whose backoff doubles to an hour), a short wait of its own.
            etcdCuts++;
            long wait = RenewalPolicy.backoffMillis(etcdCuts, min(ETCD_RETRY_FIRST, timing.backoffInitial()),
                    min(ETCD_RETRY_CAP, timing.backoffCap()), ThreadLocalRandom.current().nextDouble());
            etcdRetryAtNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(wait);
            etcdInterruptions.increment();
            log.warn("acme: attempt cut short by etcd ({} in a row): {}; not a CA failure, trying again in {} ms",
                    etcdCuts, e.getMessage(), wait);
            withdraw(challengeIds);
        } catch (AcmeOrder.Deposed e) {
            log.warn("acme: attempt abandoned: {}", e.getMessage());
            withdraw(challengeIds);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            withdraw(challengeIds);
        } catch (AcmeException | RuntimeException e) {
            if (closed) {
                // Stopping: the attempt was cut short (its HTTP call interrupted), it did not fail.
                log.info("acme: attempt abandoned: this node is stopping");
                withdraw(challengeIds);
                return;
            }
            etcdCuts = 0; // the attempt reached the CA: etcd answered throughout
            int failed = failedBefore + 1;
            long wait = RenewalPolicy.backoffMillis(failed, timing.backoffInitial(), timing.backoffCap(),
                    ThreadLocalRandom.current().nextDouble());
            // A CA that says when to come back (a rate limit) is not asked before then.
            long retryAfter = retryAfter(e).map(t -> t.toEpochMilli() - System.currentTimeMillis()).orElse(0L);
            wait = Math.max(wait, Math.min(retryAfter, Duration.ofDays(1).toMillis()));
            String why = message(e);
            failures.increment();
            failureTime.record(System.nanoTime() - startedNanos, TimeUnit.NANOSECONDS);
            log.warn("acme: attempt failed ({} in a row): {}; next attempt in {} s", failed, why, wait / 1000);
            log.debug("acme: the failure in full", e);
            withdraw(challengeIds);
            write(new AcmeStatus(node, started, AcmeStatus.FAILED, why, System.currentTimeMillis() + wait, failed,
                    lastSuccess, renewHandled));
        }
    }

    /**
     * Stores the certificate the CA issued and etcd has not taken, unless a newer one is stored meanwhile (a later
     * holder's): whether or not this node still holds the duty, since its certificate is as good as any. Keeps it for
     * the next tick while etcd does not answer, and drops it once it has expired.
     */
    private void storeUnsaved() {
        Unsaved u = unsaved;
        if (u.certificate().notAfter() <= System.currentTimeMillis()) {
            log.warn("acme: the certificate the CA issued (serial {}) expired before etcd took it; it is dropped",
                    u.certificate().serial());
            unsaved = null;
            return;
        }
        TlsStore.Saved saved;
        try {
            saved = store.saveUnlessNewer(u.certificate(), u.key(), u.status(), u.challengeIds());
        } catch (EtcdUnavailableException e) {
            long now = System.nanoTime();
            if (now - unsavedWarnedNanos >= UNSAVED_WARN_EVERY_NANOS) {
                unsavedWarnedNanos = now;
                log.warn("acme: etcd still does not take the certificate the CA issued (serial {}, expires {}): {};"
                        + " trying again every tick", u.certificate().serial(),
                        Instant.ofEpochMilli(u.certificate().notAfter()), e.getMessage());
            } else {
                log.debug("acme: etcd still does not take the certificate (serial {}): {}", u.certificate().serial(),
                        e.getMessage());
            }
            return;
        }
        switch (saved.outcome()) {
            case STORED -> stored(u, saved.revision());
            case ALREADY -> {
                log.info("acme: the certificate (serial {}) was stored after all: etcd took the write whose answer"
                        + " was lost", u.certificate().serial());
                stored(u, saved.revision());
            }
            case NEWER -> {
                log.warn("acme: a newer certificate than the one the CA issued here (serial {}) is stored; it is"
                        + " dropped", u.certificate().serial());
                unsaved = null;
                withdraw(u.challengeIds());
            }
        }
    }

    private void stored(Unsaved u, long revision) {
        unsaved = null;
        lastStatus = u.status();
        awaitRevision = Math.max(awaitRevision, revision);
        successes.increment();
        successTime.record(System.nanoTime() - u.startedNanos(), TimeUnit.NANOSECONDS);
        TlsCertificate c = u.certificate();
        log.info("acme: stored the certificate for {} (serial {}, issued by {}, expires {}) after {} ms", c.names(),
                c.serial(), c.issuer(), Instant.ofEpochMilli(c.notAfter()),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - u.startedNanos()));
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** When the CA asked to be tried again, if it did (a rate limit, a server busy). */
    static Optional<Instant> retryAfter(Throwable e) {
        if (e instanceof org.shredzone.acme4j.exception.AcmeRateLimitedException r) {
            return r.getRetryAfter();
        }
        if (e instanceof org.shredzone.acme4j.exception.AcmeRetryAfterException r) {
            return Optional.ofNullable(r.getRetryAfter());
        }
        return Optional.empty();
    }

    /** Writes the status, remembering it (and its revision) even when etcd does not take it. */
    private void write(AcmeStatus status) {
        lastStatus = status;
        try {
            awaitRevision = store.putStatus(status);
        } catch (EtcdUnavailableException e) {
            log.warn("acme: cannot write the status: {}", e.getMessage());
        }
    }

    private void fence() {
        if (closed || !election.isLeader()) {
            throw new AcmeOrder.Deposed();
        }
    }

    /** The account's key pair, made and stored the first time. */
    private KeyPair accountKey() {
        Optional<AcmeAccount> stored = store.account();
        AcmeAccount account = stored.orElseGet(() -> {
            KeyPair fresh = AcmeOrder.newKeyPair();
            AcmeAccount made = new AcmeAccount(Pem.privateKey(fresh.getPrivate()), Pem.publicKey(fresh.getPublic()),
                    node, System.currentTimeMillis());
            AcmeAccount kept = store.createAccount(made);
            if (kept == made) {
                log.info("acme: made a new account key (stored at {}secret/acme/account)", store.keys().prefix());
            }
            return kept;
        });
        try {
            return new KeyPair(Pem.publicKey(account.publicKey()), Pem.privateKey(account.key()));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("the ACME account key in etcd is unreadable (" + e.getMessage()
                    + "): delete " + store.keys().prefix() + "secret/acme/account and a new account is made", e);
        }
    }

    /** Writes the records on this node's lease and returns once this node's view has them. */
    private void publish(List<AcmeChallenge> records, long lease, long attempt, List<String> ids)
            throws AcmeException, InterruptedException {
        Map<String, AcmeChallenge> byId = new LinkedHashMap<>();
        for (int i = 0; i < records.size(); i++) {
            byId.put(node + "-" + attempt + "-" + i, records.get(i));
        }
        ids.addAll(byId.keySet());
        long revision = store.putChallenges(byId, lease);
        long deadline = System.nanoTime() + timing.propagation().toNanos();
        while (true) {
            ClusterSnapshot s = view.current();
            if (s.revision() >= revision && s.tls().challenges().keySet().containsAll(byId.keySet())) {
                log.info("acme: {} challenge record(s) served by this node's DNS: {}", byId.size(),
                        records.stream().map(AcmeChallenge::host).distinct().toList());
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AcmeException("the challenge records did not reach this node's view within "
                        + timing.propagation().toSeconds() + " s");
            }
            fence();
            Thread.sleep(20);
        }
    }

    private void withdraw(Collection<String> ids) {
        try {
            store.deleteChallenges(ids);
        } catch (EtcdUnavailableException e) {
            log.warn("acme: cannot delete the challenge records ({}); they go with this node's lease", e.getMessage());
        }
    }

    /** What the stored certificate says about itself. */
    static TlsCertificate describe(List<X509Certificate> chain, String by) {
        X509Certificate leaf = chain.get(0);
        List<String> names = new ArrayList<>();
        try {
            if (leaf.getSubjectAlternativeNames() != null) {
                for (List<?> san : leaf.getSubjectAlternativeNames()) {
                    if (san.size() >= 2 && Integer.valueOf(2).equals(san.get(0))) {
                        names.add(String.valueOf(san.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            throw new IllegalStateException("the CA's certificate has unreadable names: " + e.getMessage(), e);
        }
        return new TlsCertificate(Pem.certificates(chain), names, leaf.getIssuerX500Principal().getName(),
                leaf.getNotBefore().getTime(), leaf.getNotAfter().getTime(), leaf.getSerialNumber().toString(16), by,
                System.currentTimeMillis());
    }

    /** An error in one line, with its cause when that says more. */
    static String message(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        Throwable cause = e.getCause();
        if (cause != null && cause.getMessage() != null && !m.contains(cause.getMessage())) {
            m += ": " + cause.getMessage();
        }
        return m.replace('\n', ' ');
    }

    /** Gives the duty up (another node takes it at once) and stops; the challenge records go with the lease or now. */
    @Override
    public void close() {
        closed = true;
        DaemonThreads.stop(thread, Duration.ofSeconds(5));
        Unsaved u = unsaved;
        if (u != null) {
            log.warn("acme: stopping with a certificate the CA issued that etcd never took (serial {}); the next holder"
                    + " orders another", u.certificate().serial());
        }
        election.close();
    }
}
