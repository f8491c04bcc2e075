package radiod.tests.ops;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import com.fasterxml.jackson.databind.JsonNode;

import picocli.CommandLine;
import radiod.radioctl.Main;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;
import radiod.testkit.encoder.Tone;

/**
 * radioctl against a live 3-node radiod cluster: mounts it creates go live, status counts real listeners, drain moves
 * the master; radioctl listeners names a listener that came through a redirect, by its own address, and the node
 * that streamed it logs its session.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RadioctlClusterIT {
    /** Reads the JSON documents the tests look into. */
    static final com.fasterxml.jackson.databind.ObjectMapper TREES = new com.fasterxml.jackson.databind.ObjectMapper();
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    static RadiodCluster cluster;
    static Process encoder;
    static final List<Socket> listeners = new ArrayList<>();

    record Result(int exit, String out, String err) {
    }

    static Result radioctl(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine(new Main(Map.of(), Path.of("/nonexistent/radioctl.yml")));
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(List.of("--endpoints", cluster.etcd().endpointsCsv(), "--prefix", cluster.prefix()));
        all.addAll(List.of(args));
        int exit = cli.execute(all.toArray(String[]::new));
        return new Result(exit, out.toString(), err.toString());
    }

    @BeforeAll
    static void start() {
        cluster = new RadiodCluster(etcd, 3, 3).start();
        cluster.awaitReady(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stop() throws Exception {
        for (Socket s : listeners) {
            s.close();
        }
        Streams.stop(encoder);
        if (cluster != null) {
            cluster.close();
        }
    }

    /** A listener that stays connected to one node's /_stream. */
    static void listenOn(RadiodProcess node) throws Exception {
        Socket s = new Socket(node.address(), cluster.httpPort);
        s.getOutputStream().write("GET /_stream/live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        InputStream in = s.getInputStream();
        byte[] first = in.readNBytes(12);
        assertTrue(new String(first, StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 200"));
        listeners.add(s);
        Thread drain = new Thread(() -> {
            byte[] buf = new byte[8192];
            try {
                while (in.read(buf) > 0) {
                    // keep reading like a player
                }
            } catch (Exception e) {
                // closed at the end of the test
            }
        });
        drain.setDaemon(true);
        drain.start();
    }

    @Test
    @Order(1)
    void aMountCreatedWithRadioctlGoesLiveStatusCountsTheListenersAndDrainMovesTheMaster() throws Exception {
        Result created = radioctl("create-mount", "/live.mp3", "--password", "ctl-pw", "--bitrate", "128");
        assertEquals(0, created.exit(), created.err());
        assertTrue(created.out().contains("created mount /live.mp3"), created.out());
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> {
            if (encoder == null || !encoder.isAlive()) {
                encoder = Tone.mp3("icecast://source:ctl-pw@" + cluster.node(0).address() + ":" + cluster.sourcePort + "/live.mp3").start();
            }
            return cluster.snapshot().nodes().values().stream().allMatch(n -> n.hasMount("/live.mp3"));
        });

        // 2 listeners on node2, 1 on node3, none on node1: radiod counts its listener sessions, never the other nodes'
        // pulls, its own readers of Icecast or a transcoder.
        listenOn(cluster.node(1));
        listenOn(cluster.node(1));
        listenOn(cluster.node(2));
        String master = cluster.master().orElseThrow().name();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(300)).until(() -> {
            JsonNode s = TREES.readTree(radioctl("status", "--json").out());
            return s.toString().contains("\"node2\"") && listenersOf(s, "node1") == 0 && listenersOf(s, "node2") == 2
                    && listenersOf(s, "node3") == 1;
        });
        Result status = radioctl("status");
        assertEquals(0, status.exit(), status.err());
        assertTrue(status.out().contains("master: " + master), status.out());
        for (String n : List.of("node1", "node2", "node3")) {
            assertTrue(status.out().contains(n), status.out());
        }

        Result drain = radioctl("drain", master, "--reason", "maintenance");
        assertEquals(0, drain.exit(), drain.err());
        await().atMost(Duration.ofSeconds(5)).until(() -> cluster.master().filter(m -> !m.name().equals(master)).isPresent());
        await().atMost(Duration.ofSeconds(5)).until(() -> radioctl("status").out().contains("drained"));
        assertNotEquals(master, cluster.master().orElseThrow().name());
        Result undrain = radioctl("undrain", master);
        assertEquals(0, undrain.exit(), undrain.err());
        await().atMost(Duration.ofSeconds(5)).until(() -> !cluster.snapshot().node(master).orElseThrow().drained());
    }

    /** A player's user agent with quotes, which the access log must escape. */
    static final String AGENT = "radiod-it \"quoted\" player/1.0";
    static final String LISTENER = "127.0.0.77";

    /**
     * A listener on its own loopback address asks node1 for /live.mp3 and follows the redirect to whichever node the
     * balancer picks: while it listens, radioctl listeners shows it there with its address and user agent (the admin
     * endpoint shows nothing without the token); when it leaves, that node, and only it, logs its session.
     */
    @Test
    @Order(2)
    void aRedirectedListenerIsListedWhileConnectedAndLoggedByItsNodeWhenItLeaves() throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        for (RadiodProcess n : cluster.nodes()) {
            // 503 until the node has read the token from etcd, then 401 without it or with another one.
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                    .until(() -> admin(http, n, null).statusCode() == 401);
            HttpResponse<String> none = admin(http, n, null);
            assertTrue(none.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"), none.toString());
            HttpResponse<String> wrong = admin(http, n, "Bearer " + "0".repeat(64));
            assertEquals(401, wrong.statusCode());
            assertTrue(!none.body().contains(LISTENER) && !wrong.body().contains("listeners"), wrong.body());
        }

        long started = System.currentTimeMillis();
        Process curl = new ProcessBuilder("curl", "--interface", LISTENER, "-sS", "-L", "-A", AGENT, "--max-time", "60",
                "-o", "/dev/null", cluster.node(0).httpUrl("/live.mp3"))
                .redirectErrorStream(true).redirectOutput(cluster.dir().resolve("curl.log").toFile()).start();
        AtomicReference<JsonNode> seen = new AtomicReference<>();
        try {
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(300)).until(() -> {
                Result r = radioctl("listeners", "/live.mp3", "--json");
                for (JsonNode l : TREES.readTree(r.out()).path("listeners")) {
                    if (LISTENER.equals(l.path("address").asText()) && l.path("bytes").asLong() > 0) {
                        seen.set(l);
                    }
                }
                return r.exit() == 0 && seen.get() != null;
            });
            JsonNode l = seen.get();
            assertEquals(AGENT, l.path("userAgent").asText(), l.toString());
            assertEquals("/live.mp3", l.path("mount").asText());
            long connectedAt = l.path("connectedAt").asLong();
            assertTrue(connectedAt >= started - 1000 && connectedAt <= System.currentTimeMillis(), l.toString());
            Result table = radioctl("listeners");
            assertEquals(0, table.exit(), table.err());
            assertTrue(table.out().lines().anyMatch(line -> line.startsWith(l.path("node").asText() + " ")
                    && line.contains(" /live.mp3 ") && line.contains(" " + LISTENER + " ")
                    && line.contains("radiod-it \"quoted\" player/1.0")), table.out());
            // Connected for at least two seconds, so that the logged duration says something.
            await().atMost(Duration.ofSeconds(10)).until(() -> System.currentTimeMillis() - connectedAt >= 2000);
            assertTrue(curl.isAlive(), "curl is still listening");
        } finally {
            curl.destroy();
            curl.waitFor(10, TimeUnit.SECONDS);
        }
        long elapsed = System.currentTimeMillis() - started;

        RadiodProcess streamer = cluster.node(seen.get().path("node").asText());
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                .until(() -> logLine(streamer.accessLog()) != null);
        String line = logLine(streamer.accessLog());
        Matcher m = Pattern.compile("^127\\.0\\.0\\.77 - - \\[[^]]+] \"GET /_stream/live\\.mp3 HTTP/1\\.1\" 200 (\\d+) "
                + "\"-\" \"(.*)\" (\\d+)$").matcher(line);
        assertTrue(m.matches(), line);
        assertTrue(Long.parseLong(m.group(1)) >= seen.get().path("bytes").asLong(), line);
        assertEquals("radiod-it \\\"quoted\\\" player/1.0", m.group(2));
        long seconds = Long.parseLong(m.group(3));
        assertTrue(seconds >= 2 && seconds <= elapsed / 1000 + 1, line + " (listened about " + elapsed + " ms)");
        for (RadiodProcess n : cluster.nodes()) {
            if (n != streamer) {
                assertEquals(null, logLine(n.accessLog()), n.name() + " did not stream it");
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> !radioctl("listeners").out().contains(LISTENER));
    }

    static HttpResponse<String> admin(HttpClient http, RadiodProcess node, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.httpUrl("/_admin/listeners")))
                .timeout(Duration.ofSeconds(5));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The access log line of the test's listener, or null. */
    static String logLine(Path accessLog) throws IOException {
        if (!Files.exists(accessLog)) {
            return null;
        }
        return Files.readAllLines(accessLog).stream().filter(l -> l.startsWith(LISTENER + " ")).findFirst().orElse(null);
    }

    /** Listeners of a node as radioctl status --json reports them. */
    static int listenersOf(JsonNode status, String node) {
        for (JsonNode n : status.path("nodes")) {
            if (node.equals(n.path("name").asText())) {
                return n.path("listeners").asInt(-1);
            }
        }
        return -1;
    }
}
