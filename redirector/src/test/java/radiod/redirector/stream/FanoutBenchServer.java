package radiod.redirector.stream;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import radiod.cluster.model.Drain;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.HttpFront;
import radiod.redirector.listen.HttpFrontSettings;
import radiod.redirector.metrics.VertxMeters;

/**
 * A node's HTTP front and passthrough, alone, for {@link FanoutBench}: set up as {@code Parts} sets them up (epoll,
 * Vert.x's Micrometer metrics on, one server per core), serving {@code /_stream/live.mp3} from the Icecast given.
 *
 * <pre>java -Xms64m -Xmx512m -cp ... radiod.redirector.stream.FanoutBenchServer 127.0.0.41 18180 127.0.0.41 18200 [batch-ms]</pre>
 */
public final class FanoutBenchServer {
    private FanoutBenchServer() {
    }

    public static void main(String[] args) throws Exception {
        String bind = args[0];
        int port = Integer.parseInt(args[1]);
        String icecastHost = args[2];
        int icecastPort = Integer.parseInt(args[3]);
        PassthroughSettings settings = PassthroughSettings.DEFAULTS;
        if (args.length > 4) {
            settings = settings.withBatch(Duration.ofMillis(Long.parseLong(args[4])));
        }
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setMetricsOptions(
                VertxMeters.options(registry)));
        Passthrough passthrough = new Passthrough(vertx, registry, icecastHost, icecastPort, settings);
        Mount live = new Mount("/live.mp3", null, "bench", null, null, 0, 128, null);
        NodeStatus self = new NodeStatus("bench", List.of(bind), port, 8000, icecastPort, 53, true, false, true, 0,
                Map.of(live.path(), 0), 0, 0, 0, List.of(), "bench", System.currentTimeMillis());
        ClusterSnapshot view = new ClusterSnapshot(1, Map.of("bench", self),
                Optional.of(new MasterInfo("bench", List.of(bind), icecastPort, 8000, port, 1)),
                Map.of(live.path(), live), Map.of(), Map.<String, Drain>of());
        HttpFront front = new HttpFront(vertx, new HttpFrontSettings("bench", bind, port, null, null, null, 5, icecastHost,
                icecastPort), () -> view, () -> true, passthrough, registry);
        front.start().toCompletionStage().toCompletableFuture().get();
        vertx.setPeriodic(5000, t -> System.out.printf("listeners=%d readers=%d dropped=%d stalled=%d held=%d%n",
                passthrough.listeners(), passthrough.readers(), passthrough.dropped(), passthrough.stalled(),
                passthrough.held()));
        System.out.println("ready on http://" + bind + ":" + port + "/_stream/live.mp3 (native transport "
                + (vertx.isNativeTransportEnabled() ? "on" : "off") + ", batch " + settings.batch().toMillis() + " ms)");
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            front.close();
            passthrough.close();
            vertx.close();
            done.countDown();
        }));
        done.await();
    }
}
