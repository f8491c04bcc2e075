package radiod.controller.node;

import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import radiod.cluster.admin.AdminTokens;
import radiod.cluster.election.Candidate;
import radiod.cluster.election.Election;
import radiod.cluster.etcd.EtcdConnection;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.etcd.Keys;
import radiod.cluster.etcd.MemberProbe;
import radiod.cluster.liveness.ReachableView;
import radiod.cluster.liveness.RefusedPeers;
import radiod.cluster.model.Endpoint;
import radiod.cluster.model.Json;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.presence.Presence;
import radiod.cluster.view.ClusterSnapshot;
import radiod.cluster.view.ClusterView;
import radiod.controller.config.RadiodConfig;
import radiod.lifecycle.Component;
import radiod.lifecycle.Components;
import radiod.lifecycle.DaemonThreads;
import radiod.lifecycle.Lifecycle;

/**
 * One radiod node: wires the etcd session, the cluster view, presence, the master election, the local
 * Icecast and the public fronts together. Each part is pushed on a {@link Components} stack as it starts, so the
 * node closes them in the reverse order by construction: first the elections (a clean stop hands mastership over
 * at once), then the duties, presence and fronts, then the lease, Icecast, the view and the etcd client.
 *
 * <p>Invariant: this node acts as master (its Icecast takes sources) only while its election says it is
 * leader; the moment it is not, the Icecast plan falls back to relaying (or standby), whatever the view
 * still shows.
 */
public final class RadiodNode implements Component {
    public static final String VERSION = Optional.ofNullable(RadiodNode.class.getPackage().getImplementationVersion())
            .orElse("dev");
    private static final Logger log = LoggerFactory.getLogger(RadiodNode.class);

    private final RadiodConfig config;
    private final String name;
    private final EtcdOptions etcdOptions;
    private final Keys keys;
    private final ScheduledExecutorService control;
    private final Lifecycle lifecycle;
    private final Components parts;
    /** Tells this process apart from an earlier or later one under the same name (RefusedPeers). */
    private final String instance = UUID.randomUUID().toString();

    private volatile ClusterView view;
    private volatile Presence presence;
    /** What this node last wrote as the {@code master} value. */
    private volatile MasterInfo claimed;
    private volatile Candidate election;
    private final Parts local;
    private AdminTokens adminTokens;
    /** The cluster's admin token as last read from etcd, or null before the first read. */
    private volatile String adminToken;
    private final AtomicBoolean adminTokenReading = new AtomicBoolean();
    /** The admin token key in etcd was found empty at the last read (warned once). */
    private volatile boolean adminTokenEmpty;
    private final AtomicLong adminTokenReadAt = new AtomicLong();

    public RadiodNode(RadiodConfig config) {
        this.config = config;
        this.name = config.node().name();
        this.etcdOptions = config.etcd().options();
        this.keys = etcdOptions.keys();
        this.control = DaemonThreads.scheduled("radiod-control");
        this.lifecycle = new Lifecycle("node " + name);
        this.parts = new Components("node " + name);
        this.local = new Parts(config, new Parts.Node(name, this::view, this::actionableView, this::isMaster,
                this::adminToken, this::statusChanged));
    }

    public String name() {
        return name;
    }

    public RadiodConfig config() {
        return config;
    }

    /**
     * The certificate this node's TLS ports serve, and where new material goes
     * ({@link radiod.redirector.tls.ServerTls#apply(String, String, String)}).
     */
    public radiod.redirector.tls.ServerTls tls() {
        return local.tls();
    }

    /** Whether this node acts as master right now (fenced by the lease's validity). */
    public boolean isMaster() {
        Candidate e = election;
        return e != null && e.isLeader();
    }

    /** The cluster's admin token, for the {@code /_admin/} endpoints; null until it has been read from etcd. */
    public String adminToken() {
        return adminToken;
    }

    public ClusterSnapshot view() {
        ClusterView v = view;
        return v == null ? ClusterSnapshot.EMPTY : v.current();
    }

    /**
     * The view as this node must act on it: if the view still names this node master while the election
     * says otherwise (fenced, or the key not yet expired), there is no master as far as this node goes; if the
     * election says this node is master before the view has seen its key (the watch can lag by seconds while etcd
     * recovers from a partition), this node is master already, so its encoders and pulls come to it at once.
     */
    public ClusterSnapshot actionableView() {
        ClusterSnapshot v = view();
        boolean leader = isMaster();
        if (v.isMaster(name) && !leader) {
            return v.withMaster(Optional.empty());
        }
        MasterInfo mine = claimed;
        if (leader && !v.isMaster(name) && mine != null) {
            return v.withMaster(Optional.of(mine));
        }
        return v;
    }

    /**
     * Starts the parts, each after those it uses: the etcd client, the control thread and the view; the local
     * Icecast; the lease; the public fronts (their ports open before this node is published); presence; the duties;
     * the master election; the refused-port watch. Throws when a part cannot start; {@link #close()} then stops
     * those that did.
     */
    @Override
    public void start() {
        lifecycle.start();
        try {
            startParts();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("node " + name + ": cannot start: " + e.getMessage(), e);
        }
        log.info("radiod {} node {} started (etcd {}, prefix {})", VERSION, name, etcdOptions.endpoints(), keys.prefix());
    }

    private void startParts() throws Exception {
        EtcdConnection client = parts.adopt(EtcdConnection.open(etcdOptions));
        // Keeps the client away from a member that stops answering (a partition), within two periods, and renews it
        // when etcd answers again after no member could be reached (also with one member: gRPC's reconnect backoff).
        parts.adopt(new MemberProbe(client, etcdOptions, Duration.ofMillis(Math.max(500, config.leaseTtl().toMillis() / 5)))
                .start());
        parts.adopt(() -> DaemonThreads.stop(control, Duration.ofSeconds(1)));
        view = parts.adopt(new ClusterView(client, keys, etcdOptions.callTimeout()).start());
        local.startLocal(parts);
        EtcdSession session = parts.adopt(new EtcdSession(client, config.leaseTtl()).start());
        // A killed peer gets no listener once its host refuses its port, and its roles move soon after (started
        // below), not when its lease expires.
        RefusedPeers refused = parts.adopt(new RefusedPeers(client, etcdOptions, view::current, name));
        local.startFronts(parts, session, view, new ReachableView(view::current, refused::refusing));
        // Meters only once the fronts' Vert.x has set up the registry (it adds a meter filter; Micrometer warns about
        // a filter that comes after meters)
        Gauge.builder("radiod.etcd.members.configured", client, c -> c.allEndpoints().size())
                .description("etcd members in this node's etcd.endpoints").register(local.registry());
        Gauge.builder("radiod.etcd.members.in.use", client, c -> c.endpoints().size())
                .description("etcd members this node talks to: fewer than configured while its probe keeps away from some")
                .register(local.registry());
        FunctionCounter.builder("radiod.etcd.client.rebuilds", client, EtcdConnection::reconnects)
                .description("times this node rebuilt its etcd client on other members").register(local.registry());
        Gauge.builder("radiod.peers.refusing", refused, r -> r.refusing().size())
                .description("peers whose HTTP port refused this node's last probe: it sends them no listeners")
                .register(local.registry());
        presence = parts.adopt(new Presence(session, keys, name, this::status, Duration.ofSeconds(1)).start());
        local.startDuties(parts, session, view, keys);
        Candidate candidate = new Candidate(session, keys.master(), () -> {
            MasterInfo info = masterInfo();
            claimed = info;
            return Json.encode(info);
        }, new Election.Listener() {
            @Override
            public void elected() {
                log.info("this node is now the master");
                onControl(RadiodNode.this::reconcile);
                statusChanged();
            }

            @Override
            public void deposed() {
                if (!lifecycle.isStarted()) {
                    log.info("this node is no longer the master: it is stopping, another takes over");
                } else if (view.current().isDrained(name)) {
                    log.info("this node is no longer the master: it is drained, another takes over");
                } else {
                    log.warn("this node is no longer the master");
                }
                onControl(RadiodNode.this::reconcile);
                statusChanged();
            }
        });
        // Not a candidate until the view has been read: a node drained while it was down would otherwise run at once,
        // and win when it starts first, to hand over as soon as it read its drain (see reconcile).
        candidate.setEligible(false);
        election = parts.start(candidate);
        view.addListener(s -> onControl(this::reconcile));
        refused.start();
        control.scheduleWithFixedDelay(this::reconcile, 0, 1, TimeUnit.SECONDS);
        adminTokens = new AdminTokens(client, etcdOptions);
        control.scheduleWithFixedDelay(this::readAdminToken, 0, 1, TimeUnit.SECONDS);
    }

    /** Brings the local parts in line with the view and this node's role; runs on the control thread. */
    private void reconcile() {
        if (!lifecycle.isStarted()) {
            return;
        }
        try {
            ClusterSnapshot v = view.current();
            election.setEligible(v.isRead() && !v.isDrained(name));
            local.reconcile(actionableView(), isMaster());
        } catch (RuntimeException e) {
            log.error("reconcile failed", e);
        }
    }

    /**
     * Reads the admin token (creating it if no node has yet), at once at start and then every 10 s, so that a token
     * deleted by the operator is replaced and every node has the new one within seconds. Never waits for etcd: the
     * answer is taken when it comes.
     */
    private void readAdminToken() {
        long now = System.nanoTime();
        if (!lifecycle.isStarted() || adminToken != null && now - adminTokenReadAt.get() < TimeUnit.SECONDS.toNanos(10)
                || !adminTokenReading.compareAndSet(false, true)) {
            return;
        }
        adminTokens.getOrCreate().whenComplete((token, e) -> {
            adminTokenReading.set(false);
            Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof AdminTokens.EmptyTokenException empty) {
                // An operator's mistake that no node mends by itself: said once, until it is mended.
                if (!adminTokenEmpty) {
                    adminTokenEmpty = true;
                    log.warn("{}; until then this node's /_admin/ keeps the token it read before ({}), and radioctl's"
                            + " listener commands fail", empty.getMessage(), adminToken == null ? "none yet" : "it has one");
                }
                return;
            }
            if (e != null) {
                log.debug("cannot read the admin token yet: {}", e.toString());
                return;
            }
            if (adminTokenEmpty) {
                adminTokenEmpty = false;
                log.info("the admin token in etcd is no longer empty");
            }
            adminTokenReadAt.set(now);
            if (!token.equals(adminToken)) {
                log.info(adminToken == null ? "admin token read from etcd" : "admin token changed in etcd");
                adminToken = token;
            }
        });
    }

    /** Something others act on changed (role, live mounts, Icecast up/down): publish now, not at the next tick. */
    void statusChanged() {
        Presence p = presence;
        if (p != null && lifecycle.isStarted()) {
            try {
                p.publishSoon();
            } catch (RejectedExecutionException e) {
                // presence has stopped: the node is closing
            }
        }
    }

    private void onControl(Runnable task) {
        try {
            control.execute(task);
        } catch (RejectedExecutionException e) {
            // the node is closing
        }
    }

    private MasterInfo masterInfo() {
        return new MasterInfo(name, config.node().addresses(), config.icecast().port(), config.source().port(),
                config.http().port(), System.currentTimeMillis());
    }

    /** What this node publishes under {@code nodes/<name>}. */
    NodeStatus status() {
        ClusterSnapshot v = view();
        Parts.Usage usage = local.usage();
        return new NodeStatus(name, config.node().addresses(), config.http().port(), config.source().port(),
                config.icecast().port(), config.dns().port(), usage.icecastUp(), v.isDrained(name), isMaster(),
                usage.listeners(), usage.listenersByMount(), usage.bandwidthBps(),
                config.limits().maxBandwidthMbps() * 1_000_000L, config.limits().maxListeners(), local.transcoders(),
                VERSION, System.currentTimeMillis(), local.sources(), Endpoint.listening(config.node().bind(),
                config.node().addresses(), config.http().port()).map(Endpoint::toString).orElse(""), instance);
    }

    /** Resigns mastership, stops the duties and fronts, revokes the lease and stops Icecast: reverse start order. */
    @Override
    public void close() {
        if (!lifecycle.close()) {
            return;
        }
        parts.close();
        log.info("node {} stopped", name);
    }
}
