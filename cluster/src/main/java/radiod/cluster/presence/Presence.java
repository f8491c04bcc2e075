package radiod.cluster.presence;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.options.PutOption;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.etcd.EtcdUnavailableException;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Json;
import radiod.cluster.model.NodeStatus;
import radiod.lifecycle.DaemonThreads;

/**
 * Publishes this node's status at {@code nodes/<name>}, bound to the session's lease, about every second,
 * and at once when a new lease is granted. When the process dies, the lease expires and the node is gone.
 */
public final class Presence implements AutoCloseable, EtcdSession.Listener {
    private static final Logger log = LoggerFactory.getLogger(Presence.class);

    private final EtcdSession session;
    private final ByteSequence key;
    private final Supplier<NodeStatus> status;
    private final Duration period;
    private final ScheduledExecutorService thread;
    private volatile boolean failing;

    public Presence(EtcdSession session, Keys keys, String nodeName, Supplier<NodeStatus> status, Duration period) {
        this.session = session;
        this.key = keys.node(nodeName);
        this.status = status;
        this.period = period;
        this.thread = DaemonThreads.scheduled("radiod-presence");
    }

    public Presence start() {
        session.addListener(this);
        thread.scheduleWithFixedDelay(this::publish, 0, period.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** Publishes now rather than at the next tick (e.g. after a role change). */
    public void publishSoon() {
        thread.execute(this::publish);
    }

    @Override
    public void leaseGranted(long leaseId) {
        publishSoon();
    }

    @Override
    public void leaseLost(long leaseId) {
        // The key goes with the lease; the next lease brings it back.
    }

    private void publish() {
        long lease = session.validLease().orElse(0);
        if (lease == 0) {
            return;
        }
        try {
            byte[] value = Json.encode(status.get());
            EtcdClients.await(session.client().getKVClient().put(key, ByteSequence.from(value),
                    PutOption.builder().withLeaseId(lease).build()), 1000, "publishing presence");
            if (failing) {
                log.info("publishing presence again");
                failing = false;
            }
        } catch (EtcdUnavailableException e) {
            if (!failing) {
                log.warn("{}", e.getMessage());
                failing = true;
            }
        } catch (RuntimeException e) {
            log.error("presence: cannot build or publish status", e);
        }
    }

    @Override
    public void close() {
        session.removeListener(this);
        DaemonThreads.stop(thread, Duration.ofSeconds(1));
    }
}
