package radiod.redirector.carry;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.view.ClusterSnapshot;

/**
 * Carries every mount of the cluster to this node's Icecast: one {@link Pull} (from the master's hub) and one
 * {@link Feed} (to the local Icecast) per mount, on one event loop. It follows the fenced view: a new master is
 * dialed the moment the view names it, no polling and no Icecast retry timer involved.
 */
public final class Carrier implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Carrier.class);

    private final Vertx vertx;
    private final Context context;
    private final NetClient pulls;
    private final NetClient feeds;
    private final String icecastHost;
    private final int icecastPort;
    private final String icecastPassword;
    private final Map<String, Pull> byMount = new HashMap<>();
    private final long timer;
    private volatile Set<String> live = Set.of();
    private volatile Set<String> onIcecast = Set.of();
    private volatile Runnable onIcecastChanged = () -> { };
    /** The source session each mount carries now. */
    private volatile Map<String, Session> sessions = Map.of();

    /**
     * A source session as this node carries it.
     *
     * @param id      the session's id
     * @param headers its stream headers ({@code content-type}, {@code ice-name}, …), lower-case names
     * @param since   when this node saw it start, epoch milliseconds
     */
    public record Session(String id, Map<String, String> headers, long since) {
    }
    private volatile int connected;
    /** Whether the view names a master (whose hub the pulls dial). On the context. */
    private boolean masterNamed;
    /** Since when no pull has been connected while there are pulls and a master is named; -1 while one is. */
    private volatile long linkDownSinceNanos = -1;
    private volatile Function<String, Future<?>> feedTaken = mount -> Future.succeededFuture();
    private volatile String selfName;
    private volatile String selfAddress;

    /**
     * @param icecastHost     this node's Icecast
     * @param icecastPassword its global source password (random, known only to this node)
     */
    public Carrier(Vertx vertx, String icecastHost, int icecastPort, String icecastPassword, MeterRegistry registry) {
        this.vertx = vertx;
        this.icecastHost = icecastHost;
        this.icecastPort = icecastPort;
        this.icecastPassword = icecastPassword;
        this.context = vertx.getOrCreateContext();
        this.pulls = vertx.createNetClient(new NetClientOptions().setConnectTimeout(1000).setTcpNoDelay(true));
        this.feeds = vertx.createNetClient(new NetClientOptions().setConnectTimeout(2000).setTcpNoDelay(true));
        Gauge.builder("radiod.carry.pulls", () -> connected)
                .description("mounts this node pulls from the master, connected now").register(registry);
        Gauge.builder("radiod.carry.feeds", () -> live.size())
                .description("mounts this node feeds to its Icecast").register(registry);
        this.timer = vertx.setPeriodic(1000, t -> context.runOnContext(v -> tick()));
    }

    /**
     * This node's name and the address its own source port answers on: while it is the master, its pulls dial
     * that address, not the one it publishes (which may be a NAT's, unreachable from inside without hairpin NAT).
     */
    public void selfAt(String node, String ownAddress) {
        selfName = node;
        selfAddress = ownAddress;
    }

    /**
     * Told the mount, on the event loop, each time the local Icecast takes its feed: the mount is about to show as
     * live. Its first audio is written once the future the listener returns completes (on any thread), or after
     * {@link Feed#FIRST_WRITE_MAX_MILLIS} at the latest.
     */
    public void onFeedTaken(Function<String, Future<?>> listener) {
        feedTaken = listener;
    }

    /**
     * Told, on the event loop, when {@link #onIcecast()} changes: a mount's audio reached this node's Icecast, or its
     * feed there ended.
     */
    public void onIcecastChanged(Runnable listener) {
        onIcecastChanged = listener;
    }

    private Future<?> fed(String mount) {
        try {
            return feedTaken.apply(mount);
        } catch (RuntimeException e) {
            log.warn("feed listener failed: {}", e.toString());
            return Future.succeededFuture();
        }
    }

    /** Follow the fenced view (any thread). */
    public void viewChanged(ClusterSnapshot view) {
        context.runOnContext(v -> apply(view));
    }

    /** Mounts whose stream this node feeds to its Icecast now. */
    public Set<String> live() {
        return live;
    }

    /**
     * Mounts this node's Icecast has now because this node feeds them: taken, first audio written, connection up.
     * Icecast's status lists a new one only up to ~0.3 s later.
     */
    public Set<String> onIcecast() {
        return onIcecast;
    }

    /**
     * Since when ({@link System#nanoTime()}) this node has had no link up to the master's hub: none of its pulls
     * connected while the view names a master. -1 while one is, or while there is nothing to link (no mount, no
     * master). Any thread.
     */
    public long masterLinkDownSince() {
        return linkDownSinceNanos;
    }

    /** The source session this node carries for the mount now, or empty. */
    public String session(String mount) {
        Session s = sessions.get(mount);
        return s == null ? "" : s.id();
    }

    /** The session this node carries for the mount now, if any. */
    public Optional<Session> sessionOf(String mount) {
        return Optional.ofNullable(sessions.get(mount));
    }

    private void apply(ClusterSnapshot view) {
        masterNamed = view.master().isPresent();
        Set<String> mounts = view.mounts().keySet();
        byMount.entrySet().removeIf(e -> {
            if (mounts.contains(e.getKey())) {
                return false;
            }
            log.info("mount {}: gone from the cluster; no longer carried", e.getKey());
            e.getValue().close();
            return true;
        });
        Optional<MasterInfo> master = view.master().map(m -> m.dialedBy(selfName, selfAddress));
        for (String mount : mounts) {
            Pull p = byMount.computeIfAbsent(mount, m -> new Pull(vertx, pulls, m,
                    (path, preamble) -> new Feed(vertx, feeds, icecastHost, icecastPort, icecastPassword, path, preamble,
                            () -> fed(path), () -> context.runOnContext(v -> refresh())),
                    this::refresh));
            p.follow(master);
        }
        refresh();
    }

    private void tick() {
        byMount.values().forEach(Pull::tick);
        refresh();
    }

    private void refresh() {
        Set<String> now = new TreeSet<>();
        Set<String> there = onIcecast;
        int thereCount = 0;
        boolean thereMoved = false;
        Map<String, Session> carried = new HashMap<>();
        int c = 0;
        for (Pull p : byMount.values()) {
            if (p.live()) {
                now.add(p.mount);
            }
            if (p.onIcecast()) {
                thereCount++;
                thereMoved |= !there.contains(p.mount);
            }
            if (p.session() != null) {
                Session old = sessions.get(p.mount);
                carried.put(p.mount, old != null && old.id().equals(p.session()) ? old : new Session(p.session(),
                        StreamHeaders.parse(p.sessionLines() == null ? "" : p.sessionLines()), p.sessionSince()));
            }
            if (p.connected()) {
                c++;
            }
        }
        connected = c;
        if (c > 0 || byMount.isEmpty() || !masterNamed) {
            linkDownSinceNanos = -1;
        } else if (linkDownSinceNanos == -1) {
            linkDownSinceNanos = System.nanoTime();
        }
        if (!carried.equals(sessions)) {
            sessions = Map.copyOf(carried);
        }
        if (!now.equals(live)) {
            live = Set.copyOf(now);
        }
        if (thereMoved || thereCount != there.size()) { // built only when it changed: this runs on every message
            Set<String> next = new TreeSet<>();
            byMount.values().stream().filter(Pull::onIcecast).forEach(p -> next.add(p.mount));
            onIcecast = Set.copyOf(next);
            try {
                onIcecastChanged.run();
            } catch (RuntimeException e) {
                log.warn("feed listener failed: {}", e.toString());
            }
        }
    }

    @Override
    public void close() {
        vertx.cancelTimer(timer);
        context.runOnContext(v -> {
            byMount.values().forEach(Pull::close);
            byMount.clear();
            pulls.close();
            feeds.close();
        });
    }
}
