package radiod.redirector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.vertx.core.http.HttpMethod;
import radiod.cluster.model.Drain;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.FrontFixture.Served;
import radiod.redirector.listen.ListenerRoutes;

/**
 * The listener HTTP front: redirects to the chosen node's passthrough keeping the query string, proxies players that
 * do not follow redirects, 404 for unknown mounts and 503 with Retry-After when no node can take a listener,
 * playlists, status, and the right 4xx for bad requests.
 */
class HttpFrontTest {
    /** Reads the JSON documents the tests look into. */
    static final com.fasterxml.jackson.databind.ObjectMapper TREES = new com.fasterxml.jackson.databind.ObjectMapper();
    static FrontFixture front;
    static final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    static void start() throws Exception {
        front = new FrontFixture(FrontFixture.cluster(true, true, true), null);
    }

    @AfterAll
    static void stop() throws Exception {
        front.close();
    }

    @BeforeEach
    void reset() {
        front.served.clear();
        front.master.set(false);
        front.icecastOutOfService.set(false);
    }

    static HttpResponse<String> get(String pathAndQuery, String... headers) throws Exception {
        return send("GET", pathAndQuery, headers);
    }

    static HttpResponse<String> send(String method, String pathAndQuery, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(front.url(pathAndQuery))).timeout(Duration.ofSeconds(5))
                .method(method, HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aRemoteChoiceIsRedirectedToItsPassthroughKeepingTheQueryString() throws Exception {
        front.view.set(FrontFixture.cluster(false, true, false));
        HttpResponse<String> r = get("/live.mp3?token=a%20b&x=1", "User-Agent", "VLC/3.0.20 LibVLC/3.0.20");
        assertEquals(302, r.statusCode());
        assertEquals("http://192.0.2.12:8080/_stream/live.mp3?token=a%20b&x=1", r.headers().firstValue("Location").orElseThrow());
        assertEquals("", r.body());
        assertEquals("no-cache", r.headers().firstValue("Cache-Control").orElseThrow());
        assertTrue(front.served.isEmpty());
        // Header names as nginx and Icecast write them, for simple HTTP stacks; HTTP/1.0 clients too.
        String raw = front.raw("GET /live.mp3 HTTP/1.0\r\n\r\n");
        assertTrue(raw.startsWith("HTTP/1.0 302 Found\r\n") && raw.contains("\r\nLocation: http://192.0.2.12:8080/_stream/live.mp3\r\n"),
                raw);
        // Mounts below a folder too, without a query string.
        r = get("/jazz/other.ogg");
        assertEquals(302, r.statusCode());
        assertEquals("http://192.0.2.12:8080/_stream/jazz/other.ogg", r.headers().firstValue("Location").orElseThrow());
    }

    @Test
    void whenThisNodeIsChosenThePlayerIsRedirectedToItsPassthroughAndOnlyProxiedPlayersAreServedDirectly() throws Exception {
        front.view.set(FrontFixture.cluster(true, false, false));
        // A URL of this node, so that the player reconnects here rather than asking the balancer again.
        HttpResponse<String> redirected = get("/live.mp3?x=1");
        assertEquals(302, redirected.statusCode());
        assertEquals("http://192.0.2.11:8080/_stream/live.mp3?x=1",
                redirected.headers().firstValue("Location").orElseThrow());
        assertTrue(front.served.isEmpty());
        HttpResponse<String> r = get("/live.mp3?x=1", "User-Agent", "WinampMPEG/5.66, Ultravox/2.1");
        assertEquals(200, r.statusCode());
        assertEquals("audio of /live.mp3 from this node", r.body());
        assertEquals(List.of(Served.local(HttpMethod.GET, "/live.mp3", "x=1")), List.copyOf(front.served));
    }

    @Test
    void playersThatDoNotFollowRedirectsAreProxiedFromTheChosenNodesStreamPath() throws Exception {
        front.view.set(FrontFixture.cluster(false, false, true));
        for (String agent : List.of("WinampMPEG/5.66, Ultravox/2.1", "NSPlayer/12.00.19041.3636 WMFSDK/12.00.19041.3636",
                "Reciva/1.0 (Frontier)")) {
            front.served.clear();
            HttpResponse<String> r = get("/live.mp3", "User-Agent", agent);
            assertEquals(200, r.statusCode(), agent);
            // That node's own /_stream/ (its passthrough counts the listener there), on its HTTP port.
            assertEquals("192.0.2.13:8080", r.headers().firstValue("X-Fake-Upstream").orElseThrow(), agent);
            assertEquals(new Served(HttpMethod.GET, "/live.mp3", "192.0.2.13:8080", null), front.served.peek());
        }
        for (String agent : List.of("Lavf/59.27.100", "mpv 0.35.1", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0")) {
            assertEquals(302, get("/live.mp3", "User-Agent", agent).statusCode(), agent);
        }
    }

    @Test
    void unknownMountsAre404AndNoNodeAvailableIs503WithRetryAfter() throws Exception {
        front.view.set(FrontFixture.cluster(true, true, true));
        HttpResponse<String> r = get("/nope.mp3");
        assertEquals(404, r.statusCode());
        assertTrue(r.body().contains("no such mount"), r.body());
        front.view.set(FrontFixture.cluster(false, false, false));
        r = get("/live.mp3");
        assertEquals(503, r.statusCode());
        assertEquals("7", r.headers().firstValue("Retry-After").orElseThrow());
        assertTrue(front.served.isEmpty());
        r = send("HEAD", "/live.mp3");
        assertEquals(503, r.statusCode());
        assertEquals("7", r.headers().firstValue("Retry-After").orElseThrow());
    }

    /**
     * Before the node has read its view from etcd (starting, or started while etcd is down), no path is known to be no
     * mount: a player asking for one, or coming back to its stream path, is asked to retry (a 404 stops many players
     * for good); the node's own pages still answer.
     */
    @Test
    void aViewNotReadYetAsksPlayersToComeBackInsteadOf404() throws Exception {
        front.view.set(ClusterSnapshot.EMPTY);
        for (String path : List.of("/live.mp3", "/nope.mp3", "/_stream/live.mp3", "/live.mp3.m3u")) {
            for (String method : List.of("GET", "HEAD")) {
                HttpResponse<String> r = send(method, path);
                assertEquals(503, r.statusCode(), method + " " + path);
                assertEquals("7", r.headers().firstValue("Retry-After").orElseThrow(), method + " " + path);
            }
        }
        assertTrue(get("/nope.mp3").body().contains("not read the cluster's state"));
        // A web player on another site: its preflight is answered, and it may read the 503 (and come back).
        assertEquals(204, send("OPTIONS", "/live.mp3", "Origin", "https://www.station.example",
                "Access-Control-Request-Method", "GET").statusCode());
        assertEquals(405, send("OPTIONS", "/metrics").statusCode());
        HttpResponse<String> cors = get("/live.mp3", "Origin", "https://www.station.example");
        assertEquals(503, cors.statusCode());
        assertEquals("*", cors.headers().firstValue("Access-Control-Allow-Origin").orElseThrow());
        // The node's own pages answer, and say that the empty cluster they show is not known yet, not absent.
        HttpResponse<String> json = get("/status.json");
        assertEquals(200, json.statusCode());
        assertTrue(json.body().contains("\"revision\":0,\"read\":false"), json.body());
        assertTrue(get("/").body().contains("id=\"unread\""));
        assertTrue(get("/").body().contains("not read from etcd yet"));
        // Icecast's shape has no "not known": an empty icestats would show every mount off air to a widget.
        HttpResponse<String> icecast = get("/status-json.xsl");
        assertEquals(503, icecast.statusCode());
        assertEquals("7", icecast.headers().firstValue("Retry-After").orElseThrow());
        assertEquals("*", icecast.headers().firstValue("Access-Control-Allow-Origin").orElseThrow());
        assertTrue(front.served.isEmpty());
        front.view.set(FrontFixture.cluster(true, true, true));
        assertEquals(404, get("/nope.mp3").statusCode());
        assertTrue(get("/status.json").body().contains("\"read\":true"));
        assertFalse(get("/").body().contains("id=\"unread\""));
        assertEquals(200, get("/status-json.xsl").statusCode());
    }

    @Test
    void headGetsTheSameAnswersWithoutABody() throws Exception {
        front.view.set(FrontFixture.cluster(false, true, false));
        HttpResponse<String> r = send("HEAD", "/live.mp3?a=b");
        assertEquals(302, r.statusCode());
        assertEquals("http://192.0.2.12:8080/_stream/live.mp3?a=b", r.headers().firstValue("Location").orElseThrow());
        front.view.set(FrontFixture.cluster(true, false, false));
        r = send("HEAD", "/live.mp3", "User-Agent", "WinampMPEG/5.66");
        assertEquals(200, r.statusCode());
        assertEquals(HttpMethod.HEAD, front.served.poll().method());
        for (String path : List.of("/", "/status.json", "/live.mp3.m3u", "/live.mp3.pls", "/metrics")) {
            String answer = front.raw("HEAD " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 200"), path + ": " + answer);
            assertTrue(answer.endsWith("\r\n\r\n"), path + " has a body: " + answer);
        }
        assertTrue(front.raw("HEAD /nope.mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startsWith("HTTP/1.1 404"));
    }

    @Test
    void streamPathsServeTheLocalIcecastForKnownMountsOnly() throws Exception {
        // This node serves it, whatever the balancer would say: node2 has fewer listeners, node3 none.
        front.view.set(FrontFixture.cluster(true, true, true));
        HttpResponse<String> r = get("/_stream/live.mp3?token=1");
        assertEquals(200, r.statusCode());
        assertEquals(Served.local(HttpMethod.GET, "/live.mp3", "token=1"), front.served.poll());
        assertEquals(404, get("/_stream/nope.mp3").statusCode());
        assertEquals(404, get("/_stream/").statusCode());
        assertTrue(front.served.isEmpty());
    }

    /**
     * A player comes back to the {@code /_stream/} URL it holds. When this node serves nothing (its Icecast out of
     * service, drained) and another node can serve the mount, it goes there; when none can, or what this node's status
     * shows is passing (its Icecast starting or restarting, the mount not live here yet), it is served here as before.
     */
    @Test
    void aStreamPathThisNodeCannotServeSendsThePlayerToANodeThatCan() throws Exception {
        java.util.function.Function<NodeStatus, ClusterSnapshot> withSelf = self -> FrontFixture.snapshot(List.of(self,
                FrontFixture.node(2, true, 5, 100, Map.of("/live.mp3", 5)),
                FrontFixture.node(3, false, 0, 100, Map.of("/live.mp3", 0))));
        NodeStatus up = FrontFixture.node(1, true, 10, 100, Map.of("/live.mp3", 7));
        NodeStatus icecastDown = FrontFixture.node(1, false, 10, 100, Map.of("/live.mp3", 7));
        NodeStatus notLiveHere = FrontFixture.node(1, true, 10, 100, Map.of("/jazz/other.ogg", 3));
        NodeStatus drained = FrontFixture.node(1, true, true, 10, 100, Map.of("/live.mp3", 7));
        for (boolean outOfService : List.of(true, false)) {
            front.icecastOutOfService.set(outOfService);
            NodeStatus self = outOfService ? icecastDown : drained;
            front.view.set(withSelf.apply(self));
            HttpResponse<String> r = get("/_stream/live.mp3?token=1");
            assertEquals(302, r.statusCode(), self.toString());
            assertEquals("http://192.0.2.12:8080/_stream/live.mp3?token=1", r.headers().firstValue("Location").orElseThrow());
            r = send("HEAD", "/_stream/live.mp3");
            assertEquals(302, r.statusCode());
            // A player that does not follow redirects gets it proxied from there.
            r = get("/_stream/live.mp3", "User-Agent", "WinampMPEG/5.66, Ultravox/2.1");
            assertEquals(200, r.statusCode());
            assertEquals("192.0.2.12:8080", r.headers().firstValue("X-Fake-Upstream").orElseThrow());
            assertEquals(new Served(HttpMethod.GET, "/live.mp3", "192.0.2.12:8080", null), front.served.poll());
            assertTrue(front.served.isEmpty());
        }
        // Passing states are served here: an Icecast down in the view but not out of service (starting, restarting
        // after a crash), a mount not live here yet.
        front.icecastOutOfService.set(false);
        for (NodeStatus self : List.of(icecastDown, notLiveHere)) {
            front.view.set(withSelf.apply(self));
            assertEquals(200, get("/_stream/live.mp3").statusCode(), self.toString());
            assertEquals(Served.local(HttpMethod.GET, "/live.mp3", null), front.served.poll());
        }
        // No other node can: served here, as before.
        front.icecastOutOfService.set(true);
        front.view.set(FrontFixture.snapshot(List.of(icecastDown,
                FrontFixture.node(2, true, 5, 100, Map.of("/jazz/other.ogg", 0)),
                FrontFixture.node(3, false, 0, 100, Map.of("/live.mp3", 0)))));
        assertEquals(200, get("/_stream/live.mp3").statusCode());
        assertEquals(Served.local(HttpMethod.GET, "/live.mp3", null), front.served.poll());
        // A peer proxying a player from this node's /_stream/ is served here, never sent on again.
        front.view.set(withSelf.apply(icecastDown));
        HttpResponse<String> viaPeer = get("/_stream/live.mp3", "User-Agent", "WinampMPEG/5.66", "Via", "1.1 radiod");
        assertEquals(200, viaPeer.statusCode());
        assertEquals(Served.local(HttpMethod.GET, "/live.mp3", null), front.served.poll());
        // This node not in the view (no lease), its Icecast out of service: sent on all the same.
        front.view.set(FrontFixture.snapshot(List.of(FrontFixture.node(2, true, 5, 100, Map.of("/live.mp3", 5)))));
        assertEquals(302, get("/_stream/live.mp3").statusCode());
        // A drain of this node in the view, not yet in its own status: sent on too.
        front.icecastOutOfService.set(false);
        front.view.set(FrontFixture.snapshot(List.of(up, FrontFixture.node(2, true, 5, 100, Map.of("/live.mp3", 5))),
                Map.of("node1", new Drain("kernel update", 1))));
        assertEquals(302, get("/_stream/live.mp3").statusCode());
        // In service: served here.
        front.view.set(withSelf.apply(up));
        assertEquals(200, get("/_stream/live.mp3").statusCode());
        assertEquals(Served.local(HttpMethod.GET, "/live.mp3", null), front.served.poll());
    }

    /**
     * A node cut from the master (it still reaches etcd) loses its mounts from its Icecast, which stays up. A player
     * coming back to it for a mount that was live here and has been missing for {@link ListenerRoutes#MOUNT_LOST_MILLIS}
     * goes to a node that serves it; missing for less (a relay reconnecting), or never live here, it is served here.
     */
    @Test
    void aPlayerComingBackForAMountThisNodeLostIsSentToANodeThatServesIt() throws Exception {
        NodeStatus notLiveHere = FrontFixture.node(1, true, 10, 100, Map.of("/jazz/other.ogg", 3));
        front.view.set(FrontFixture.snapshot(List.of(notLiveHere,
                FrontFixture.node(2, true, 5, 100, Map.of("/live.mp3", 5)),
                FrontFixture.node(3, false, 0, 100, Map.of("/live.mp3", 0)))));
        try {
            for (long lost : List.of(0L, ListenerRoutes.MOUNT_LOST_MILLIS - 1)) {
                front.mountLost.put("/live.mp3", lost);
                assertEquals(200, get("/_stream/live.mp3").statusCode(), lost + " ms");
                assertEquals(Served.local(HttpMethod.GET, "/live.mp3", null), front.served.poll());
            }
            front.mountLost.put("/live.mp3", ListenerRoutes.MOUNT_LOST_MILLIS);
            HttpResponse<String> r = get("/_stream/live.mp3?token=2");
            assertEquals(302, r.statusCode());
            assertEquals("http://192.0.2.12:8080/_stream/live.mp3?token=2", r.headers().firstValue("Location").orElseThrow());
            // Only that mount: another one live here is served here.
            assertEquals(200, get("/_stream/jazz/other.ogg").statusCode());
            assertEquals(Served.local(HttpMethod.GET, "/jazz/other.ogg", null), front.served.poll());
            // A peer's proxied request is served here all the same.
            assertEquals(200, get("/_stream/live.mp3", "User-Agent", "WinampMPEG/5.66", "Via", "1.1 radiod").statusCode());
            assertEquals(Served.local(HttpMethod.GET, "/live.mp3", null), front.served.poll());
            // No other node serves it: served here, as before.
            front.view.set(FrontFixture.snapshot(List.of(notLiveHere,
                    FrontFixture.node(2, true, 5, 100, Map.of("/jazz/other.ogg", 0)))));
            assertEquals(200, get("/_stream/live.mp3").statusCode());
            assertEquals(Served.local(HttpMethod.GET, "/live.mp3", null), front.served.poll());
        } finally {
            front.mountLost.clear();
        }
    }

    @Test
    void webPlayersOnOtherSitesMayReadTheListenersAnswers() throws Exception {
        front.view.set(FrontFixture.cluster(false, true, false));
        for (String path : List.of("/live.mp3", "/_stream/live.mp3", "/live.mp3.m3u", "/jazz/other.ogg.pls")) {
            HttpResponse<String> r = send("OPTIONS", path, "Origin", "https://www.station.example",
                    "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "icy-metadata");
            assertEquals(204, r.statusCode(), path);
            assertEquals("*", r.headers().firstValue("Access-Control-Allow-Origin").orElseThrow(), path);
            assertTrue(r.headers().firstValue("Access-Control-Allow-Methods").orElseThrow().contains("GET"), path);
            assertTrue(r.headers().firstValue("Access-Control-Allow-Headers").orElseThrow().toLowerCase()
                    .contains("icy-metadata"), path);
        }
        assertTrue(front.served.isEmpty(), "a preflight is no listener");
        for (String path : List.of("/nope.mp3", "/status.json", "/metrics", "/_stream/nope.mp3")) {
            assertEquals(405, send("OPTIONS", path).statusCode(), path);
        }
        HttpResponse<String> redirect = get("/live.mp3", "Origin", "https://www.station.example");
        assertEquals(302, redirect.statusCode());
        assertEquals("*", redirect.headers().firstValue("Access-Control-Allow-Origin").orElseThrow());
        // Vert.x's path: a HEAD, and a /_stream/ this node sends on (its Icecast out of service).
        assertEquals("*", send("HEAD", "/live.mp3").headers().firstValue("Access-Control-Allow-Origin").orElseThrow());
        front.icecastOutOfService.set(true);
        HttpResponse<String> sentOn = get("/_stream/live.mp3");
        front.icecastOutOfService.set(false);
        assertEquals(302, sentOn.statusCode());
        assertEquals("*", sentOn.headers().firstValue("Access-Control-Allow-Origin").orElseThrow());
        // A refusal a web player can read, with when to retry.
        front.view.set(FrontFixture.cluster(false, false, false));
        HttpResponse<String> refused = get("/live.mp3");
        assertEquals(503, refused.statusCode());
        assertEquals("*", refused.headers().firstValue("Access-Control-Allow-Origin").orElseThrow());
        assertEquals("Retry-After", refused.headers().firstValue("Access-Control-Expose-Headers").orElseThrow());
        front.view.set(FrontFixture.cluster(false, true, false));
        assertEquals("*", get("/live.mp3.m3u").headers().firstValue("Access-Control-Allow-Origin").orElseThrow());
        // The lean path's bytes too (a plain GET).
        String raw = front.raw("GET /live.mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(raw.contains("\r\nAccess-Control-Allow-Origin: *\r\n"), raw);
    }

    @Test
    void aMountWithDotsInsideItsNameIsRedirectedAndServedWhereDotSegmentsAreRefused() throws Exception {
        // Icecast takes and serves /live..mp3 and MountPath allows it: a listener following the redirect got 400.
        radiod.cluster.model.Mount dots = new radiod.cluster.model.Mount("/live..mp3", null, "pw", null, null, 0, 128,
                null);
        radiod.cluster.view.ClusterSnapshot base = FrontFixture.snapshot(List.of(
                FrontFixture.node(1, true, 0, 100, Map.of("/live.mp3", 0, dots.path(), 0))));
        Map<String, radiod.cluster.model.Mount> mounts = new HashMap<>(base.mounts());
        mounts.put(dots.path(), dots);
        front.view.set(new radiod.cluster.view.ClusterSnapshot(base.revision(), base.nodes(), base.master(), mounts,
                base.transcoders(), base.drains(), base.titles(), base.kicks(), base.tls()));
        HttpResponse<String> r = get("/live..mp3");
        assertEquals(302, r.statusCode());
        assertEquals("http://192.0.2.11:8080/_stream/live..mp3", r.headers().firstValue("Location").orElseThrow());
        assertEquals(200, get("/_stream/live..mp3").statusCode());
        assertEquals(Served.local(HttpMethod.GET, "/live..mp3", null), front.served.poll());
        assertEquals(200, get("/live..mp3.m3u").statusCode());
        for (String path : List.of("/_stream/live.mp3/..", "/_stream/./live.mp3", "/jazz/./other.ogg", "/jazz/.",
                "/_stream/jazz/../live.mp3")) {
            String answer = front.raw("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 400"), path + ": " + answer);
        }
        assertTrue(front.served.isEmpty());
    }

    @Test
    void playlistsPointAtTheMountsClusterUrl() throws Exception {
        HttpResponse<String> m3u = get("/live.mp3.m3u");
        assertEquals(200, m3u.statusCode());
        assertEquals("audio/x-mpegurl", m3u.headers().firstValue("Content-Type").orElseThrow());
        assertEquals("#EXTM3U\n#EXTINF:-1,live.mp3\nhttp://127.0.0.1:" + front.port + "/live.mp3\n", m3u.body());
        HttpResponse<String> pls = get("/jazz/other.ogg.pls?token=x");
        assertEquals("audio/x-scpls", pls.headers().firstValue("Content-Type").orElseThrow());
        assertEquals("[playlist]\nNumberOfEntries=1\nFile1=http://127.0.0.1:" + front.port + "/jazz/other.ogg?token=x\n"
                + "Title1=jazz/other.ogg\nLength1=-1\nVersion=2\n", pls.body());
        // Without a Host header (HTTP/1.0), this node's address; a Host that is no host name is refused outright.
        String noHost = front.raw("GET /live.mp3.m3u HTTP/1.0\r\n\r\n");
        assertTrue(noHost.contains("\nhttp://192.0.2.11:" + front.port + "/live.mp3\n"), noHost);
        String evil = front.raw("GET /live.mp3.m3u HTTP/1.1\r\nHost: evil\"<x>/\r\nConnection: close\r\n\r\n");
        assertTrue(evil.startsWith("HTTP/1.1 400") && !evil.contains("evil"), evil);
        assertEquals(404, get("/nope.mp3.m3u").statusCode());
        try (FrontFixture configured = new FrontFixture(FrontFixture.cluster(true, true, true), "http://radio.example.org/")) {
            String body = http.send(HttpRequest.newBuilder(URI.create(configured.url("/live.mp3.pls"))).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(body.contains("File1=http://radio.example.org/live.mp3\n"), body);
        }
    }

    @Test
    void icecastInternalsAreNeverProxied() throws Exception {
        for (String path : List.of("/admin/stats", "/admin/listclients?mount=/live.mp3", "/admin/metadata?mode=updinfo",
                "/status.xsl", "/server_version.xsl", "/style.css", "/icecast.png", "/favicon.ico",
                "/_stream/admin/stats", "/_stream/status-json.xsl")) {
            HttpResponse<String> r = get(path);
            assertEquals(404, r.statusCode(), path);
            assertFalse(r.headers().map().toString().toLowerCase().contains("icecast"), path);
            assertTrue(r.body().startsWith("no such mount") || r.body().startsWith("not found"), path + ": " + r.body());
        }
        assertTrue(front.served.isEmpty(), "nothing reached an Icecast: " + front.served);
    }

    @Test
    void anHttp11RequestWithoutAValidHostIsABadRequestAndLogsNothing() throws Exception {
        ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                org.slf4j.Logger.ROOT_LOGGER_NAME);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged =
                new ch.qos.logback.core.read.ListAppender<>();
        logged.start();
        root.addAppender(logged);
        try {
            for (String head : List.of("GET /status.json HTTP/1.1\r\nConnection: close\r\n\r\n",
                    "GET /nope.mp3 HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n",
                    "GET /live.mp3.m3u HTTP/1.1\r\nHost: [bad\r\nConnection: close\r\n\r\n")) {
                String answer = front.raw(head);
                assertTrue(answer.startsWith("HTTP/1.1 400 ") && answer.contains("Host"), answer);
            }
        } finally {
            root.detachAppender(logged);
        }
        // Vert.x Web logged each at ERROR with a stack trace: any client could fill the log.
        assertTrue(logged.list.stream().noneMatch(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.WARN)),
                () -> logged.list.toString());
    }

    @Test
    void badRequestsGetTheRight4xx() throws Exception {
        for (String path : List.of("/_stream/../admin/stats", "/..%2fadmin/stats", "/%2e%2e/admin", "/live.mp3%00", "//admin",
                "/a\\b")) {
            String answer = front.raw("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 400"), path + ": " + answer);
        }
        // A request target that is neither a path nor a whole http URL (the fuzz suite found the first one served
        // the status page: Vert.x takes the path of "http://[::1" to be "/").
        for (String target : List.of("http://[::1", "live.mp3", "http:/live.mp3", "ftp://x/live.mp3")) {
            String answer = front.raw("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 400"), target + ": " + answer);
        }
        assertTrue(front.raw("GET http://x:8080/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startsWith("HTTP/1.1 200"));
        String longUri = front.raw("GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(longUri.matches("(?s)HTTP/1\\.[01] 414 .*"), longUri);
        HttpResponse<String> post = send("POST", "/live.mp3");
        assertEquals(405, post.statusCode());
        assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElseThrow());
        assertEquals(405, send("PUT", "/live.mp3").statusCode());
        assertEquals(405, send("DELETE", "/").statusCode());
        assertTrue(front.served.isEmpty());
    }

    @Test
    void statusJsonShowsNodesRolesMountsAndThisNodesOwnView() throws Exception {
        front.view.set(FrontFixture.cluster(true, true, false));
        front.master.set(true);
        HttpResponse<String> r = get("/status.json");
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElseThrow());
        JsonNode s = TREES.readTree(r.body());
        assertEquals("node1", s.get("self").asText());
        assertTrue(s.get("selfIsMaster").asBoolean());
        assertEquals("node1", s.get("master").asText());
        assertEquals(15, s.get("totalListeners").asInt());
        JsonNode nodes = s.get("nodes");
        assertEquals(3, nodes.size());
        assertEquals("node1", nodes.get(0).get("name").asText());
        assertEquals("master", nodes.get(0).get("role").asText());
        assertTrue(nodes.get(0).get("master").asBoolean());
        assertTrue(nodes.get(0).get("reportsMaster").asBoolean());
        assertEquals("relay", nodes.get(1).get("role").asText());
        assertFalse(nodes.get(1).get("master").asBoolean());
        assertEquals("up", nodes.get(1).get("state").asText());
        assertEquals("down", nodes.get(2).get("state").asText());
        assertEquals(100, nodes.get(1).get("maxListeners").asInt());
        JsonNode live = s.get("mounts").get(1);
        assertEquals("/live.mp3", live.get("path").asText());
        assertEquals(12, live.get("total").asInt());
        assertEquals(7, live.get("listenersByNode").get("node1").asInt());
        assertEquals(0, live.get("listenersByNode").get("node3").asInt());
        assertNull(s.get("mounts").get(0).get("listenersByNode").get("node3"), "not live on node3");
        front.master.set(false);
        assertFalse(TREES.readTree(get("/status.json").body()).get("selfIsMaster").asBoolean());
    }

    @Test
    void statusPageIsEscapedHtml() throws Exception {
        HttpResponse<String> r = get("/");
        assertEquals(200, r.statusCode());
        assertEquals("text/html; charset=utf-8", r.headers().firstValue("Content-Type").orElseThrow());
        for (String expected : List.of("node1", "node2", "node3", "/live.mp3", "/jazz/other.ogg", "master", "relay")) {
            assertTrue(r.body().contains(expected), expected);
        }
        assertFalse(r.body().contains("<script"));
        assertFalse(r.body().contains("src=\"http"));
    }

    static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\",?)*\\})? "
                    + "(-?[0-9.]+(?:[eE][-+]?[0-9]+)?|NaN|[+-]Inf)( -?[0-9]+)?");

    /** Every sample of a Prometheus text exposition, as "name{labels}" → value; fails on a line that is not one. */
    static Map<String, Double> parsePrometheus(String text) {
        Map<String, Double> samples = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertTrue(m.matches(), "not a Prometheus sample: " + line);
            double v = switch (m.group(3)) {
                case "NaN" -> Double.NaN;
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                default -> Double.parseDouble(m.group(3));
            };
            samples.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), v);
        }
        return samples;
    }

    @Test
    void metricsAreValidPrometheusTextAndCountRedirects() throws Exception {
        front.view.set(FrontFixture.cluster(false, false, true));
        String key = "radiod_redirects_total{node=\"node3\"}";
        double before = parsePrometheus(get("/metrics").body()).getOrDefault(key, 0.0);
        assertEquals(302, get("/live.mp3").statusCode());
        assertEquals(302, get("/live.mp3").statusCode());
        assertEquals(404, get("/nope.mp3").statusCode());
        front.master.set(true);
        HttpResponse<String> r = get("/metrics");
        assertTrue(r.headers().firstValue("Content-Type").orElseThrow().startsWith("text/plain; version=0.0.4"));
        Map<String, Double> samples = parsePrometheus(r.body());
        assertEquals(before + 2, samples.get(key), r.body());
        assertTrue(samples.get("radiod_requests_refused_total{reason=\"not_found\"}") >= 1);
        assertTrue(samples.containsKey("radiod_requests_refused_total{reason=\"unavailable\"}"));
        assertFalse(samples.keySet().stream().anyMatch(k -> k.startsWith("radiod_redirects_total{node=\"none\"")),
                "refusals are not redirects");
        assertEquals(1.0, samples.get("radiod_master"));
        assertEquals(12.0, samples.get("radiod_cluster_listeners{mount=\"/live.mp3\"}"));
        assertEquals(3.0, samples.get("radiod_cluster_listeners{mount=\"/jazz/other.ogg\"}"));
        assertTrue(samples.get("radiod_http_connections{port=\"http\"}") >= 1, "the front counts its open connections");
        assertFalse(samples.keySet().stream().anyMatch(k -> k.startsWith("vertx_http_server_")),
                "Vert.x's per-request meters stay off (VertxMeters): they cost the listener rush a quarter of its CPU");
        assertFalse(r.body().contains("127.0.0.1"), "no client address in labels");
        assertFalse(r.body().contains("token="), "no URL in labels");
    }
}
