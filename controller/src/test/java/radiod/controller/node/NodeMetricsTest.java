package radiod.controller.node;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import radiod.redirector.carry.Hubs;

/** The names this node's gauges and byte counters get in Prometheus. */
class NodeMetricsTest {
    @Test
    void bandwidthIsInBytesPerSecondAndBytesProxiedDoNotRepeatTheirUnit() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        NodeMetrics metrics = new NodeMetrics(registry,
                () -> new Parts.Usage(true, 3, Map.of("/live.mp3", 3), 3 * 128_000L));
        metrics.refresh();
        metrics.icecastRestarts(registry, () -> 2, () -> 1);
        // As the source front and the passthrough register it, and the carrier's hubs themselves.
        Counter.builder(NodeMetrics.PROXIED).tag("direction", "source").baseUnit("bytes").register(registry).increment(10);
        Vertx vertx = Vertx.vertx();
        try {
            new Hubs(vertx, () -> false, "node1", registry);
        } finally {
            vertx.close();
        }
        String text = registry.scrape();
        assertTrue(text.contains("\nradiod_bandwidth_bytes_per_second 48000.0\n"), text);
        assertTrue(text.contains("\nradiod_listeners{mount=\"/live.mp3\"} 3.0\n"), text);
        assertTrue(text.contains("\nradiod_icecast_up 1.0\n"), text);
        assertTrue(text.contains("\nradiod_icecast_restarts_total{reason=\"crash\"} 2.0\n"), text);
        assertTrue(text.contains("\nradiod_icecast_restarts_total{reason=\"hang\"} 1.0\n"), text);
        assertTrue(text.contains("\nradiod_proxied_bytes_total{direction=\"source\"} 10.0\n"), text);
        assertTrue(text.contains("\nradiod_proxied_bytes_total{direction=\"ingest\"} 0.0\n"), text);
        assertFalse(text.contains("bits"), text);
        assertFalse(text.contains("radiod_bytes_proxied"), text);
    }
}
