package radiod.controller.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import radiod.cluster.tls.TlsCertificate;
import radiod.cluster.tls.TlsKey;
import radiod.cluster.tls.TlsState;
import radiod.cluster.view.ClusterSnapshot;
import radiod.cluster.view.ClusterView;
import radiod.lifecycle.DaemonThreads;

/**
 * Every node's link from the certificate in etcd to its TLS servers: on each view whose certificate or key differs
 * from the last one seen, the pair is checked (the chain parses, the leaf has not expired, the key is the leaf's and
 * says it belongs to its serial) and handed to the {@link CertificateSink}. A pair that fails a check, or that the sink
 * refuses, is logged once and counted; the servers keep the last good certificate. A certificate deleted from etcd is
 * not taken away from the servers.
 *
 * <p>The view's thread only hands the snapshot over: checks and the sink run on the loader's own thread.
 */
public final class CertificateLoader implements ClusterView.Listener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CertificateLoader.class);

    private final CertificateSink sink;
    private final String where;
    private final ScheduledExecutorService thread;
    private final AtomicReference<ClusterSnapshot> pending = new AtomicReference<>();
    private final Counter applied;
    private final Counter rejected;
    private final Counter refused;
    /** Owned by the loader's thread: the last pair looked at (applied or not), so each pair is handled once. */
    private TlsCertificate lastCertificate;
    private TlsKey lastKey;
    private volatile String appliedSerial;

    /**
     * @param where the etcd key prefix, for the origin given to the sink (e.g. {@code /radiod/})
     */
    public CertificateLoader(CertificateSink sink, String where, MeterRegistry registry) {
        this.sink = Objects.requireNonNull(sink, "sink");
        this.where = where;
        this.thread = DaemonThreads.scheduled("radiod-certificates");
        this.applied = counter(registry, "applied");
        this.rejected = counter(registry, "rejected");
        this.refused = counter(registry, "refused");
    }

    private static Counter counter(MeterRegistry registry, String outcome) {
        return Counter.builder("radiod.acme.certificate.loads").tag("outcome", outcome)
                .description("Certificates from etcd handed to this node's TLS servers (applied), failing a check "
                        + "(rejected), or refused by the servers (refused)").register(registry);
    }

    /** Listens to the view and loads what it holds already. */
    public CertificateLoader start(ClusterView view) {
        view.addListener(this);
        changed(view.current());
        return this;
    }

    /** The serial of the certificate last handed to the sink, or null. */
    public String appliedSerial() {
        return appliedSerial;
    }

    @Override
    public void changed(ClusterSnapshot snapshot) {
        if (pending.getAndSet(snapshot) == null) {
            try {
                thread.execute(this::load);
            } catch (RejectedExecutionException e) {
                pending.set(null);
            }
        }
    }

    private void load() {
        ClusterSnapshot s = pending.getAndSet(null);
        if (s == null) {
            return;
        }
        TlsState tls = s.tls();
        if (tls.certificate().isEmpty() || tls.key().isEmpty()) {
            return;
        }
        TlsCertificate certificate = tls.certificate().get();
        TlsKey key = tls.key().get();
        if (certificate.equals(lastCertificate) && key.equals(lastKey)) {
            return;
        }
        lastCertificate = certificate;
        lastKey = key;
        String origin = "etcd " + where + "tls/certificate (serial " + certificate.serial() + ", obtained by "
                + certificate.by() + " at " + Instant.ofEpochMilli(certificate.at()) + ")";
        String problem = problem(certificate, key, System.currentTimeMillis());
        if (problem != null) {
            rejected.increment();
            log.error("certificate from {} not loaded: {}; the TLS servers keep the one they have", origin, problem);
            return;
        }
        try {
            sink.apply(certificate.chain(), key.key(), origin);
            appliedSerial = certificate.serial();
            applied.increment();
            log.info("certificate loaded from {}: {}, expires {}", origin, certificate.names(),
                    Instant.ofEpochMilli(certificate.notAfter()));
        } catch (Exception e) {
            refused.increment();
            log.error("certificate from {} not loaded: the TLS servers refused it: {}", origin, e.toString());
        }
    }

    /** Why the pair cannot be served, or null when it can. */
    static String problem(TlsCertificate certificate, TlsKey key, long nowMillis) {
        List<X509Certificate> chain;
        PrivateKey privateKey;
        try {
            chain = Pem.certificates(certificate.chain());
        } catch (IllegalArgumentException e) {
            return "its chain: " + e.getMessage();
        }
        X509Certificate leaf = chain.get(0);
        if (leaf.getNotAfter().getTime() <= nowMillis) {
            return "it expired at " + leaf.getNotAfter().toInstant();
        }
        if (!key.serial().isEmpty() && !key.serial().equalsIgnoreCase(leaf.getSerialNumber().toString(16))) {
            return "the key in etcd belongs to certificate " + key.serial() + ", not to " + leaf.getSerialNumber().toString(16);
        }
        try {
            privateKey = Pem.privateKey(key.key());
        } catch (IllegalArgumentException e) {
            return "its key: " + e.getMessage();
        }
        if (!Pem.matches(privateKey, leaf.getPublicKey())) {
            return "the key in etcd is not the certificate's key";
        }
        return null;
    }

    @Override
    public void close() {
        DaemonThreads.stop(thread, Duration.ofSeconds(2));
    }
}
