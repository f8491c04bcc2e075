package radiod.redirector.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsOptions;

/**
 * Vert.x's own meters as radiod turns them on: all but the per-request and per-datagram ones.
 *
 * <p>Vert.x's HTTP server meters look up (and try to register) a gauge, a timer and two summaries in the registry
 * for every request: in a listener rush that was more than a quarter of the front's CPU on the Java side and tripled
 * its p99 latency (bench/RESULTS.md, "Lean redirects"). The front counts its own answers instead
 * ({@code radiod_redirects_total}, {@code radiod_requests_refused_total}, {@code radiod_http_connections}); the DNS
 * server counts its own queries. Connections to Icecast (HTTP client), the source port (net server) and pools stay.
 */
public final class VertxMeters {
    private VertxMeters() {
    }

    /** Options for {@code VertxOptions.setMetricsOptions}, with Vert.x's meters in {@code registry}. */
    public static MicrometerMetricsOptions options(MeterRegistry registry) {
        return new MicrometerMetricsOptions().setEnabled(true).setMicrometerRegistry(registry)
                .addDisabledMetricsCategory(MetricsDomain.HTTP_SERVER)
                .addDisabledMetricsCategory(MetricsDomain.DATAGRAM_SOCKET);
    }
}
