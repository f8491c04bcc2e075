package radiod.controller.node;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;

/**
 * This node's own gauges: its Icecast up or down, its outgoing bandwidth, and its listeners per mount (summed over
 * nodes by Prometheus for the cluster total; {@code radiod_cluster_listeners} is each node's view of that total).
 */
final class NodeMetrics {
    /** The stream bytes counter, {@code radiod_proxied_bytes_total{direction}}. */
    static final String PROXIED = "radiod.proxied";

    private final Supplier<Parts.Usage> usage;
    private final MultiGauge listeners;

    NodeMetrics(MeterRegistry registry, Supplier<Parts.Usage> usage) {
        this.usage = usage;
        Gauge.builder("radiod.icecast.up", () -> usage.get().icecastUp() ? 1 : 0)
                .description("1 while this node's Icecast answers").register(registry);
        // Bytes, as Prometheus wants base units; the node's status in etcd keeps bits per second (bandwidthBps),
        // which the balancer compares with limits.max_bandwidth_mbps and the mounts' kbit/s.
        Gauge.builder("radiod.bandwidth", () -> usage.get().bandwidthBps() / 8.0).baseUnit("bytes.per.second")
                .description("outgoing stream bandwidth of this node to its listeners, over the last second")
                .register(registry);
        this.listeners = MultiGauge.builder("radiod.listeners")
                .description("listeners streaming from this node (its passthrough sessions), per mount")
                .register(registry);
    }

    /**
     * {@code radiod_icecast_restarts_total{reason}}: restarts of this node's Icecast after it died ({@code crash}) and
     * after radiod killed it for not answering ({@code hang}). An Icecast that hangs at every start is up most of the
     * time, so {@code radiod_icecast_up} alone would not show it.
     *
     * @param crashes restarts after it died by itself
     * @param hangs   restarts after radiod killed it for not answering
     */
    void icecastRestarts(MeterRegistry registry, LongSupplier crashes, LongSupplier hangs) {
        String description = "restarts of this node's Icecast: after it died (crash), or after radiod killed it for not "
                + "answering (hang)";
        FunctionCounter.builder("radiod.icecast.restarts", crashes, LongSupplier::getAsLong).tag("reason", "crash")
                .description(description).register(registry);
        FunctionCounter.builder("radiod.icecast.restarts", hangs, LongSupplier::getAsLong).tag("reason", "hang")
                .description(description).register(registry);
    }

    /** Refreshes the per-mount rows (mounts come and go). */
    void refresh() {
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        usage.get().listenersByMount().forEach((mount, count) -> rows.add(MultiGauge.Row.of(Tags.of("mount", mount), count)));
        listeners.register(rows, true);
    }
}
