package radiod.redirector.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import radiod.cluster.view.ClusterSnapshot;

/**
 * The HTTP front's meters: listener requests for a mount by answer (redirects by target node, streams served without
 * a redirect, refusals by reason), this node's role, and the cluster's listeners per mount (from the cluster view).
 * Labels are bounded: node names, reasons and mount paths, never client addresses or URLs.
 */
public final class FrontMetrics implements AutoCloseable {
    /** What became of a listener's request for a mount. */
    public enum Outcome {
        /** 302 to a node's passthrough (this node's too, so that the player reconnects to the same node). */
        REDIRECT("redirect"),
        /** Served by this node from its own Icecast, for a player that does not follow redirects. */
        LOCAL("local"),
        /** Proxied from the chosen node's Icecast, for a player that does not follow redirects. */
        PROXY("proxy"),
        /** A mount path nobody defined: 404. */
        NOT_FOUND("not_found"),
        /** No node could take the listener: 503. */
        UNAVAILABLE("unavailable");

        private final String tag;

        Outcome(String tag) {
            this.tag = tag;
        }

        /** The label value: {@code via} of a stream served without redirect, {@code reason} of a refusal. */
        public String tag() {
            return tag;
        }

        boolean refused() {
            return this == NOT_FOUND || this == UNAVAILABLE;
        }
    }

    /** {@code radiod_redirects_total{node}}: 302 answers, by the node redirected to. */
    public static final String REDIRECTS = "radiod.redirects";
    /** {@code radiod_direct_streams_total{via,node}}: streams served without a redirect. */
    public static final String DIRECT_STREAMS = "radiod.direct.streams";
    /** {@code radiod_requests_refused_total{reason}}: 404 and 503 answers. */
    public static final String REFUSED = "radiod.requests.refused";

    /** The node tag of a stream without a node (never expected). */
    public static final String NO_NODE = "none";

    private final MeterRegistry registry;
    private final Supplier<ClusterSnapshot> view;
    @SuppressWarnings("unchecked")
    private final ConcurrentHashMap<String, Counter>[] byNode = new ConcurrentHashMap[Outcome.values().length];
    private final Counter[] refused = new Counter[Outcome.values().length];
    private final List<Meter> meters = new ArrayList<>();
    private final MultiGauge listenersByMount;

    public FrontMetrics(MeterRegistry registry, Supplier<ClusterSnapshot> view, BooleanSupplier selfIsMaster) {
        this.registry = registry;
        this.view = view;
        for (Outcome o : Outcome.values()) {
            byNode[o.ordinal()] = new ConcurrentHashMap<>();
            if (o.refused()) {
                // Registered at 0 from the start, so that a rate() over them is defined before the first refusal.
                refused[o.ordinal()] = Counter.builder(REFUSED)
                        .description("listener requests for a mount refused: not_found (404, no such mount), "
                                + "unavailable (503, no node can take the listener)")
                        .tag("reason", o.tag()).register(registry);
                meters.add(refused[o.ordinal()]);
            }
        }
        meters.add(Gauge.builder("radiod.master", () -> selfIsMaster.getAsBoolean() ? 1 : 0)
                .description("this node's role: 1 while it acts as master, 0 as a relay").register(registry));
        meters.add(Gauge.builder("radiod.cluster.nodes", () -> view.get().nodes().size())
                .description("live nodes in this node's cluster view").register(registry));
        meters.add(Gauge.builder("radiod.cluster.master.present", () -> view.get().master().isPresent() ? 1 : 0)
                .description("1 while the cluster view has a master").register(registry));
        listenersByMount = MultiGauge.builder("radiod.cluster.listeners")
                .description("listeners per mount across the cluster, as the nodes last published them").register(registry);
        refreshClusterGauges();
    }

    /** Counts one listener request; {@code node} is the chosen node's name (ignored for a refusal). */
    public void count(Outcome outcome, String node) {
        if (outcome.refused()) {
            refused[outcome.ordinal()].increment();
            return;
        }
        String tag = node == null ? NO_NODE : node;
        ConcurrentHashMap<String, Counter> counters = byNode[outcome.ordinal()];
        Counter c = counters.get(tag);
        if (c == null) {
            c = counters.computeIfAbsent(tag, n -> {
                Counter counter = outcome == Outcome.REDIRECT
                        ? Counter.builder(REDIRECTS).description("listener requests for a mount answered with a 302 "
                                + "to a node's stream, by that node").tag("node", n).register(registry)
                        : Counter.builder(DIRECT_STREAMS).description("listener requests for a mount answered with "
                                + "the stream itself (players that do not follow redirects): via local (this node's "
                                + "Icecast) or proxy (the chosen node's), by the node streaming")
                                .tag("via", outcome.tag()).tag("node", n).register(registry);
                synchronized (meters) {
                    meters.add(counter);
                }
                return counter;
            });
        }
        c.increment();
    }

    /** Recomputes the per-mount listener totals from the current view (mounts that went away disappear). */
    public void refreshClusterGauges() {
        ClusterSnapshot s = view.get();
        Map<String, Integer> totals = new HashMap<>();
        for (String mount : s.mounts().keySet()) {
            totals.put(mount, 0);
        }
        s.nodes().values().forEach(n -> n.listenersByMount().forEach((mount, count) -> {
            if (totals.containsKey(mount)) {
                totals.merge(mount, count, Integer::sum);
            }
        }));
        List<MultiGauge.Row<?>> rows = new ArrayList<>(totals.size());
        totals.forEach((mount, count) -> rows.add(MultiGauge.Row.of(Tags.of("mount", mount), count)));
        synchronized (listenersByMount) {
            listenersByMount.register(rows, true);
        }
    }

    /** Removes this front's meters from the registry, so that a new front can register them again. */
    @Override
    public void close() {
        synchronized (listenersByMount) {
            listenersByMount.register(List.of(), true);
        }
        synchronized (meters) {
            meters.forEach(registry::remove);
            meters.clear();
        }
        for (ConcurrentHashMap<String, Counter> counters : byNode) {
            counters.clear();
        }
    }
}
