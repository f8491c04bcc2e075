package radiod.cluster.etcd;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.etcd.jetcd.Auth;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Cluster;
import io.etcd.jetcd.Election;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.Lock;
import io.etcd.jetcd.Maintenance;
import io.etcd.jetcd.Watch;
import radiod.lifecycle.DaemonThreads;

/**
 * The node's etcd client, which can be rebuilt on fewer members: a jetcd {@link Client} that hands each call to the
 * client of the moment.
 *
 * <p>Why: jetcd spreads calls and watches over every member (gRPC round robin), and a member cut off without a word
 * (a dead switch port, a partition) keeps its connection "ready" until gRPC's keep-alive gives up, which gRPC will not
 * make shorter than 10 + 3 s. Meanwhile a third of the node's watches hear nothing (an election does not see the
 * master's key go) and a third of its lease keep-alives go unanswered (the node can lose its lease on the majority
 * side). {@link MemberProbe} notices such a member within two probes and calls {@link #use}: a new client on the
 * members that answer, every watch read again on it ({@link #onReconnect}), and the old client closed, which fails
 * whatever was still waiting on it. It also calls {@link #renew} (a new client on the same members) when etcd can be
 * reached again after no member could: the old client's channel would wait out gRPC's reconnect backoff.
 *
 * <p>Callers must ask for {@code getKVClient()}, {@code getWatchClient()} and so on at each use rather than keep
 * them: a kept one belongs to a client that may be closed.
 */
public final class EtcdConnection implements Client {
    private static final Logger log = LoggerFactory.getLogger(EtcdConnection.class);

    private final List<String> all;
    private final Function<List<String>, Client> connector;
    private final List<Runnable> reconnectListeners = new CopyOnWriteArrayList<>();
    private final List<Runnable> answeringListeners = new CopyOnWriteArrayList<>();
    private volatile Client current;
    private volatile List<String> using;
    private volatile long reconnects;
    private volatile boolean closed;

    /** A connection to every member in {@code options}; the client connects lazily, so this does not fail. */
    public static EtcdConnection open(EtcdOptions options) {
        return new EtcdConnection(options.endpoints(), endpoints -> EtcdClients.connect(options.withEndpoints(endpoints)));
    }

    /** @param connector builds a client on the given endpoints (a subset of {@code endpoints}, in their order) */
    EtcdConnection(List<String> endpoints, Function<List<String>, Client> connector) {
        this.all = List.copyOf(endpoints);
        this.connector = connector;
        this.using = all;
        this.current = connector.apply(all);
    }

    /** Every member this node may talk to, as configured. */
    public List<String> allEndpoints() {
        return all;
    }

    /** The members the client of the moment talks to. */
    public List<String> endpoints() {
        return using;
    }

    /** How many times the client was rebuilt ({@link #use} on other members, or {@link #renew}). */
    public long reconnects() {
        return reconnects;
    }

    /** Called, on the thread that rebuilt the client, each time it is rebuilt; keep it quick. */
    public void onReconnect(Runnable listener) {
        reconnectListeners.add(listener);
    }

    public void removeReconnectListener(Runnable listener) {
        reconnectListeners.remove(listener);
    }

    /** Called, on the caller's thread, each time {@link #answersAgain} is; keep it quick. */
    public void onAnswersAgain(Runnable listener) {
        answeringListeners.add(listener);
    }

    public void removeAnswersAgainListener(Runnable listener) {
        answeringListeners.remove(listener);
    }

    /**
     * Tells whoever waits out a backoff of their own that etcd answers again after an outage, on the same client:
     * a watch whose re-read failed while etcd had no quorum would otherwise read again only when its delay (up to
     * its cap, seconds) runs out, and one whose re-read is still out would wait for that read's timeout first; its
     * node would act on an old picture meanwhile. The node's lease session calls this when it holds a lease again.
     */
    public void answersAgain(String why) {
        log.info("etcd answers again ({}): watches not watching read again now", why);
        tell(answeringListeners);
    }

    private static void tell(List<Runnable> listeners) {
        for (Runnable r : listeners) {
            try {
                r.run();
            } catch (RuntimeException e) {
                log.error("etcd listener failed", e);
            }
        }
    }

    /**
     * Talks to {@code endpoints} from now on (unless it does already): new calls go to a new client, every reconnect
     * listener is told, and the old client is closed on a thread of its own, failing the calls still waiting on it.
     */
    public void use(List<String> endpoints, String why) {
        rebuild(endpoints, why);
    }

    /**
     * A new client on the members in use, as {@link #use} builds one for other members. For when every member was
     * unreachable and one answers again: the old client's gRPC channel waits out a reconnect backoff of up to 2
     * minutes (1 s growing 1.6 times per failed attempt) before it tries again, and jetcd 0.8.5 gives no way to cut
     * it short; a new channel connects at once.
     */
    public void renew(String why) {
        rebuild(null, why);
    }

    /** @param wanted the members to talk to; null for a new client on those in use */
    private void rebuild(List<String> wanted, String why) {
        if (wanted != null && (wanted.isEmpty() || !all.containsAll(wanted))) {
            throw new IllegalArgumentException("not a subset of " + all + ": " + wanted);
        }
        boolean renewing = wanted == null;
        List<String> endpoints;
        Client old;
        synchronized (this) {
            endpoints = renewing ? using : wanted;
            if (closed || (!renewing && endpoints.equals(using))) {
                return;
            }
            old = current;
            current = connector.apply(List.copyOf(endpoints));
            using = List.copyOf(endpoints);
            reconnects++;
        }
        if (renewing) {
            log.info("etcd: a new client on {} ({})", endpoints, why);
        } else if (endpoints.equals(all)) {
            log.info("etcd: talking to every member again, {} ({})", endpoints, why);
        } else {
            log.warn("etcd: talking to {} from now on ({})", endpoints, why);
        }
        tell(reconnectListeners);
        DaemonThreads.start("radiod-etcd-close", () -> closeQuietly(old));
    }

    private static void closeQuietly(Client c) {
        try {
            c.close();
        } catch (RuntimeException e) {
            log.debug("closing a replaced etcd client: {}", e.toString());
        }
    }

    @Override
    public Auth getAuthClient() {
        return current.getAuthClient();
    }

    @Override
    public KV getKVClient() {
        return current.getKVClient();
    }

    @Override
    public Cluster getClusterClient() {
        return current.getClusterClient();
    }

    @Override
    public Maintenance getMaintenanceClient() {
        return current.getMaintenanceClient();
    }

    @Override
    public Lease getLeaseClient() {
        return current.getLeaseClient();
    }

    @Override
    public Watch getWatchClient() {
        return current.getWatchClient();
    }

    @Override
    public Lock getLockClient() {
        return current.getLockClient();
    }

    @Override
    public Election getElectionClient() {
        return current.getElectionClient();
    }

    @Override
    public void close() {
        Client c;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            c = current;
        }
        c.close();
    }
}
