package radiod.redirector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServerRequest;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.listen.HttpFrontSettings;
import radiod.redirector.listen.StreamServer;
import radiod.redirector.metrics.VertxMeters;
import radiod.testkit.Ports;

/**
 * The lean path ({@link radiod.redirector.listen.LeanRedirects}): which requests it answers (counted by
 * {@link HttpFront#leanRedirects()}), that its answer is the Vert.x path's byte for byte, and that everything it leaves
 * alone still gets the Vert.x path's answer — in order, when requests are pipelined behind one Vert.x still owes.
 * HttpFrontTest checks the answers themselves, most of them now given by the lean path.
 */
class LeanRedirectsTest {
    static final String HOST = FrontFixture.HOST;
    static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(2)).build();
    static Vertx vertx;
    static HttpFront front;
    static int port;
    static PrometheusMeterRegistry registry;
    static volatile ClusterSnapshot view = FrontFixture.cluster(false, true, false);

    /** Streams from this node's Icecast answer 150 ms late, so that a request pipelined behind one waits for it. */
    @BeforeAll
    static void start() throws Exception {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        vertx = Vertx.vertx(new VertxOptions().setMetricsOptions(VertxMeters.options(registry)));
        port = Ports.free(HOST);
        StreamServer slow = new StreamServer() {
            @Override
            public void serve(HttpServerRequest req, String mount) {
                req.connection().closeHandler(v -> { }); // as the passthrough does: the connection's one close handler
                vertx.setTimer(150, t -> req.response().putHeader("Content-Type", "audio/mpeg").end("audio of " + mount));
            }

            @Override
            public void proxy(HttpServerRequest req, String mount, String host, int httpPort) {
                req.response().putHeader("Content-Type", "audio/mpeg").end("proxied " + mount + " from " + host);
            }
        };
        front = new HttpFront(vertx, new HttpFrontSettings(FrontFixture.SELF, HOST, port, null, null, null, 7,
                FrontFixture.ICECAST_HOST, FrontFixture.ICECAST_PORT, 1), () -> view, () -> false, slow, registry);
        front.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        front.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    static HttpResponse<String> send(String method, String pathAndQuery, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + HOST + ":" + port + pathAndQuery))
                .timeout(Duration.ofSeconds(5)).method(method, HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Writes {@code requests} at once on one connection and reads until {@code answers} responses have ended. */
    static String pipelined(String requests, int answers) throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(HOST, port), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(requests.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            while (count(all.toString(StandardCharsets.ISO_8859_1), "HTTP/1.") < answers || !lastBodyRead(all)) {
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                all.write(buf, 0, n);
            }
            return all.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** Whether the last response's body, by its Content-Length, has arrived. */
    private static boolean lastBodyRead(ByteArrayOutputStream all) {
        String text = all.toString(StandardCharsets.ISO_8859_1);
        int head = text.lastIndexOf("HTTP/1.");
        int end = text.indexOf("\r\n\r\n", head);
        if (end < 0) {
            return false;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)\r\ncontent-length: *(\\d+)").matcher(text.substring(head, end));
        return !m.find() || text.length() - (end + 4) >= Integer.parseInt(m.group(1));
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void aPlainGetOfAMountIsAnsweredOnTheLeanPathWithTheSameBytesAsBefore() throws Exception {
        view = FrontFixture.cluster(false, true, false);
        long before = front.leanRedirects();
        HttpResponse<String> r = send("GET", "/live.mp3?token=a%20b&x=1", "User-Agent", "VLC/3.0.20 LibVLC/3.0.20");
        assertEquals(302, r.statusCode());
        assertEquals("http://192.0.2.12:8080/_stream/live.mp3?token=a%20b&x=1", r.headers().firstValue("Location").orElseThrow());
        assertEquals(before + 1, front.leanRedirects(), "the lean path answered");
        // Exactly the header lines the Vert.x path writes (HttpFrontTest's HTTP/1.0 case shows that one).
        String raw = pipelined("GET /jazz/other.ogg HTTP/1.1\r\nHost: x\r\n\r\n", 1);
        assertEquals("HTTP/1.1 302 Found\r\nLocation: http://192.0.2.12:8080/_stream/jazz/other.ogg\r\n"
                + "Cache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n", raw);
        assertEquals(before + 2, front.leanRedirects());
    }

    /**
     * The answers the lean path makes once per node and mount: a node that publishes another address is redirected to
     * at that address from its next status on, and mounts past the number kept per node get their own answers too.
     */
    @Test
    void answersMadeOnceFollowTheNodesAddressAndEveryMountGetsItsOwn() throws Exception {
        view = FrontFixture.cluster(false, true, false);
        String ask = "GET /live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n";
        String tail = "\r\nCache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n";
        long before = front.leanRedirects();
        assertEquals("HTTP/1.1 302 Found\r\nLocation: http://192.0.2.12:8080/_stream/live.mp3" + tail, pipelined(ask, 1));
        NodeStatus node2 = FrontFixture.node(2, true, 5, 100, Map.of("/live.mp3", 5));
        NodeStatus moved = new NodeStatus("node2", List.of("192.0.2.99"), 8090, node2.sourcePort(), node2.icecastPort(),
                node2.dnsPort(), true, false, false, 5, node2.listenersByMount(), node2.bandwidthBps(),
                node2.maxBandwidthBps(), 100, List.of(), "0.1.0", node2.updatedAt()); // the same time: no new estimate
        view = FrontFixture.snapshot(List.of(FrontFixture.node(1, false, 0, 100, Map.of("/live.mp3", 0)), moved,
                FrontFixture.node(3, false, 0, 100, Map.of("/live.mp3", 0))));
        assertEquals("HTTP/1.1 302 Found\r\nLocation: http://192.0.2.99:8090/_stream/live.mp3" + tail, pipelined(ask, 1));

        Map<String, Mount> mounts = new java.util.HashMap<>();
        Map<String, Integer> live = new java.util.HashMap<>();
        for (int i = 0; i < 100; i++) {
            Mount m = new Mount("/m" + i + ".mp3", null, "pw", null, null, 0, 128, null);
            mounts.put(m.path(), m);
            live.put(m.path(), 0);
        }
        view = new ClusterSnapshot(43, Map.of("node4", FrontFixture.node(4, true, 0, 1000, live)), Optional.empty(),
                mounts, Map.of(), Map.of());
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < 100; i++) {
                String path = "/m" + i + ".mp3";
                String keep = "HTTP/1.0 302 Found\r\nLocation: http://192.0.2.14:8080/_stream" + path
                        + "\r\nCache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\nconnection: keep-alive\r\n\r\n";
                assertEquals(keep + keep, pipelined(("GET " + path + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").repeat(2), 2));
            }
        }
        assertEquals(before + 2 + 400, front.leanRedirects());
        assertEquals(java.util.Set.of("node4"), front.leanNodesKept(), "nodes gone from the cluster are let go");
    }

    @Test
    void playersThatCloseTheConnectionAndHttp10GetVertxsBytesOnTheLeanPathToo() throws Exception {
        view = FrontFixture.cluster(false, true, false);
        long before = front.leanRedirects();
        String location = "Location: http://192.0.2.12:8080/_stream/live.mp3\r\nCache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\n";
        // As ffmpeg and mpv ask: answered, then closed (rawOn reads to the end of the connection); what follows is not read.
        assertEquals("HTTP/1.1 302 Found\r\n" + location + "connection: close\r\n\r\n", FrontFixture.rawOn(HOST, port,
                "GET /live.mp3 HTTP/1.1\r\nUser-Agent: Lavf/59.27.100\r\nAccept: */*\r\nRange: bytes=0-\r\n"
                        + "Connection: close\r\nHost: x\r\nIcy-MetaData: 1\r\n\r\nGET /live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n"));
        assertEquals("HTTP/1.0 302 Found\r\n" + location + "\r\n", FrontFixture.rawOn(HOST, port, "GET /live.mp3 HTTP/1.0\r\n\r\n"));
        assertEquals(before + 2, front.leanRedirects());
        // HTTP/1.0 with keep-alive: the connection stays open for the next request.
        String raw = pipelined("GET /live.mp3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".repeat(2), 2);
        assertEquals(("HTTP/1.0 302 Found\r\n" + location + "connection: keep-alive\r\n\r\n").repeat(2), raw);
        assertEquals(before + 4, front.leanRedirects());
    }

    @Test
    void keepAliveConnectionsGetEveryAnswerAndPipelinedRequestsAnswersInOrder() throws Exception {
        // This node full (the balancer sends listeners to node2) but serving its own /_stream/.
        view = FrontFixture.snapshot(java.util.List.of(
                FrontFixture.node(1, true, 100, 100, java.util.Map.of("/live.mp3", 100)),
                FrontFixture.node(2, true, 5, 100, java.util.Map.of("/live.mp3", 5))));
        long before = front.leanRedirects();
        String three = "GET /live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3);
        String raw = pipelined(three, 3);
        assertEquals(3, count(raw, "HTTP/1.1 302 Found\r\nLocation: http://192.0.2.12:8080/_stream/live.mp3\r\n"), raw);
        assertEquals(before + 3, front.leanRedirects());
        // A stream Vert.x answers 150 ms late, then a mount: the 302 must wait for the stream's answer, in order.
        raw = pipelined("GET /_stream/live.mp3 HTTP/1.1\r\nHost: x\r\n\r\nGET /live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /status.json HTTP/1.1\r\nHost: x\r\n\r\nGET /live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n", 4);
        int audio = raw.indexOf("audio of /live.mp3");
        int redirect = raw.indexOf("HTTP/1.1 302 Found");
        int status = raw.indexOf("application/json");
        int second = raw.indexOf("HTTP/1.1 302 Found", redirect + 1);
        assertTrue(audio > 0 && audio < redirect && redirect < status && status < second, raw);
        assertEquals(before + 3, front.leanRedirects(), "owed an answer, the lean path left them to Vert.x");
        // Once Vert.x owes nothing, the lean path answers on that kind of connection again.
        raw = pipelined("GET /status.json HTTP/1.1\r\nHost: x\r\n\r\nGET /live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n", 2);
        assertTrue(raw.indexOf("application/json") < raw.indexOf("HTTP/1.1 302 Found"), raw);
    }

    @Test
    void plainGetsAreAnsweredFromTheirBytesOthersOnTheirConnectionByTheDecodedPath() throws Exception {
        view = FrontFixture.cluster(false, true, false);
        long lean = front.leanRedirects();
        long raw = front.rawRedirects();
        // ffmpeg's request (Connection: close), a keep-alive player's three, HTTP/1.0 with keep-alive: all from bytes.
        FrontFixture.rawOn(HOST, port, "GET /live.mp3 HTTP/1.1\r\nUser-Agent: Lavf/59.27.100\r\nAccept: */*\r\n"
                + "Range: bytes=0-\r\nConnection: close\r\nHost: x\r\nIcy-MetaData: 1\r\n\r\n");
        pipelined("GET /live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3), 3);
        pipelined("GET /live.mp3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".repeat(2), 2);
        assertEquals(lean + 6, front.leanRedirects());
        assertEquals(raw + 6, front.rawRedirects(), "answered from their bytes");
        // A Connection option the raw reader does not know, then a plain GET on the same connection: both redirected
        // by the decoded path, the second because the decoder has had the connection's bytes since the first.
        String two = pipelined("GET /live.mp3 HTTP/1.1\r\nHost: x\r\nConnection: TE\r\nTE: trailers\r\n\r\n"
                + "GET /live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n", 2);
        assertEquals(2, count(two, "HTTP/1.1 302 Found\r\nLocation: http://192.0.2.12:8080/_stream/live.mp3\r\n"), two);
        assertEquals(lean + 8, front.leanRedirects());
        assertEquals(raw + 6, front.rawRedirects());
    }

    /** Streams answered at once with a short body, as a front of a test's own needs. */
    static StreamServer answering() {
        return new StreamServer() {
            @Override
            public void serve(HttpServerRequest req, String mount) {
                req.connection().closeHandler(v -> { }); // as the passthrough does: the connection's one close handler
                req.response().putHeader("Content-Type", "audio/mpeg").end("audio of " + mount);
            }

            @Override
            public void proxy(HttpServerRequest req, String mount, String host, int httpPort) {
                serve(req, mount);
            }
        };
    }

    @Test
    void theOpenConnectionsGaugeFollowsConnectionsThatStreamedToo() throws Exception {
        // A front of its own, so that no other test's connection moves the gauge.
        PrometheusMeterRegistry own = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        int ownPort = Ports.free(HOST);
        StreamServer streams = answering();
        HttpFront second = new HttpFront(vertx, new HttpFrontSettings(FrontFixture.SELF, HOST, ownPort, null, null, null, 7,
                FrontFixture.ICECAST_HOST, FrontFixture.ICECAST_PORT, 1), () -> view, () -> false, streams, own);
        second.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        try {
            io.micrometer.core.instrument.Gauge gauge = own.find(HttpFront.CONNECTIONS).tag("port", "http").gauge();
            java.time.Duration bound = java.time.Duration.ofSeconds(5);
            assertEquals(0.0, gauge.value());
            try (Socket open = new Socket(HOST, ownPort)) {
                org.awaitility.Awaitility.await().atMost(bound).until(() -> gauge.value() == 1);
                // A stream and a lean redirect, each closed by the server once answered: counted in, then out.
                FrontFixture.rawOn(HOST, ownPort, "GET /_stream/live.mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                FrontFixture.rawOn(HOST, ownPort, "GET /live.mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                org.awaitility.Awaitility.await().atMost(bound).until(() -> gauge.value() == 1);
            }
            org.awaitility.Awaitility.await().atMost(bound).until(() -> gauge.value() == 0);
        } finally {
            second.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    /**
     * A front given the whole view and, for listeners, the view without the peers refusing connections: every way a
     * listener is sent (lean path, Vert.x path, HEAD, a query) goes only to a reachable node, while the status page
     * still shows every node, as the other nodes' pages do.
     */
    @Test
    void listenersAreSentOnlyToReachableNodesWhileTheStatusPageShowsEveryNode() throws Exception {
        int ownPort = Ports.free(HOST);
        ClusterSnapshot all = FrontFixture.cluster(true, true, true);
        ClusterSnapshot reachable = all.withoutNodes(java.util.Set.of("node2", "node3"));
        HttpFront second = new HttpFront(vertx, new HttpFrontSettings(FrontFixture.SELF, HOST, ownPort, null, null, null, 7,
                FrontFixture.ICECAST_HOST, FrontFixture.ICECAST_PORT, 1), () -> all, () -> reachable, () -> false,
                answering(), new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), null);
        second.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        try {
            String base = "http://" + HOST + ":" + ownPort;
            for (int i = 0; i < 20; i++) {
                for (String method : List.of("GET", "HEAD")) {
                    for (String target : List.of("/live.mp3", "/live.mp3?i=" + i)) {
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + target))
                                .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(5)).build(),
                                HttpResponse.BodyHandlers.ofString());
                        assertEquals(302, r.statusCode(), method + " " + target);
                        assertTrue(r.headers().firstValue("Location").orElseThrow().startsWith("http://192.0.2.11:8080/"),
                                method + " " + target + ": " + r.headers().firstValue("Location").orElseThrow());
                    }
                }
                String raw = FrontFixture.rawOn(HOST, ownPort, "GET /live.mp3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                assertTrue(raw.contains("Location: http://192.0.2.11:8080/_stream/live.mp3\r\n"), raw);
            }
            assertTrue(second.rawRedirects() > 0, "the lean path from bytes answered some");
            String status = http.send(HttpRequest.newBuilder(URI.create(base + "/status.json")).timeout(Duration.ofSeconds(5))
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
            for (String node : List.of("\"node1\"", "\"node2\"", "\"node3\"")) {
                assertTrue(status.contains(node), node + " on the status page: " + status);
            }
        } finally {
            second.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void everythingElseTakesTheVertxPathWithItsOwnAnswer() throws Exception {
        view = FrontFixture.cluster(false, true, false);
        long before = front.leanRedirects();
        assertEquals(302, send("HEAD", "/live.mp3").statusCode(), "HEAD: a preview, not a listener");
        HttpResponse<String> proxied = send("GET", "/live.mp3", "User-Agent", "WinampMPEG/5.66, Ultravox/2.1");
        assertEquals(200, proxied.statusCode());
        assertEquals("proxied /live.mp3 from 192.0.2.12", proxied.body());
        String raw = FrontFixture.rawOn(HOST, port, "GET /live.mp3 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
        assertTrue(raw.startsWith("HTTP/1.1 302 Found\r\n"), raw);
        assertEquals(404, send("GET", "/nope.mp3").statusCode());
        view = FrontFixture.cluster(false, false, false);
        HttpResponse<String> none = send("GET", "/live.mp3");
        assertEquals(503, none.statusCode());
        assertEquals("7", none.headers().firstValue("Retry-After").orElseThrow());
        assertEquals(before, front.leanRedirects(), "none of these took the lean path");
    }

    /**
     * Vert.x's own idle timeout (2 s here, 60 s in radiod) on a real front: a keep-alive player asking every 250 ms for
     * 5 s, every request answered from its bytes, keeps its connection (the raw reader's notes reach the timeout);
     * once it falls silent, the front closes the connection after the timeout, not before.
     */
    @Test
    void aBusyKeepAliveConnectionAnsweredFromItsBytesOutlivesTheIdleTimeoutAnIdleOneDoesNot() throws Exception {
        view = FrontFixture.cluster(false, true, false);
        int idleSeconds = 2;
        int ownPort = Ports.free(HOST);
        HttpFront timed = new HttpFront(vertx, new HttpFrontSettings(FrontFixture.SELF, HOST, ownPort, null, null, null, 7,
                FrontFixture.ICECAST_HOST, FrontFixture.ICECAST_PORT, 1, idleSeconds), () -> view, () -> false,
                new StreamServer() {
                    @Override
                    public void serve(HttpServerRequest req, String mount) {
                        req.response().setStatusCode(500).end();
                    }

                    @Override
                    public void proxy(HttpServerRequest req, String mount, String host, int httpPort) {
                        serve(req, mount);
                    }
                }, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        timed.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        byte[] get = "GET /live.mp3 HTTP/1.1\r\nHost: x\r\nUser-Agent: mpv 0.35.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] answer = ("HTTP/1.1 302 Found\r\nLocation: http://192.0.2.12:8080/_stream/live.mp3\r\n"
                + "Cache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(HOST, ownPort), 2000);
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            long start = System.nanoTime();
            int asked = 0;
            long lastAnswered = start;
            while (System.nanoTime() - start < 2_500_000_000L * idleSeconds) {
                s.getOutputStream().write(get);
                s.getOutputStream().flush();
                asked++;
                assertEquals(new String(answer, StandardCharsets.US_ASCII),
                        new String(in.readNBytes(answer.length), StandardCharsets.US_ASCII),
                        "answer " + asked + ", " + (System.nanoTime() - start) / 1_000_000 + " ms into the connection");
                lastAnswered = System.nanoTime();
                Thread.sleep(250); // the player's pace: the point is the time that passes between requests
            }
            assertEquals(asked, timed.rawRedirects(), "every request answered from its bytes");
            assertTrue(asked >= 15, "asked " + asked);
            assertEquals(-1, in.read(), "the front closes the connection once it is idle");
            long closedAfterMs = (System.nanoTime() - lastAnswered) / 1_000_000;
            // The timeout counts from the last read it was told of: at most a second before the last request.
            assertTrue(closedAfterMs >= (idleSeconds - 1) * 1000L - 100 && closedAfterMs <= idleSeconds * 1000L + 1000,
                    "closed " + closedAfterMs + " ms after the last request");
        } finally {
            timed.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aWholePlainGetIsAnsweredFromItsBytesAndVertxsIdleTimeoutHearsOfIt() {
        LeanRedirectsFromBytesFuzzTest.Side side = new LeanRedirectsFromBytesFuzzTest.Side(LeanRedirectsFromBytesFuzzTest.VIEWS.get(0), true);
        List<Object> behindDecoder = new ArrayList<>();
        side.channel.pipeline().addAfter("httpEncoder", "probe", new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                behindDecoder.add(msg instanceof HttpObject ? msg.getClass().getSimpleName() : msg.toString());
                ctx.fireChannelRead(msg);
            }
        });
        LeanRedirectsFromBytesFuzzTest.StandInForVertx vertx = (LeanRedirectsFromBytesFuzzTest.StandInForVertx) side.channel.pipeline().get("handler");
        long t0 = System.nanoTime();
        byte[] get = "GET /live.mp3 HTTP/1.1\r\nHost: x\r\nUser-Agent: mpv 0.35.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        side.read(get);
        assertEquals("HTTP/1.1 302 Found\r\nLocation: http://192.0.2.12:8080/_stream/live.mp3\r\n"
                + "Cache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n", side.written());
        assertEquals(1, side.lean.answeredFromBytes());
        // Where Vert.x's idle timeout sits: one read, the raw reader's note of activity, which goes no further.
        assertEquals(List.of("radiod-lean-raw-activity"), behindDecoder);
        assertEquals(List.of(), vertx.seen);
        for (int i = 0; i < 49; i++) {
            side.read(get);
        }
        long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
        assertEquals(50, side.lean.answeredFromBytes());
        assertTrue(behindDecoder.size() <= 2 + seconds, "at most one note a second: " + behindDecoder.size());
        assertEquals(List.of(), vertx.seen);
        side.channel.finishAndReleaseAll();
    }

    @Test
    void aRequestCutAcrossTwoReadsGoesToTheDecoderAndSoDoesTheRestOfTheConnection() {
        LeanRedirectsFromBytesFuzzTest.Side side = new LeanRedirectsFromBytesFuzzTest.Side(LeanRedirectsFromBytesFuzzTest.VIEWS.get(0), true);
        LeanRedirectsFromBytesFuzzTest.StandInForVertx vertx = (LeanRedirectsFromBytesFuzzTest.StandInForVertx) side.channel.pipeline().get("handler");
        side.read("GET /live.mp3 HTTP/1.1\r\nHost: x\r\n\r\nGET /live.mp3 HT".getBytes(StandardCharsets.US_ASCII));
        assertEquals(1, side.lean.answeredFromBytes());
        side.read("TP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        side.read("GET /live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertEquals(3, side.lean.answered(), "all three redirected");
        assertEquals(1, side.lean.answeredFromBytes(), "the second and third by the decoded path");
        assertEquals(3, side.written().split("HTTP/1.1 302 Found", -1).length - 1, side.written());
        assertEquals(List.of(), vertx.seen);
        side.channel.finishAndReleaseAll();
    }
}
