package radiod.redirector;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import radiod.cluster.model.Drain;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.listen.HttpFrontSettings;
import radiod.redirector.listen.StreamServer;
import radiod.redirector.metrics.VertxMeters;
import radiod.testkit.Ports;

/**
 * A running {@link HttpFront} for tests: a hand-built cluster view the test can swap, a fake passthrough that
 * records what it was asked to stream, Vert.x with its Micrometer HTTP metrics on (as in a node).
 */
public final class FrontFixture implements AutoCloseable {
    public static final String HOST = "127.0.0.1";
    public static final String SELF = "node1";
    public static final Mount LIVE = new Mount("/live.mp3", null, "pw", null, null, 0, 128, null);
    public static final Mount OTHER = new Mount("/jazz/other.ogg", null, "pw", null, null, 0, 96, null);
    public static final String ICECAST_HOST = "127.0.0.1";
    public static final int ICECAST_PORT = 8100;

    /**
     * What the fake passthrough was asked: to serve a listener of this node ({@code from} null) or to proxy one
     * from another node's {@code /_stream/} ({@code from} that node's {@code host:httpPort}).
     */
    public record Served(HttpMethod method, String mount, String from, String query) {
        public static Served local(HttpMethod method, String mount, String query) {
            return new Served(method, mount, null, query);
        }
    }

    public final AtomicReference<ClusterSnapshot> view = new AtomicReference<>();
    public final AtomicBoolean master = new AtomicBoolean();
    /** What the node says of its own Icecast: out of service (down a while after it was up, hung). */
    public final AtomicBoolean icecastOutOfService = new AtomicBoolean();
    /** What the node says of its mounts: how long each, live here before, has been missing from its Icecast (ms). */
    public final java.util.Map<String, Long> mountLost = new java.util.concurrent.ConcurrentHashMap<>();
    public final ConcurrentLinkedQueue<Served> served = new ConcurrentLinkedQueue<>();
    public final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    public final Vertx vertx;
    public final HttpFront front;
    public final int port;

    public FrontFixture(ClusterSnapshot initial, String clusterUrl) throws Exception {
        view.set(initial);
        port = Ports.free(HOST);
        vertx = Vertx.vertx(new VertxOptions().setMetricsOptions(
                VertxMeters.options(registry)));
        StreamServer fake = new StreamServer() {
            @Override
            public void serve(HttpServerRequest req, String mount) {
                served.add(Served.local(req.method(), mount, req.query()));
                req.response().putHeader("Content-Type", "audio/mpeg").end("audio of " + mount + " from this node");
            }

            @Override
            public void proxy(HttpServerRequest req, String mount, String host, int httpPort) {
                served.add(new Served(req.method(), mount, host + ":" + httpPort, req.query()));
                req.response().putHeader("Content-Type", "audio/mpeg").putHeader("X-Fake-Upstream", host + ":" + httpPort)
                        .end("audio of " + mount + " from " + host + ":" + httpPort);
            }
        };
        front = new HttpFront(vertx, new HttpFrontSettings(SELF, HOST, port, null, null, clusterUrl, 7, ICECAST_HOST,
                ICECAST_PORT, 2), view::get, master::get, fake, registry);
        front.icecastOutOfService(icecastOutOfService::get);
        front.mountLostMillis(mount -> mountLost.getOrDefault(mount, 0L));
        front.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    public String url(String pathAndQuery) {
        return "http://" + HOST + ":" + port + pathAndQuery;
    }

    /** A node with the mounts live, {@code 192.0.2.1N} as its address. */
    public static NodeStatus node(int n, boolean up, int listeners, int maxListeners, Map<String, Integer> byMount) {
        return node(n, up, false, listeners, maxListeners, byMount);
    }

    /** As {@link #node(int, boolean, int, int, Map)}, drained as its own status says. */
    public static NodeStatus node(int n, boolean up, boolean drained, int listeners, int maxListeners,
                                  Map<String, Integer> byMount) {
        return new NodeStatus("node" + n, List.of("192.0.2.1" + n), 8080, 8000, 8100 + n, 53, up, drained, n == 1, listeners,
                byMount, listeners * 128_000L, 100_000_000L, maxListeners, n == 2 ? List.of("/live-64.mp3") : List.of(), "0.1.0",
                1000);
    }

    /** Three nodes; {@code eligible} say which of them the default pipeline may choose (the others are down). */
    public static ClusterSnapshot cluster(boolean node1, boolean node2, boolean node3) {
        return snapshot(List.of(
                node(1, node1, 10, 100, Map.of("/live.mp3", 7, "/jazz/other.ogg", 3)),
                node(2, node2, 5, 100, Map.of("/live.mp3", 5, "/jazz/other.ogg", 0)),
                node(3, node3, 0, 100, Map.of("/live.mp3", 0))));
    }

    public static ClusterSnapshot snapshot(List<NodeStatus> nodes) {
        return snapshot(nodes, Map.of());
    }

    /** As {@link #snapshot(List)}, with these nodes' drains in etcd. */
    public static ClusterSnapshot snapshot(List<NodeStatus> nodes, Map<String, Drain> drains) {
        Map<String, NodeStatus> byName = new java.util.HashMap<>();
        nodes.forEach(n -> byName.put(n.name(), n));
        return new ClusterSnapshot(42, byName,
                Optional.of(new MasterInfo(SELF, List.of("192.0.2.11"), 8101, 8000, 8080, 1)),
                Map.of(LIVE.path(), LIVE, OTHER.path(), OTHER), Map.of(), drains);
    }

    /** Sends raw request bytes and reads the whole answer (the request should ask to close the connection). */
    public String raw(String request) throws IOException {
        return rawOn(HOST, port, request);
    }

    /** As {@link #raw}, to any front. */
    public static String rawOn(String host, int port, String request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 2000);
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            try {
                while ((n = in.read(buf)) > 0) {
                    all.write(buf, 0, n);
                }
            } catch (java.net.SocketTimeoutException | java.net.SocketException e) {
                // what we have is the answer
            }
            return all.toString(StandardCharsets.ISO_8859_1);
        }
    }

    @Override
    public void close() throws Exception {
        front.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
