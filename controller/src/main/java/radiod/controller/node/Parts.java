package radiod.controller.node;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Mount;
import radiod.cluster.mounts.TitleStore;
import radiod.cluster.view.ClusterSnapshot;
import radiod.cluster.view.ClusterView;
import radiod.controller.config.RadiodConfig;
import radiod.controller.icecast.IcecastPlan;
import radiod.controller.icecast.IcecastSettings;
import radiod.controller.icecast.IcecastStats;
import radiod.controller.icecast.IcecastStatusReader;
import radiod.controller.icecast.IcecastSupervisor;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import radiod.dns.server.DnsServer;
import radiod.redirector.HttpFront;
import radiod.redirector.access.AccessLog;
import radiod.redirector.access.ClientAddresses;
import radiod.redirector.access.ListenerSessions;
import radiod.redirector.admin.AdminApi;
import radiod.redirector.carry.Carrier;
import radiod.redirector.carry.Hubs;
import radiod.redirector.listen.HttpFrontSettings;
import radiod.redirector.listen.HttpsSettings;
import radiod.redirector.metrics.VertxMeters;
import radiod.redirector.tls.ServerTls;
import radiod.controller.tls.ClusterCertificates;
import radiod.redirector.source.SourceFront;
import radiod.redirector.source.SourceFrontSettings;
import radiod.redirector.status.IcecastStatusJson;
import radiod.redirector.stream.Catalog;
import radiod.redirector.stream.Passthrough;
import radiod.redirector.stream.PassthroughSettings;
import radiod.transcoder.Transcoders;
import radiod.dns.zone.DnsSettings;
import radiod.lifecycle.Components;

/**
 * The node's working parts around the coordination core: the local Icecast, the public fronts and the duties
 * (transcoders, the ACME certificate). Each part is pushed on the node's {@link Components} as it starts, so it
 * closes in the reverse order; the parts know the node only through {@link Node}'s suppliers.
 */
final class Parts {
    /**
     * What the parts read of their node, never hold: the view as it is and as the node must act on it, whether this
     * node is master, the admin token, and the way to tell it that something it publishes has changed.
     */
    record Node(String name, Supplier<ClusterSnapshot> view, Supplier<ClusterSnapshot> actionableView,
                BooleanSupplier isMaster, Supplier<String> adminToken, Runnable statusChanged) {
    }

    /**
     * What the node publishes about its load: listeners are radiod's own listener sessions (never Icecast's count,
     * which holds radiod's readers); a mount is in {@code listenersByMount} when it is live on this node's Icecast:
     * Icecast's status lists it, or (while Icecast is up) this node's feed of it is on Icecast with its first audio
     * written, which Icecast's status shows up to ~0.3 s later (its stats thread drains its queue every 300 ms).
     */
    record Usage(boolean icecastUp, int listeners, Map<String, Integer> listenersByMount, long bandwidthBps) {
    }

    private static final Logger log = LoggerFactory.getLogger(Parts.class);

    private final RadiodConfig config;
    private final Node node;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private IcecastSupervisor icecast;
    private Vertx vertx;
    private volatile SourceFront sourceFront;
    /** Set once the fronts start (on the thread that starts them); used on the control thread. */
    private volatile StaleTitles staleTitles;
    private volatile Carrier carrier;
    private volatile Passthrough passthrough;
    private volatile long bandwidthBps;
    private long lastBytes;
    private long lastBytesNanos;
    private volatile Transcoders transcoders;
    /** The TLS ports' certificate: what {@code tls.certificate_file} (or ACME) gives it. */
    private final ServerTls tls = new ServerTls(); // its meters once Vert.x has set up the registry

    Parts(RadiodConfig config, Node node) {
        this.config = config;
        this.node = node;
    }

    /** Parts that need nothing from etcd: the TLS certificate files, the local Icecast (standby until there is a master). */
    void startLocal(Components parts) {
        if (config.tls().certificateFile() != null) {
            CertificateFiles certificateFiles = new CertificateFiles(config.tls(), tls);
            certificateFiles.load(); // a pair that cannot be served stops the start, naming the field
            parts.adopt(certificateFiles.watch());
        }
        RadiodConfig.Icecast ic = config.icecast();
        boolean root = IcecastSettings.runningAsRoot();
        IcecastSettings settings = IcecastSettings.of(ic.dir(), IcecastSettings.bindFor(config.node().bind()), ic.port(), config.node().addresses().get(0))
                .withBinary(ic.binary())
                .withLimits(20_000, 100)
                .withRunAs(root ? ic.user() : null, root ? groupOf(ic.user()) : null);
        icecast = parts.adopt(new IcecastSupervisor(settings, new IcecastStatusReader(settings,
                path -> node.view().get().mount(path).map(Mount::bitsPerSecond).orElse(0L)), node.statusChanged()));
        icecast.start();
    }

    private static String groupOf(String user) {
        return IcecastSettings.DEBIAN_USER.equals(user) ? IcecastSettings.DEBIAN_GROUP : user;
    }

    /**
     * The public fronts; they read the view, never etcd. Returns once their ports are open: a port that cannot be
     * bound stops radiod at start.
     *
     * @param reachable the view without the peers that refuse connections now: where listeners are sent
     */
    void startFronts(Components parts, EtcdSession session, ClusterView view, Supplier<ClusterSnapshot> reachable) {
        // epoll where Linux has it (DNS on every event loop with SO_REUSEPORT, fewer syscalls); NIO otherwise.
        // Before any meter of the fronts: Vert.x's metrics add a filter to the registry, and Micrometer warns about
        // a filter that comes after meters.
        vertx = Vertx.vertx(vertxOptions().setMetricsOptions(
                VertxMeters.options(registry)));
        AccessLog accessLog;
        try {
            accessLog = config.http().accessLogFile().map(this::openAccessLog).map(parts::adopt).orElse(null);
        } catch (RuntimeException e) {
            closeVertx();
            throw e;
        }
        // The listeners' connections close with Vert.x: their sessions are logged before the log closes.
        parts.adopt(this::closeVertx);
        NodeMetrics nodeMetrics = new NodeMetrics(registry, this::usage);
        nodeMetrics.icecastRestarts(registry, icecast::crashRestarts, icecast::hangRestarts);
        vertx.setPeriodic(1000, t -> nodeMetrics.refresh());
        tls.meters(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        List<Future<?>> started = new ArrayList<>();
        String bind = config.node().bind();
        String localIcecast = icecast.settings().localHost(); // loopback: radiod is Icecast's only client
        ListenerSessions sessions = new ListenerSessions(node.name(),
                new ClientAddresses(config.http().trustedProxies(), view::current), accessLog);
        passthrough = new Passthrough(vertx, registry, localIcecast, config.icecast().port(),
                PassthroughSettings.DEFAULTS, sessions);
        parts.adopt(passthrough::close);
        passthrough.catalog(new Catalog() {
            @Override
            public Optional<String> title(String mount) {
                return view.current().title(mount);
            }

            @Override
            public long bitsPerSecond(String mount) {
                return view.current().mount(mount).map(Mount::bitsPerSecond).orElse(0L);
            }
        });
        vertx.setPeriodic(1000, t -> sampleBandwidth());
        Carrier carried = parts.adopt(new Carrier(vertx, localIcecast, config.icecast().port(),
                icecast.settings().sourcePassword(), registry));
        // As master, its own pulls and encoders go to its own source port, not to a published address that may be
        // a NAT's (unreachable from inside without hairpin NAT)
        carried.selfAt(node.name(), config.node().ownAddress());
        carrier = carried;
        carried.onFeedTaken(mount -> {
            icecast.pollSoon(); // Icecast's status catches up (listeners, bandwidth, and a mount it drops)
            return passthrough.warm(mount); // and this node's reads of it are at Icecast before its first audio
        });
        // Published live once its first audio is on Icecast, not when Icecast's status lists it (up to ~0.3 s
        // later); a feed that ended is published off once Icecast's status drops it, polled at the fast pace
        carried.onIcecastChanged(() -> {
            node.statusChanged().run();
            icecast.pollSoon();
        });
        HttpFront http = new HttpFront(vertx, new HttpFrontSettings(node.name(), bind, config.http().port(),
                config.balancer().pipeline(), config.balancer().proxyUserAgents(), config.balancer().clusterUrl(), 5,
                localIcecast, config.icecast().port()), view::current, reachable, node.isMaster(), passthrough, registry,
                new AdminApi(node.name(), node.adminToken(), sessions));
        if (config.tls().enabled()) {
            http.https(tls, https());
        }
        http.streams(m -> carried.sessionOf(m).map(c -> new IcecastStatusJson.Stream(c.headers(), c.since())),
                RadiodNode.VERSION);
        http.icecastOutOfService(icecast::outOfService);
        // Only while this node's lease is vouched for (etcd has quorum and answers it): a view etcd no longer updates
        // (a quorum lost, this node cut from etcd) still shows the peers' mounts after their Icecasts dropped them,
        // and players would be sent from node to node.
        http.mountLostMillis(mount -> {
            long lost = icecast.mountLostMillis(mount);
            return lost > 0 && session.validLease().isPresent() ? lost : 0;
        });
        started.add(parts.adopt(http).start());
        SourceFront source = new SourceFront(vertx, SourceFrontSettings.of(bind, config.source().port(),
                config.node().addresses().get(0), config.http().port()), node.actionableView(),
                () -> session.validLease().isEmpty(), new Hubs(vertx, node.isMaster(), node.name(), registry), registry);
        source.selfAt(node.name(), config.node().ownAddress());
        if (config.tls().enabled()) {
            source.tls(tls, config.tls().sourcePort(), https().base(node.name()));
        }
        TitleStore titleStore = new TitleStore(session.client(), config.etcd().options());
        source.titles(new NodeTitles(titleStore, node.name(), carried::session, mount -> node.view().get().nodes()
                .values().stream().map(n -> n.sources().getOrDefault(mount, "")).filter(s -> !s.isEmpty())
                .collect(java.util.stream.Collectors.toSet())));
        staleTitles = new StaleTitles(node.name(), titleStore::clearIfSession);
        sourceFront = parts.adopt(source);
        started.add(source.start());
        if (config.dns().enabled()) {
            DnsSettings settings = config.dns().settings().withListen(config.node().bind(), config.dns().port());
            started.add(parts.adopt(new DnsServer(vertx, settings, view::current, registry)).start());
        }
        try {
            Future.all(started).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new IllegalStateException("cannot open the public ports on " + config.node().bind() + ": " + cause.getMessage(), cause);
        }
    }

    /** The duties an election hands out: transcoders and, when {@code tls.acme} is set, the ACME certificate. */
    void startDuties(Components parts, EtcdSession session, ClusterView view, Keys keys) throws Exception {
        String localIcecast = icecast.settings().localHost();
        transcoders = parts.start(new Transcoders(session, keys, node.name(),
                new Transcoders.Settings(config.transcoder().liquidsoap(), config.transcoder().dir(),
                        localIcecast, config.icecast().port(), config.node().ownAddress(), config.source().port()), registry,
                () -> {
                    Carrier c = carrier;
                    return c == null ? -1 : c.masterLinkDownSince();
                }));
        if (config.tls().acme() != null) {
            // The certificate in etcd, got and renewed by whichever node holds the ACME duty, onto this node's TLS
            // ports (they open with the first one). It resigns the duty with the node's other elections.
            parts.adopt(ClusterCertificates.start(session, config.etcd().options(), view, node.name(), config.dns().zone(),
                    Optional.of(config.tls().acme()), (chain, key, origin) -> {
                        ServerTls.Result r = tls.apply(chain, key, origin);
                        if (!r.ok()) {
                            throw new IllegalStateException(r.message());
                        }
                    }, registry));
        }
    }

    /**
     * One event loop per core (the HTTP front serves one instance on each; Vert.x's default, two per core, left
     * half of them to timers and clients) and small blocking pools: radiod runs no blocking code on Vert.x, and a
     * pool's threads, once started, stay. System properties radiod.vertx.eventLoops, radiod.vertx.workers and
     * radiod.vertx.internalBlocking set other sizes.
     */
    static VertxOptions vertxOptions() {
        return new VertxOptions().setPreferNativeTransport(true)
                .setEventLoopPoolSize(Integer.getInteger("radiod.vertx.eventLoops", Runtime.getRuntime().availableProcessors()))
                .setWorkerPoolSize(Integer.getInteger("radiod.vertx.workers", 4))
                .setInternalBlockingPoolSize(Integer.getInteger("radiod.vertx.internalBlocking", 4));
    }

    private void closeVertx() {
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.warn("while stopping Vert.x: {}", e.toString());
        }
    }

    /** Opens the access log, or stops radiod's start with the reason, naming the setting. */
    private AccessLog openAccessLog(java.nio.file.Path file) {
        try {
            AccessLog l = AccessLog.open(file, registry);
            log.info("access log: {}", l.path());
            return l;
        } catch (java.io.IOException e) {
            throw new IllegalStateException("http.access_log: cannot open " + file + " for writing: " + e, e);
        }
    }

    /** The HTTPS port and the zone its URLs name nodes in. */
    private HttpsSettings https() {
        return new HttpsSettings(config.tls().httpsPort(), config.dns().zone());
    }

    /** The certificate the TLS ports serve: what the ACME part gives new material to ({@link ServerTls#apply}). */
    ServerTls tls() {
        return tls;
    }

    PrometheusMeterRegistry registry() {
        return registry;
    }

    /** On the control thread: bring every part in line with the actionable view. */
    void reconcile(ClusterSnapshot view, boolean master) {
        icecast.apply(IcecastPlan.of(view));
        StaleTitles stale = staleTitles;
        if (stale != null) {
            stale.check(view, master, System.nanoTime());
        }
        Transcoders t = transcoders;
        if (t != null) {
            t.viewChanged(view);
        }
        Carrier c = carrier;
        if (c != null) {
            c.viewChanged(view);
        }
        SourceFront f = sourceFront;
        if (f != null) {
            f.viewChanged(view);
        }
    }

    Usage usage() {
        IcecastStats s = icecast.stats();
        Passthrough p = passthrough;
        Map<String, Integer> counted = p == null ? Map.of() : p.listenersByMount();
        Map<String, Integer> byMount = new TreeMap<>();
        for (String mount : s.listenersByMount().keySet()) {
            byMount.put(mount, counted.getOrDefault(mount, 0));
        }
        Carrier c = carrier;
        if (s.up() && c != null) {
            for (String mount : c.onIcecast()) {
                byMount.putIfAbsent(mount, counted.getOrDefault(mount, 0));
            }
        }
        return new Usage(s.up(), p == null ? 0 : p.listeners(), byMount, bandwidthBps);
    }

    /** Once a second: the rate at which this node sends its listeners audio. */
    private void sampleBandwidth() {
        Passthrough p = passthrough;
        long now = System.nanoTime();
        long bytes = p.bytesSent();
        if (lastBytesNanos != 0 && now > lastBytesNanos) {
            bandwidthBps = (bytes - lastBytes) * 8 * 1_000_000_000L / (now - lastBytesNanos);
        }
        lastBytes = bytes;
        lastBytesNanos = now;
    }

    /** The encoders this node holds: their session, by mount. */
    Map<String, String> sources() {
        SourceFront f = sourceFront;
        return f == null ? Map.of() : f.sessions();
    }

    List<String> transcoders() {
        Transcoders t = transcoders;
        return t == null ? List.of() : t.running();
    }

}
