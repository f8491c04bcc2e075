package radiod.tests.ops;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import com.fasterxml.jackson.databind.JsonNode;

import picocli.CommandLine;
import radiod.cluster.model.Json;
import radiod.radioctl.Main;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;

/** radioctl against a live 3-node radiod cluster: mounts it creates go live, status counts real listeners, drain moves the master. */
class RadioctlClusterIT {
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
    void aMountCreatedWithRadioctlGoesLiveStatusCountsTheListenersAndDrainMovesTheMaster() throws Exception {
        Result created = radioctl("create-mount", "/live.mp3", "--password", "ctl-pw", "--bitrate", "128");
        assertEquals(0, created.exit(), created.err());
        assertTrue(created.out().contains("created mount /live.mp3"), created.out());
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> {
            if (encoder == null || !encoder.isAlive()) {
                encoder = Streams.tone("icecast://source:ctl-pw@" + cluster.node(0).address() + ":" + cluster.sourcePort + "/live.mp3", false);
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
            JsonNode s = Json.MAPPER.readTree(radioctl("status", "--json").out());
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
