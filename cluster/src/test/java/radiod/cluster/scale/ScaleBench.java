package radiod.cluster.scale;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import radiod.cluster.election.Election;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Json;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.model.TranscoderOwner;
import radiod.cluster.presence.Presence;
import radiod.cluster.view.ClusterView;

/**
 * Many simulated nodes in one JVM against one etcd: each a real {@link EtcdSession}, {@link Presence} (every second, as
 * radiod), {@link ClusterView}, master {@link Election} and an election per transcoded mount with every node eligible.
 * Measures, from etcd's own /metrics: requests and writes per second at rest; then the time for every view to see a
 * change, the time to a new master after the master's lease is revoked, and the heap the views take per node.
 *
 * <p>Only uses what the cluster module had before issue 17 too (same constructors), so the same file measures the code
 * before and after. Prints lines starting with {@code SCALE}.
 *
 * <pre>java radiod.cluster.scale.ScaleBench ENDPOINT NODES MOUNTS QUIET_SECONDS CHANGES FAILOVERS</pre>
 */
public final class ScaleBench {
    private static final Pattern HANDLED = Pattern.compile(
            "grpc_server_handled_total\\{grpc_code=\"[A-Za-z]+\",grpc_method=\"([A-Za-z]+)\",[^}]*} ([0-9.e+]+)");
    private static final Pattern MESSAGES = Pattern.compile(
            "grpc_server_msg_received_total\\{grpc_method=\"([A-Za-z]+)\",[^}]*} ([0-9.e+]+)");
    private static final Pattern MVCC = Pattern.compile("etcd_mvcc_(put|delete|txn|range)_total ([0-9.e+]+)");
    private static final Duration TTL = Duration.ofSeconds(5);

    /** One simulated node. */
    private static final class Node {
        final String name;
        final Client client;
        final EtcdSession session;
        final Presence presence;
        /** Dropped (null) once closed, for the heap measurement. */
        ClusterView view;
        final Election master;
        final List<Election> transcoders = new ArrayList<>();

        Node(String endpoint, Keys keys, String name, List<String> mounts, AtomicLong electedAt) {
            this.name = name;
            this.client = EtcdClients.connect(EtcdOptions.of(List.of(endpoint)));
            this.session = new EtcdSession(client, TTL);
            NodeStatus status = new NodeStatus(name, List.of("127.0.0.1"), 8080, 8000, 8100, 5353, true, false, false, 0,
                    Map.of(), 0, 0, 0, List.of(), "bench", 1);
            this.presence = new Presence(session, keys, name, () -> status, Duration.ofSeconds(1));
            this.view = new ClusterView(client, keys, Duration.ofSeconds(2));
            this.master = new Election(session, keys.master(), () -> Json.encode(new MasterInfo(name, List.of("127.0.0.1"),
                    8000, 8001, 8080, System.currentTimeMillis())), new Election.Listener() {
                        @Override
                        public void elected() {
                            electedAt.set(System.nanoTime());
                        }

                        @Override
                        public void deposed() {
                        }
                    });
            for (String mount : mounts) {
                transcoders.add(new Election(session, keys.transcoder(mount),
                        () -> Json.encode(new TranscoderOwner(name, System.currentTimeMillis())), new Election.Listener() {
                            @Override
                            public void elected() {
                            }

                            @Override
                            public void deposed() {
                            }
                        }));
            }
        }

        void start() {
            view.start();
            session.start();
            presence.start();
            master.start();
            transcoders.forEach(Election::start);
        }

        void close() {
            transcoders.forEach(Election::close);
            master.close();
            presence.close();
            session.close();
            if (view != null) {
                view.close();
            }
            client.close();
        }
    }

    public static void main(String[] args) throws Exception {
        String endpoint = args[0];
        int nodes = Integer.parseInt(args[1]);
        int mounts = Integer.parseInt(args[2]);
        int quietSeconds = Integer.parseInt(args[3]);
        int changes = Integer.parseInt(args[4]);
        int failovers = Integer.parseInt(args[5]);
        Map<String, String> figures = run(endpoint, nodes, mounts, quietSeconds, changes, failovers);
        figures.forEach((k, v) -> System.out.println("SCALE " + k + " " + v));
        System.exit(0);
    }

    /** Runs the whole measurement and returns the figures by name (also used by the small test). */
    public static Map<String, String> run(String endpoint, int nodeCount, int mountCount, int quietSeconds, int changes,
                                          int failovers) throws Exception {
        Map<String, String> out = new TreeMap<>();
        Keys keys = new Keys(Keys.DEFAULT_PREFIX);
        List<String> mounts = new ArrayList<>();
        for (int i = 0; i < mountCount; i++) {
            mounts.add("/t" + i + ".mp3");
        }
        Client admin = EtcdClients.connect(EtcdOptions.of(List.of(endpoint)));
        List<AtomicLong> electedAt = new ArrayList<>();
        List<Node> nodes = new ArrayList<>();
        long startedAt = System.nanoTime();
        for (int i = 0; i < nodeCount; i++) {
            AtomicLong at = new AtomicLong();
            electedAt.add(at);
            Node n = new Node(endpoint, keys, String.format("n%03d", i), mounts, at);
            nodes.add(n);
            n.start();
        }
        waitFor(Duration.ofSeconds(120), "every view to see every node and a master", () -> nodes.stream()
                .allMatch(n -> n.view.current().nodes().size() == nodeCount && n.view.current().master().isPresent()));
        waitFor(Duration.ofSeconds(60), "one transcoder per mount", () -> mounts.stream().allMatch(m -> nodes.stream()
                .filter(n -> n.transcoders.get(mounts.indexOf(m)).isLeader()).count() == 1));
        out.put("settled_seconds", String.format("%.1f", (System.nanoTime() - startedAt) / 1e9));
        Thread.sleep(3000); // let the start's burst (campaigns, first reads) end before the quiet window

        // At rest: etcd's counters before and after a quiet window.
        Map<String, Double> before = metrics(endpoint);
        long t0 = System.nanoTime();
        Thread.sleep(TimeUnit.SECONDS.toMillis(quietSeconds));
        Map<String, Double> after = metrics(endpoint);
        double seconds = (System.nanoTime() - t0) / 1e9;
        double requests = 0;
        for (Map.Entry<String, Double> e : after.entrySet()) {
            double rate = (e.getValue() - before.getOrDefault(e.getKey(), 0.0)) / seconds;
            if (rate > 0.05) {
                out.put("rest_" + e.getKey() + "_per_s", String.format("%.1f", rate));
            }
            if (e.getKey().startsWith("unary_")) {
                requests += rate;
            }
        }
        double writes = rate(before, after, "mvcc_put", seconds) + rate(before, after, "mvcc_delete", seconds);
        out.put("rest_requests_per_s", String.format("%.1f", requests));
        out.put("rest_writes_per_s", String.format("%.1f", writes));
        out.put("rest_writes_per_s_per_node", String.format("%.2f", writes / nodeCount));

        // A change seen by every view.
        List<Long> allViews = new ArrayList<>();
        List<Long> eachView = Collections.synchronizedList(new ArrayList<>());
        for (int c = 0; c < changes; c++) {
            String path = "/change" + c + ".mp3";
            Map<String, Long> sawAt = new ConcurrentHashMap<>();
            for (Node n : nodes) {
                n.view.addListener(s -> {
                    if (s.mounts().containsKey(path)) {
                        sawAt.putIfAbsent(n.name, System.nanoTime());
                    }
                });
            }
            long written = System.nanoTime();
            EtcdClients.await(admin.getKVClient().put(keys.mount(path),
                    Keys.bytes(Json.encodeString(new Mount(path, "source", "pw", null, null, 0, 128, null)))), 5000, "put");
            waitFor(Duration.ofSeconds(10), "every view to see " + path, () -> sawAt.size() >= nodeCount);
            long last = 0;
            for (long t : sawAt.values()) {
                eachView.add(t - written);
                last = Math.max(last, t - written);
            }
            allViews.add(last);
            Thread.sleep(200);
        }
        out.put("change_every_view_p50_ms", ms(percentile(allViews, 50)));
        out.put("change_every_view_p99_ms", ms(percentile(allViews, 99)));
        out.put("change_one_view_p99_ms", ms(percentile(eachView, 99)));

        // The master's lease revoked: the time to a new master.
        List<Long> failoverTimes = new ArrayList<>();
        for (int f = 0; f < failovers; f++) {
            List<KeyValue> kvs = EtcdClients.await(admin.getKVClient().get(keys.master()), 5000, "get master").getKvs();
            String holder = Json.decode("master", kvs.get(0).getValue().getBytes(), MasterInfo.class).orElseThrow().name();
            int old = nodes.indexOf(nodes.stream().filter(n -> n.name.equals(holder)).findFirst().orElseThrow());
            long revokedAt = System.nanoTime();
            EtcdClients.await(admin.getLeaseClient().revoke(kvs.get(0).getLease()), 5000, "revoke");
            waitFor(Duration.ofSeconds(15), "a new master", () -> electedAt.stream()
                    .anyMatch(a -> a.get() - revokedAt > 0 && electedAt.indexOf(a) != old));
            long first = electedAt.stream().filter(a -> electedAt.indexOf(a) != old).mapToLong(AtomicLong::get)
                    .filter(t -> t - revokedAt > 0).min().orElseThrow();
            failoverTimes.add(first - revokedAt);
            waitFor(Duration.ofSeconds(20), "the revoked node back in every view", () -> nodes.stream()
                    .allMatch(n -> n.view.current().nodes().size() == nodeCount));
            Thread.sleep(1000);
        }
        out.put("failover_ms", failoverTimes.stream().map(ScaleBench::ms).toList().toString().replace(" ", ""));
        out.put("failover_max_ms", ms(failoverTimes.stream().mapToLong(Long::longValue).max().orElse(0)));

        // The heap the views hold: used heap with every view, then without, over the node count.
        long with = usedHeapAfterGc();
        long snapshotRevision = nodes.get(0).view.current().revision();
        for (Node n : nodes) {
            n.view.close();
            n.view = null;
        }
        long without = usedHeapAfterGc();
        out.put("view_heap_per_node_kib", String.format("%.0f", Math.max(0, with - without) / 1024.0 / nodeCount));
        out.put("view_revision", Long.toString(snapshotRevision));
        out.put("nodes", Integer.toString(nodeCount));
        out.put("transcoded_mounts", Integer.toString(mountCount));
        out.put("threads", Integer.toString(Thread.activeCount()));

        for (Node n : nodes) {
            n.close();
        }
        admin.close();
        return out;
    }

    private static double rate(Map<String, Double> before, Map<String, Double> after, String key, double seconds) {
        return (after.getOrDefault(key, 0.0) - before.getOrDefault(key, 0.0)) / seconds;
    }

    /** etcd's counters: unary requests handled by method, stream messages received by method, MVCC operations. */
    static Map<String, Double> metrics(String endpoint) throws Exception {
        String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(endpoint + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8)).body();
        Map<String, Double> m = new TreeMap<>();
        Matcher h = HANDLED.matcher(text);
        while (h.find()) {
            String method = h.group(1);
            // LeaseKeepAlive and Watch are streams; radiod sends each keep-alive on a stream of its own, so each is
            // one handled call. Watch streams end only when a watch is replaced.
            m.merge("unary_" + method, Double.parseDouble(h.group(2)), Double::sum);
        }
        Matcher r = MESSAGES.matcher(text);
        while (r.find()) {
            if (r.group(1).equals("Watch")) {
                m.merge("watch_messages", Double.parseDouble(r.group(2)), Double::sum);
            }
        }
        Matcher v = MVCC.matcher(text);
        while (v.find()) {
            m.merge("mvcc_" + v.group(1), Double.parseDouble(v.group(2)), Double::sum);
        }
        return m;
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static long percentile(List<Long> values, int p) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }

    private static String ms(long nanos) {
        return String.format("%.0f", nanos / 1e6);
    }

    private static void waitFor(Duration atMost, String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + atMost.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("scale bench: waited " + atMost.toSeconds() + " s for " + what);
            }
            Thread.sleep(10);
        }
    }
}
