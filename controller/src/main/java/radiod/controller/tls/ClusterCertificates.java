package radiod.controller.tls;

import java.util.Optional;

import io.micrometer.core.instrument.MeterRegistry;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.view.ClusterView;

/**
 * A node's share of the cluster's certificate, in one piece for the node to start and stop: the loader that hands the
 * certificate in its view to the TLS servers, and, when the node is configured for ACME, its candidacy for the ACME
 * duty.
 */
public final class ClusterCertificates implements AutoCloseable {
    private final CertificateLoader loader;
    private final AcmeDuty duty;

    private ClusterCertificates(CertificateLoader loader, AcmeDuty duty) {
        this.loader = loader;
        this.duty = duty;
    }

    /**
     * Starts loading the certificate from {@code view} into {@code sink}, and campaigning for the ACME duty if
     * {@code acme} is present.
     *
     * @param zone the cluster's DNS zone ({@code dns.zone})
     */
    public static ClusterCertificates start(EtcdSession session, EtcdOptions options, ClusterView view, String node,
                                            String zone, Optional<AcmeSettings> acme, CertificateSink sink,
                                            MeterRegistry registry) {
        return start(session, options, view, node, zone, acme, AcmeDuty.Timing.DEFAULT, sink, registry);
    }

    /** The same, with the duty's timing (tests retry faster). */
    public static ClusterCertificates start(EtcdSession session, EtcdOptions options, ClusterView view, String node,
                                            String zone, Optional<AcmeSettings> acme, AcmeDuty.Timing timing,
                                            CertificateSink sink, MeterRegistry registry) {
        AcmeDuty duty = acme.map(a -> new AcmeDuty(session, options, view, node, zone, a, timing, registry)).orElse(null);
        CertificateLoader loader = new CertificateLoader(sink, options.prefix(), registry).start(view);
        if (duty != null) {
            duty.start();
        }
        return new ClusterCertificates(loader, duty);
    }

    /** The duty, when this node campaigns for it. */
    public Optional<AcmeDuty> duty() {
        return Optional.ofNullable(duty);
    }

    public CertificateLoader loader() {
        return loader;
    }

    @Override
    public void close() {
        if (duty != null) {
            duty.close();
        }
        loader.close();
    }
}
