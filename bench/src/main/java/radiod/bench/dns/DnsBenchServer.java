package radiod.bench.dns;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.dns.server.DnsServer;
import radiod.dns.zone.DnsSettings;

/**
 * A DNS server over a fixed, synthetic cluster, for benchmarks ({@code bench/dns/run}) and trying things out:
 * nodes {@code node1…nodeN} at {@code 10.0.0.1…N}, all live, no alias, the default settings otherwise.
 *
 * <pre>
 * mvn -q -o -pl dns -am install -DskipTests
 * mvn -q -o -pl dns dependency:build-classpath -Dmdep.outputFile=/tmp/dns.cp -Dmdep.includeScope=runtime
 * java -cp bench/target/bench-0.1.0-SNAPSHOT.jar:$(cat /tmp/bench.cp) radiod.bench.dns.DnsBenchServer radio.example.org 127.0.0.1 5353 3
 * dig @127.0.0.1 -p 5353 radio.example.org A
 * </pre>
 *
 * Prints {@code ready <port>} once both sockets are bound; runs until killed.
 */
public final class DnsBenchServer {
    private DnsBenchServer() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: DnsBenchServer <zone> <bind-address> <port> [nodes=3]");
            System.exit(2);
        }
        int nodes = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        DnsSettings settings = DnsSettings.defaults(args[0]).withListen(args[1], Integer.parseInt(args[2]));
        ClusterSnapshot view = snapshot(nodes);
        Vertx vertx = Vertx.vertx(new io.vertx.core.VertxOptions().setPreferNativeTransport(true)); // as radiod
        DnsServer server = new DnsServer(vertx, settings, () -> view, new SimpleMeterRegistry());
        server.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        System.out.println("ready " + server.port());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            vertx.close();
        }));
        new CountDownLatch(1).await();
    }

    /** {@code node1…nodeN} at {@code 10.0.0.1…}, Icecast up, not drained. */
    public static ClusterSnapshot snapshot(int nodes) {
        Map<String, NodeStatus> byName = new HashMap<>();
        List<String> names = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            String name = "node" + i;
            names.add(name);
            byName.put(name, new NodeStatus(name, List.of("10.0." + (i / 250) + "." + (i % 250)), 8080, 8000, 8100, 53,
                    true, false, i == 1, 0, Map.of(), 0, 0, 0, List.of(), "bench", 0));
        }
        return new ClusterSnapshot(1, byName, Optional.empty(), Map.of(), Map.of(), Map.of());
    }
}
