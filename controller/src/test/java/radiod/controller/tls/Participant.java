package radiod.controller.tls;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

import io.etcd.jetcd.Client;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.view.ClusterView;

/**
 * One simulated radiod node for the ACME tests: its own etcd client, lease, view, ACME duty and certificate loader,
 * whose sink records what it was given (what a node's TLS servers would serve).
 */
final class Participant implements AutoCloseable {
    /** What the sink was handed. */
    record Applied(String chain, String key, String origin, String serial, long atMillis) {
    }

    final String name;
    final Client client;
    final EtcdSession session;
    final ClusterView view;
    final ClusterCertificates certificates;
    final AcmeDuty duty;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final List<Applied> applied = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    Participant(String name, EtcdOptions options, String zone, AcmeSettings settings, AcmeDuty.Timing timing) {
        this(name, options, zone, settings, timing, UnaryOperator.identity());
    }

    /** @param wrap what the node's etcd client goes through (a test's faults), as its session, view and duty see it */
    Participant(String name, EtcdOptions options, String zone, AcmeSettings settings, AcmeDuty.Timing timing,
                UnaryOperator<Client> wrap) {
        this.name = name;
        this.client = wrap.apply(EtcdClients.connect(options));
        this.session = new EtcdSession(client, Duration.ofSeconds(3));
        this.view = new ClusterView(client, options.keys(), Duration.ofSeconds(2));
        view.start();
        session.start();
        // As a node starts it: the loader on its view, and its candidacy for the duty.
        this.certificates = ClusterCertificates.start(session, options, view, name, zone, Optional.of(settings), timing,
                (chain, key, origin) -> {
                    X509Certificate leaf = Pem.certificates(chain).get(0);
                    applied.add(new Applied(chain, key, origin, leaf.getSerialNumber().toString(16),
                            System.currentTimeMillis()));
                }, registry);
        this.duty = certificates.duty().orElseThrow();
    }

    Participant start() {
        return this;
    }

    /** The serial of the last certificate its sink took, or null. */
    String servedSerial() {
        return applied.isEmpty() ? null : applied.get(applied.size() - 1).serial();
    }

    double attempts(String outcome) {
        return registry.get("radiod.acme.attempts").tag("outcome", outcome).counter().count();
    }

    /**
     * As kill -9 would leave it: the etcd connection drops without a word, so its duty key and challenge records stay
     * until its lease expires (TTL 3 s); then its parts are stopped.
     */
    void crash() {
        closed = true;
        client.close();
        for (AutoCloseable part : new AutoCloseable[] {certificates, view, session}) {
            try {
                part.close(); // with the client gone, nothing reaches etcd: the duty's key stays until the lease ends
            } catch (Exception e) {
                System.out.println(name + ": after the crash, " + part.getClass().getSimpleName() + ".close: " + e);
            }
        }
    }

    /** As SIGTERM: the duty is given up at once. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        certificates.close();
        view.close();
        session.close();
        client.close();
    }
}
