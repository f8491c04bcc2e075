package radiod.transcoder;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import io.etcd.jetcd.Client;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.view.ClusterView;
import radiod.transcoder.process.RestartPolicy;
import radiod.transcoder.script.LiquidsoapScript.Endpoint;

/**
 * One "node" as far as transcoders go: its own etcd client, lease, cluster view and {@link Transcoders}, with
 * "its" Icecast (where source mounts are pulled from) and "its" source front (where transcoded mounts are pushed
 * to) given as endpoints; tests stand a real Icecast in for each.
 */
final class TestNode implements AutoCloseable {
    final String name;
    final Path dir;
    final Client client;
    final EtcdSession session;
    final ClusterView view;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final Transcoders transcoders;
    /** What this node's link to the master's hub says (as a radiod node's Carrier would): -1 up, else down since. */
    final AtomicLong masterLinkDownSince = new AtomicLong(-1);

    private TestNode(List<String> endpoints, String prefix, String name, Path dir, Endpoint icecast, Endpoint sourceFront,
                     Path liquidsoap, RestartPolicy policy, int ttl) {
        this.name = name;
        this.dir = dir;
        EtcdOptions options = EtcdOptions.of(endpoints).withPrefix(prefix);
        client = EtcdClients.connect(options);
        session = new EtcdSession(client, Duration.ofSeconds(ttl));
        view = new ClusterView(client, options.keys(), options.callTimeout());
        transcoders = new Transcoders(session, options.keys(), name, new Transcoders.Settings(liquidsoap, dir, icecast.host(),
                icecast.port(), sourceFront.host(), sourceFront.port(), policy), registry, masterLinkDownSince::get);
        view.addListener(transcoders::viewChanged);
        transcoders.start();
        session.start();
        view.start();
    }

    static TestNode start(List<String> endpoints, String prefix, String name, Path root, Endpoint icecast, Endpoint sourceFront,
                          int ttl) {
        return start(endpoints, prefix, name, root, icecast, sourceFront, Path.of("/usr/bin/liquidsoap"), RestartPolicy.DEFAULT, ttl);
    }

    static TestNode start(List<String> endpoints, String prefix, String name, Path root, Endpoint icecast, Endpoint sourceFront,
                          Path liquidsoap, RestartPolicy policy, int ttl) {
        return new TestNode(endpoints, prefix, name, root.resolve(name), icecast, sourceFront, liquidsoap, policy, ttl);
    }

    /** The {@code radiod.transcoder.running} gauge of a mount on this node (NaN if it has none). */
    double runningGauge(String mount) {
        Gauge g = registry.find("radiod.transcoder.running").tag("mount", mount).gauge();
        return g == null ? Double.NaN : g.value();
    }

    double restarts(String mount) {
        var c = registry.find("radiod.transcoder.restarts").tag("mount", mount).counter();
        return c == null ? Double.NaN : c.count();
    }

    /** Clean shutdown: liquidsoap stopped, elections released, lease revoked. */
    @Override
    public void close() {
        transcoders.close();
        view.close();
        session.close();
        client.close();
    }
}
