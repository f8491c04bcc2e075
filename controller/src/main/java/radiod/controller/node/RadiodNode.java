package radiod.controller.node;

import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.etcd.jetcd.Client;
import radiod.cluster.admin.AdminTokens;
import radiod.cluster.election.Candidate;
import radiod.cluster.election.Election;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.etcd.Keys;
import radiod.cluster.liveness.RefusedPeers;
import radiod.cluster.model.Endpoint;
import radiod.cluster.model.Json;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.presence.Presence;
import radiod.cluster.view.ClusterSnapshot;
import radiod.cluster.view.ClusterView;
import radiod.controller.config.RadiodConfig;

/**
 * One radiod node: wires the etcd session, the cluster view, presence, the master election, the local
 * Icecast and the public fronts together, and takes them down in the reverse order.
 *
 * <p>Invariant: this node acts as master (its Icecast takes sources) only while its election says it is
 * leader; the moment it is not, the Icecast plan falls back to relaying (or standby), whatever the view
 * still shows.
 */
public final class RadiodNode implements AutoCloseable {
    public static final String VERSION = Optional.ofNullable(RadiodNode.class.getPackage().getImplementationVersion())
            .orElse("dev");
    private static final Logger log = LoggerFactory.getLogger(RadiodNode.class);

    private final RadiodConfig config;
    private final String name;
    private final EtcdOptions etcdOptions;
    private final Keys keys;
    private final ScheduledExecutorService control;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Tells this process apart from an earlier or later one under the same name (RefusedPeers). */
    private final String instance = UUID.randomUUID().toString();

    private Client client;
    private EtcdSession session;
    private ClusterView view;
    private volatile Presence presence;
    /** What this node last wrote as the {@code master} value. */
    private volatile MasterInfo claimed;
    private RefusedPeers refusedPeers;
    private Candidate election;
    private final Parts parts;
    private AdminTokens adminTokens;
    /** The cluster's admin token as last read from etcd, or null before the first read. */
    private volatile String adminToken;
    private final AtomicBoolean adminTokenReading = new AtomicBoolean();
    private final AtomicLong adminTokenReadAt = new AtomicLong();

    public RadiodNode(RadiodConfig config) {
        this.config = config;
        this.name = config.node().name();
        this.etcdOptions = config.etcd().options();
        this.keys = etcdOptions.keys();
        this.control = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "radiod-control");
            t.setDaemon(true);
            return t;
        });
        this.parts = new Parts(config, this);
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
        return parts.tls();
    }

    /** Whether this node acts as master right now (fenced by the lease's validity). */
    public boolean isMaster() {
        return election != null && election.isLeader();
    }

    /** The cluster's admin token, for the {@code /_admin/} endpoints; null until it has been read from etcd. */
    public String adminToken() {
        return adminToken;
    }

    public ClusterSnapshot view() {
        return view == null ? ClusterSnapshot.EMPTY : view.current();
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

    public void start() {
        client = EtcdClients.connect(etcdOptions);
        session = new EtcdSession(client, config.leaseTtl());
        view = new ClusterView(client, keys, etcdOptions.callTimeout());
        parts.startLocal();
        election = new Candidate(session, keys.master(), () -> {
            MasterInfo info = masterInfo();
            claimed = info;
            return Json.encode(info);
        }, new Election.Listener() {
            @Override
            public void elected() {
                log.info("this node is now the master");
                control.execute(RadiodNode.this::reconcile);
                statusChanged();
            }

            @Override
            public void deposed() {
                log.warn("this node is no longer the master");
                control.execute(RadiodNode.this::reconcile);
                statusChanged();
            }
        });
        presence = new Presence(session, keys, name, this::status, Duration.ofSeconds(1));
        view.addListener(s -> control.execute(this::reconcile));
        parts.startCluster(session, view, keys);
        view.start();
        session.start();
        presence.start();
        election.start();
        // A killed peer's roles move as soon as its host refuses its port, not when its lease expires.
        refusedPeers = new RefusedPeers(client, etcdOptions, view::current, name).start();
        control.scheduleWithFixedDelay(this::reconcile, 1, 1, TimeUnit.SECONDS);
        adminTokens = new AdminTokens(client, etcdOptions);
        control.scheduleWithFixedDelay(this::readAdminToken, 0, 1, TimeUnit.SECONDS);
        log.info("radiod {} node {} started (etcd {}, prefix {})", VERSION, name, etcdOptions.endpoints(), keys.prefix());
    }

    /** Brings the local parts in line with the view and this node's role; runs on the control thread. */
    private void reconcile() {
        if (closed.get()) {
            return;
        }
        try {
            ClusterSnapshot v = view.current();
            boolean drained = v.isDrained(name);
            election.setEligible(!drained);
            parts.reconcile(actionableView(), isMaster());
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
        if (closed.get() || adminToken != null && now - adminTokenReadAt.get() < TimeUnit.SECONDS.toNanos(10)
                || !adminTokenReading.compareAndSet(false, true)) {
            return;
        }
        adminTokens.getOrCreate().whenComplete((token, e) -> {
            adminTokenReading.set(false);
            if (e != null) {
                log.debug("cannot read the admin token yet: {}", e.toString());
                return;
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
        if (p != null) {
            p.publishSoon();
        }
    }

    private MasterInfo masterInfo() {
        return new MasterInfo(name, config.node().addresses(), config.icecast().port(), config.source().port(),
                config.http().port(), System.currentTimeMillis());
    }

    /** What this node publishes under {@code nodes/<name>}. */
    NodeStatus status() {
        ClusterSnapshot v = view();
        Parts.Usage usage = parts.usage();
        return new NodeStatus(name, config.node().addresses(), config.http().port(), config.source().port(),
                config.icecast().port(), config.dns().port(), usage.icecastUp(), v.isDrained(name), isMaster(),
                usage.listeners(), usage.listenersByMount(), usage.bandwidthBps(),
                config.limits().maxBandwidthMbps() * 1_000_000L, config.limits().maxListeners(), parts.transcoders(),
                VERSION, System.currentTimeMillis(), parts.sources(), Endpoint.listening(config.node().bind(),
                config.node().addresses(), config.http().port()).map(Endpoint::toString).orElse(""), instance);
    }

    /** Resigns mastership, stops transcoders and fronts, revokes the lease and stops Icecast. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        closeQuietly(refusedPeers);
        closeQuietly(election);
        parts.closeCluster();
        closeQuietly(presence);
        closeQuietly(session);
        parts.closeLocal();
        closeQuietly(view);
        control.shutdownNow();
        closeQuietly(client);
        log.info("node {} stopped", name);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            log.warn("while stopping: {}", e.toString());
        }
    }
}
