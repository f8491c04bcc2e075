package radiod.radioctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import radiod.cluster.model.Json;
import radiod.cluster.model.ListenerSession;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.testkit.EtcdCluster;
import radiod.testkit.Ports;
import radiod.testkit.etcd.EtcdPrefix;

/**
 * radioctl listeners against a real etcd and nodes' admin endpoints played by small HTTP servers: the token from
 * etcd is sent, every node is asked, and a node that does not answer is named and makes the exit code 6.
 */
class ListenersIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();
    static final String TOKEN = "9f".repeat(32);
    static final long T = 1_795_000_000_000L;

    @RegisterExtension
    final EtcdPrefix keys = EtcdPrefix.on(etcd, "listeners-it");

    final Radioctl radioctl = Radioctl.at(keys);
    HttpServer node1;
    final ConcurrentLinkedQueue<String> asked = new ConcurrentLinkedQueue<>();

    @BeforeEach
    void setUp() throws IOException {
        node1 = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        node1.createContext("/_admin/listeners", this::admin);
        node1.start();
        put("mounts/live.mp3", Json.encodeString(new Mount("/live.mp3", null, "pw", null, null, 0, 128, null)));
        put("nodes/node1", Json.encodeString(node("node1", node1.getAddress().getPort())));
    }

    @AfterEach
    void tearDown() {
        node1.stop(0);
    }

    /** node1's /_admin/listeners: its listeners with the right token, 401 without. */
    void admin(HttpExchange x) throws IOException {
        asked.add(x.getRequestURI().toString());
        boolean ok = ("Bearer " + TOKEN).equals(x.getRequestHeaders().getFirst("Authorization"));
        byte[] body = (ok ? Json.encodeString(Map.of("node", "node1", "listeners", List.of(
                new ListenerSession("node1", "/live.mp3", "203.0.113.77", "VLC/3.0.20 LibVLC/3.0.20", null, T, 1_234_567))))
                : "no").getBytes(StandardCharsets.UTF_8);
        x.sendResponseHeaders(ok ? 200 : 401, body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    void put(String relativeKey, String value) {
        keys.put(relativeKey, value);
    }

    static NodeStatus node(String name, int httpPort) {
        return new NodeStatus(name, List.of("127.0.0.1"), httpPort, 8000, 8100, 5353, true, false, false, 1,
                Map.of("/live.mp3", 1), 0, 0, 0, List.of(), "0.1.0", T);
    }

    @Test
    void everyNodeIsAskedWithTheTokenFromEtcd() {
        put("admin/token", TOKEN);
        Radioctl.Result r = radioctl.run("listeners");
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals("""
                NODE   MOUNT      ADDRESS       USER AGENT                CONNECTED SINCE       BYTES
                node1  /live.mp3  203.0.113.77  VLC/3.0.20 LibVLC/3.0.20  2026-11-18T11:06:40Z  1.2 MB
                """, r.out());
        assertEquals("", r.err());
        assertEquals(List.of("/_admin/listeners"), List.copyOf(asked));

        Radioctl.Result one = radioctl.run("listeners", "/live.mp3", "--json");
        assertEquals(0, one.exitCode(), one::toString);
        assertTrue(asked.contains("/_admin/listeners?mount=%2Flive.mp3"), asked.toString());
        JsonNode l = one.json().path("listeners").get(0);
        assertEquals("203.0.113.77", l.path("address").asText());
        assertEquals(1_234_567, l.path("bytes").asLong());
        assertEquals("2026-11-18T11:06:40Z", l.path("connectedSince").asText());
        assertEquals(0, one.json().path("unanswered").size());
    }

    @Test
    void aNodeThatDoesNotAnswerIsNamedAndTheExitCodeSaysPartial() {
        put("admin/token", TOKEN);
        int closed = Ports.free("127.0.0.1");
        put("nodes/node2", Json.encodeString(node("node2", closed)));
        Radioctl.Result r = radioctl.run("listeners");
        assertEquals(ExitCode.PARTIAL, r.exitCode(), r::toString);
        assertTrue(r.out().contains("node1  /live.mp3  203.0.113.77"), r::toString);
        assertEquals("radioctl: node node2 (http://127.0.0.1:" + closed + "/_admin/listeners) did not answer: "
                + "connection refused\n", r.err());

        Radioctl.Result json = radioctl.run("listeners", "--json");
        assertEquals(ExitCode.PARTIAL, json.exitCode(), json::toString);
        assertEquals("node2", json.json().path("unanswered").get(0).path("node").asText());
        assertEquals(1, json.json().path("listeners").size());
    }

    @Test
    void aNodeThatRefusesTheTokenIsNamedToo() {
        put("admin/token", "another-token");
        Radioctl.Result r = radioctl.run("listeners");
        assertEquals(ExitCode.PARTIAL, r.exitCode(), r::toString);
        assertEquals("no listeners on the nodes that answered\n", r.out());
        assertTrue(r.err().contains("node node1 (") && r.err().contains("refused the admin token (HTTP 401)"), r::toString);
    }

    @Test
    void withoutATokenOrWithAnUnknownMountNothingIsAsked() {
        Radioctl.Result none = radioctl.run("listeners");
        assertEquals(ExitCode.OTHER, none.exitCode(), none::toString);
        assertTrue(none.err().startsWith("radioctl: there is no admin token in etcd (" + keys.prefix() + "admin/token)"),
                none::toString);
        put("admin/token", TOKEN);
        Radioctl.Result unknown = radioctl.run("listeners", "/nope.mp3");
        assertEquals(ExitCode.NOT_FOUND, unknown.exitCode(), unknown::toString);
        assertTrue(asked.isEmpty(), asked.toString());
    }
}
