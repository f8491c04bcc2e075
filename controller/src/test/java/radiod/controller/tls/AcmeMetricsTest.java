package radiod.controller.tls;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.etcd.jetcd.Client;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.view.ClusterView;

/** The ACME metrics under the names the README gives, as Prometheus scrapes them (nothing here talks to etcd). */
class AcmeMetricsTest {
    @Test
    void theDutyAndTheLoaderExportTheirMetricsUnderTheDocumentedNames() {
        EtcdOptions options = EtcdOptions.of(List.of("http://127.0.0.1:9"));
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (Client client = EtcdClients.connect(options)) {
            EtcdSession session = new EtcdSession(client, Duration.ofSeconds(3));
            ClusterView view = new ClusterView(client, options.keys(), Duration.ofSeconds(1));
            new AcmeDuty(session, options, view, "node1", "radio.test", AcmeSettings.of("https://127.0.0.1:1/dir"),
                    AcmeDuty.Timing.DEFAULT, registry);
            new CertificateLoader((chain, key, origin) -> { }, options.prefix(), registry).close();
            String scrape = registry.scrape();
            for (String line : List.of("radiod_acme_attempts_total{outcome=\"success\"} 0.0",
                    "radiod_acme_attempts_total{outcome=\"failure\"} 0.0",
                    "radiod_acme_attempts_total{outcome=\"etcd_unavailable\"} 0.0", "radiod_acme_holder 0.0",
                    "radiod_acme_consecutive_failures 0.0", "radiod_acme_certificate_not_after_seconds NaN",
                    "radiod_acme_attempt_duration_seconds_count{outcome=\"failure\"} 0",
                    "radiod_acme_certificate_loads_total{outcome=\"applied\"} 0.0",
                    "radiod_acme_certificate_loads_total{outcome=\"rejected\"} 0.0",
                    "radiod_acme_certificate_loads_total{outcome=\"refused\"} 0.0")) {
                assertTrue(scrape.contains(line), line + " in\n" + scrape);
            }
        }
    }
}
