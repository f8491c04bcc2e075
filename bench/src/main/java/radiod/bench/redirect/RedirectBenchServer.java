package radiod.bench.redirect;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServerRequest;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.HttpFront;
import radiod.redirector.balance.Pipeline;
import radiod.redirector.listen.HttpFrontSettings;
import radiod.redirector.listen.StreamServer;
import radiod.redirector.metrics.VertxMeters;

/**
 * The HTTP front on a synthetic three-node cluster, for measuring redirect throughput ({@code bench/redirect/run}).
 * Every request for {@code /live.mp3} runs the full default pipeline and gets a 302 to one of the three nodes
 * (this node, {@code bench}, is not one of them). As in a node, Vert.x metrics are on (as radiod sets them: {@link VertxMeters}), and each node
 * republishes its status every second (which resets the predictions).
 *
 * <p>Usage: {@code RedirectBenchServer <host> <port> [event loops, 0 = one per core] [--no-vertx-metrics] [--nio]
 * [--https <port> <chain.pem> <key.pem>]}; with {@code --https} the same front also answers over TLS on that port, as a
 * node with {@code tls.certificate_file} does (redirects to {@code https://nodeN.radio.test:<port>/_stream/…}).
 */
public final class RedirectBenchServer {
    private RedirectBenchServer() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: RedirectBenchServer <host> <port> [event loops, 0 = one per core] [--no-vertx-metrics] "
                    + "[--nio]");
            System.exit(2);
        }
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        int loops = args.length > 2 ? Integer.parseInt(args[2]) : 0;
        boolean vertxMetrics = !List.of(args).contains("--no-vertx-metrics");
        boolean nativeTransport = !List.of(args).contains("--nio"); // as radiod: epoll where Linux has it
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        VertxOptions options = new VertxOptions().setPreferNativeTransport(nativeTransport);
        if (vertxMetrics) {
            options.setMetricsOptions(VertxMeters.options(registry));
        }
        Vertx vertx = Vertx.vertx(options);
        Mount live = new Mount("/live.mp3", null, "bench", null, null, 0, 128, null);
        AtomicReference<ClusterSnapshot> view = new AtomicReference<>(snapshot(live, System.currentTimeMillis()));
        vertx.setPeriodic(1000, t -> view.set(snapshot(live, System.currentTimeMillis())));
        HttpFront front = new HttpFront(vertx, new HttpFrontSettings("bench", host, port, Pipeline.DEFAULT, null, null, 5,
                "127.0.0.1", 8100, loops), view::get, () -> false, new NeverStreams(), registry);
        int tlsAt = List.of(args).indexOf("--https");
        if (tlsAt >= 0) {
            radiod.redirector.tls.ServerTls tls = new radiod.redirector.tls.ServerTls();
            tls.meters(registry);
            radiod.redirector.tls.ServerTls.Result r = tls.apply(java.nio.file.Files.readString(java.nio.file.Path.of(args[tlsAt + 2])),
                    java.nio.file.Files.readString(java.nio.file.Path.of(args[tlsAt + 3])), args[tlsAt + 2]);
            if (!r.ok()) {
                System.err.println("RedirectBenchServer: the certificate was refused: " + r.message());
                System.exit(2);
            }
            front.https(tls, new radiod.redirector.listen.HttpsSettings(Integer.parseInt(args[tlsAt + 1]), "radio.test"));
        }
        front.start().toCompletionStage().toCompletableFuture().get();
        System.out.println("ready on http://" + host + ":" + port + "/live.mp3 (vertx metrics " + (vertxMetrics ? "on" : "off")
                + ", native transport " + (vertx.isNativeTransportEnabled() ? "on" : "off") + ")");
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // bench/redirect/run reads this line: which path answered the bench's redirects.
            System.out.println("redirects on the lean path: " + front.leanRedirects() + ", of them from their bytes: "
                    + front.rawRedirects());
            System.out.flush();
            front.close();
            vertx.close();
            done.countDown();
        }));
        done.await();
    }

    /** Three relays with room for everyone, each with the mount live, as published at {@code now}. */
    static ClusterSnapshot snapshot(Mount live, long now) {
        return snapshot(live, now, MAX_BPS);
    }

    /** Each node's bandwidth limit: 10 Gbit/s. */
    static final long MAX_BPS = 10_000_000_000L;

    /** As {@link #snapshot(Mount, long)}, each node with a bandwidth limit of {@code maxBps}. */
    static ClusterSnapshot snapshot(Mount live, long now, long maxBps) {
        Map<String, NodeStatus> nodes = new java.util.HashMap<>();
        for (int i = 1; i <= 3; i++) {
            NodeStatus n = new NodeStatus("node" + i, List.of("192.0.2.1" + i), 8080, 8000, 8100, 53, true, false, i == 1,
                    1000 * i, Map.of(live.path(), 1000 * i), 128_000L * 1000 * i, maxBps, 0, List.of(), "bench", now);
            nodes.put(n.name(), n);
        }
        return new ClusterSnapshot(1, nodes, Optional.of(new MasterInfo("node1", List.of("192.0.2.11"), 8100, 8000, 8080, 0)),
                Map.of(live.path(), live), Map.of(), Map.of());
    }

    /** The redirect bench's players all follow redirects: nothing is ever streamed. */
    private static final class NeverStreams implements StreamServer {
        @Override
        public void serve(HttpServerRequest req, String mountPath) {
            req.response().setStatusCode(500).end("the bench never streams\n");
        }

        @Override
        public void proxy(HttpServerRequest req, String mountPath, String host, int httpPort) {
            serve(req, mountPath);
        }
    }
}
