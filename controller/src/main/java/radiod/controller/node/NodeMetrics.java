package radiod.controller.node;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;

/**
 * This node's own gauges: its Icecast up or down, and its listeners per mount (summed over nodes by
 * Prometheus for the cluster total; {@code radiod_cluster_listeners} is each node's view of that total).
 */
final class NodeMetrics {
    private final Supplier<Parts.Usage> usage;
    private final MultiGauge listeners;

    NodeMetrics(MeterRegistry registry, Supplier<Parts.Usage> usage) {
        this.usage = usage;
        Gauge.builder("radiod.icecast.up", () -> usage.get().icecastUp() ? 1 : 0)
                .description("1 while this node's Icecast answers").register(registry);
        Gauge.builder("radiod.bandwidth", () -> usage.get().bandwidthBps()).baseUnit("bits.per.second")
                .description("outgoing stream bandwidth of this node's Icecast").register(registry);
        this.listeners = MultiGauge.builder("radiod.listeners").description("listeners on this node's Icecast per mount")
                .register(registry);
    }

    /** Refreshes the per-mount rows (mounts come and go). */
    void refresh() {
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        usage.get().listenersByMount().forEach((mount, count) -> rows.add(MultiGauge.Row.of(Tags.of("mount", mount), count)));
        listeners.register(rows, true);
    }
}
