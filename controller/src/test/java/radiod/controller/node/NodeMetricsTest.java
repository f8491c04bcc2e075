package radiod.controller.node;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/** The names this node's gauges and byte counters get in Prometheus. */
class NodeMetricsTest {
    @Test
    void bandwidthIsInBytesPerSecondAndBytesProxiedDoNotRepeatTheirUnit() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        NodeMetrics.renames(registry);
        NodeMetrics metrics = new NodeMetrics(registry,
                () -> new Parts.Usage(true, 3, Map.of("/live.mp3", 3), 3 * 128_000L));
        metrics.refresh();
        // As the source front and the passthrough register it, and as the carrier's hubs still do.
        Counter.builder(NodeMetrics.PROXIED).tag("direction", "source").baseUnit("bytes").register(registry).increment(10);
        Counter.builder(NodeMetrics.PROXIED_BEFORE).tag("direction", "ingest").baseUnit("bytes").register(registry).increment(20);
        String text = registry.scrape();
        assertTrue(text.contains("\nradiod_bandwidth_bytes_per_second 48000.0\n"), text);
        assertTrue(text.contains("\nradiod_listeners{mount=\"/live.mp3\"} 3.0\n"), text);
        assertTrue(text.contains("\nradiod_icecast_up 1.0\n"), text);
        assertTrue(text.contains("\nradiod_proxied_bytes_total{direction=\"source\"} 10.0\n"), text);
        assertTrue(text.contains("\nradiod_proxied_bytes_total{direction=\"ingest\"} 20.0\n"), text);
        assertFalse(text.contains("bits"), text);
        assertFalse(text.contains("radiod_bytes_proxied"), text);
    }
}
