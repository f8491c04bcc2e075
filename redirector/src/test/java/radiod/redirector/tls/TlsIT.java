package radiod.redirector.tls;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.HttpFront;
import radiod.redirector.carry.Carrier;
import radiod.redirector.carry.Hubs;
import radiod.redirector.listen.HttpFrontSettings;
import radiod.redirector.listen.HttpsSettings;
import radiod.redirector.source.HeardAudio;
import radiod.redirector.source.SourceFront;
import radiod.redirector.source.SourceFrontSettings;
import radiod.redirector.stream.Passthrough;
import radiod.testkit.Icecast;
import radiod.testkit.Ports;
import radiod.testkit.TlsAuthority;
import radiod.testkit.encoder.Tone;

/**
 * The TLS ports with real parts on loopback: one node (source front, hub, carrier, its own real Icecast 2.4,
 * passthrough, HTTP front) with a certificate for {@code *.tls.test} from a test CA. Real ffmpeg encodes to the TLS
 * source port; curl and ffmpeg (trusting only the test CA, host names mapped to 127.0.0.1) follow the https redirect
 * and get audio; playlists and status documents asked over HTTPS give https URLs; a renewed certificate reaches new
 * handshakes while a connected HTTPS listener keeps receiving; plain HTTP on the TLS ports, TLS on the plain ports and
 * garbage handshakes are refused, counted, logged once per cause, and nobody else notices.
 */
class TlsIT {
    static final String HOST = "127.0.0.1";
    static final String ZONE = "tls.test";
    static final String NODE = "node1";
    static final String NAME = NODE + "." + ZONE;
    static final Mount LIVE = new Mount("/live.mp3", "source", "pw-live", null, null, 0, 128, null);

    static Path dir;
    static TlsAuthority ca;
    static TlsAuthority.Issued first;
    static Icecast ice;
    static Vertx vertx;
    static PrometheusMeterRegistry registry;
    static ServerTls tls;
    static SourceFront source;
    static Carrier carrier;
    static Passthrough passthrough;
    static HttpFront front;
    static int httpPort;
    static int httpsPort;
    static Process encoder;
    static final AtomicReference<ClusterSnapshot> view = new AtomicReference<>();
    static SSLContext client;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("radiod-tls-it-");
        view.set(ClusterSnapshot.EMPTY);
        ca = TlsAuthority.create(Files.createDirectories(dir.resolve("ca")), "it");
        first = ca.issue("first", List.of("*." + ZONE, ZONE));
        client = clientContext(ca.caCertificate());
        ice = Icecast.start(HOST, List.of());
        vertx = Vertx.vertx();
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        tls = new ServerTls(registry);
        assertTrue(tls.apply(first.chainPem(), first.keyPem(), "test CA").ok());
        httpPort = Ports.free(HOST);
        do {
            httpsPort = Ports.free(HOST);
        } while (httpsPort == httpPort);
        HttpsSettings https = new HttpsSettings(httpsPort, ZONE);
        source = new SourceFront(vertx, SourceFrontSettings.of(HOST, 0, HOST, httpPort), view::get, () -> false,
                new Hubs(vertx, () -> true, NODE, registry), registry).tls(tls, 0, https.base(NODE));
        source.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        carrier = new Carrier(vertx, HOST, ice.port(), ice.sourcePassword(), registry);
        passthrough = new Passthrough(vertx, registry, HOST, ice.port());
        front = new HttpFront(vertx, new HttpFrontSettings(NODE, HOST, httpPort, null, null, null, 5, HOST, ice.port(), 2),
                view::get, () -> true, passthrough, registry).https(tls, https);
        front.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        setView(List.of(node(NODE, true)));

        Path log = dir.resolve("encoder.log");
        encoder = Tone.mp3(Tone.url(LIVE.sourceUser(), LIVE.sourcePassword(), HOST, source.tlsPort(), LIVE.path()))
                .tls().start(log);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
            if (!encoder.isAlive()) {
                throw new AssertionError("the encoder exited: " + Files.readString(log));
            }
            return ice.hasSource(LIVE.path());
        });
    }

    @AfterAll
    static void stop() throws Exception {
        if (encoder != null) {
            encoder.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        if (front != null) {
            front.close();
        }
        if (source != null) {
            source.close();
        }
        if (carrier != null) {
            carrier.close();
        }
        if (passthrough != null) {
            passthrough.close();
        }
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
        if (ice != null) {
            ice.close();
        }
        if (dir != null) {
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** A node at 127.0.0.1 with this node's ports; {@code hasMount}: the mount is live there. */
    static NodeStatus node(String name, boolean hasMount) {
        return new NodeStatus(name, List.of(HOST), httpPort, 8000, ice.port(), 53, true, false, name.equals(NODE), 0,
                hasMount ? Map.of(LIVE.path(), 0) : Map.of(), 0, 0, 0, List.of(), "test", System.currentTimeMillis());
    }

    static void setView(List<NodeStatus> nodes) {
        Map<String, NodeStatus> byName = new java.util.HashMap<>();
        nodes.forEach(n -> byName.put(n.name(), n));
        ClusterSnapshot s = new ClusterSnapshot(System.nanoTime(), byName,
                Optional.of(new MasterInfo(NODE, List.of(HOST), ice.port(), source.port(), httpPort, 1)),
                Map.of(LIVE.path(), LIVE), Map.of(), Map.of());
        view.set(s);
        source.viewChanged(s);
        carrier.viewChanged(s);
    }

    static String https(String path) {
        return "https://" + NAME + ":" + httpsPort + path;
    }

    record Run(int exit, String out) {
    }

    /** curl trusting the test CA only, with the zone's names on 127.0.0.1. */
    static Run curl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--cacert", ca.caCertificate().toString(),
                "--resolve", NAME + ":" + httpsPort + ":" + HOST, "--resolve", "node2." + ZONE + ":" + httpsPort + ":" + HOST));
        cmd.addAll(List.of(args));
        return run(cmd, 20);
    }

    static Run run(List<String> cmd, int seconds) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not finish");
        }
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    static SSLContext clientContext(Path caPem) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(caPem)) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** A TLS connection to 127.0.0.1:port as a client that asked for {@link #NAME}, handshake done. */
    static SSLSocket tlsSocket(int port) throws IOException {
        return tlsSocket(port, 5000);
    }

    static SSLSocket tlsSocket(int port, int timeoutMillis) throws IOException {
        SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket();
        s.connect(new InetSocketAddress(HOST, port), 2000);
        s.setSoTimeout(timeoutMillis);
        SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(NAME)));
        p.setEndpointIdentificationAlgorithm("HTTPS");
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    /** The serial of the certificate a new handshake with the port sees. */
    static String servedSerial(int port) throws IOException {
        try (SSLSocket s = tlsSocket(port)) {
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber().toString(16);
        }
    }

    /** A listener on the HTTPS port, reading the stream on its own thread and counting what it gets. */
    static final class Listener implements AutoCloseable {
        final SSLSocket socket;
        final String serial;
        final AtomicLong bytes = new AtomicLong();
        final AtomicBoolean ended = new AtomicBoolean();
        final Thread reader;

        Listener(String path) throws IOException {
            socket = tlsSocket(httpsPort);
            serial = ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber().toString(16);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + NAME + ":" + httpsPort + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            reader = new Thread(() -> {
                byte[] buf = new byte[8192];
                try {
                    InputStream in = socket.getInputStream();
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        bytes.addAndGet(n);
                    }
                } catch (IOException e) {
                    // ended
                } finally {
                    ended.set(true);
                }
            }, "tls-listener");
            reader.setDaemon(true);
            reader.start();
        }

        /** Waits until it has {@code more} bytes beyond what it had, still connected. */
        void awaitMore(long more) {
            long target = bytes.get() + more;
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
                if (ended.get()) {
                    throw new AssertionError("the listener's stream ended after " + bytes.get() + " bytes");
                }
                return bytes.get() >= target;
            });
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void anEncoderOnTheTlsSourcePortIsHeardByCurlAndFfmpegFollowingTheHttpsRedirect() throws Exception {
        assertEquals(1, source.activeSources(), "ffmpeg's source came over TLS");

        long lean = front.leanRedirects();
        Run redirect = curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", https(LIVE.path() + "?x=1"));
        assertEquals("302 " + https("/_stream" + LIVE.path() + "?x=1"), redirect.out(), "https keeps the scheme, to the node's name");
        assertEquals(lean + 1, front.leanRedirects(), "the HTTPS redirect took the lean path");
        Run plain = run(List.of("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                "http://" + HOST + ":" + httpPort + LIVE.path()), 10);
        assertEquals("302 http://" + HOST + ":" + httpPort + "/_stream" + LIVE.path(), plain.out(), "http stays as it was");

        Path heard = dir.resolve("curl.mp3");
        Run listen = curl("-L", "--max-time", "2", "-o", heard.toString(), https(LIVE.path()));
        assertEquals(28, listen.exit(), "curl streamed until its time ran out: " + listen.out());
        byte[] audio = Files.readAllBytes(heard);
        assertTrue(audio.length > 16_000, "curl got " + audio.length + " bytes");
        assertTrue(HeardAudio.probe(audio, dir).startsWith("mp3,"), "curl's capture decodes as MP3");

        // ffmpeg resolves with the system's resolver: in a mount namespace of its own, /etc/hosts maps the zone's names.
        Path hosts = dir.resolve("hosts");
        Files.writeString(hosts, "127.0.0.1 localhost " + NAME + "\n");
        Path out = dir.resolve("ffmpeg.mp3");
        Run ffmpeg = run(List.of("unshare", "-m", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"",
                hosts.toString(), "ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-ca_file",
                ca.caCertificate().toString(), "-tls_verify", "1", "-i", https(LIVE.path()), "-t", "2", "-c", "copy",
                "-f", "mp3", "-y", out.toString()), 30);
        assertEquals(0, ffmpeg.exit(), ffmpeg.out());
        assertTrue(Files.size(out) > 16_000, "ffmpeg wrote " + Files.size(out) + " bytes");

        // The clients did verify: without the test CA they refuse the node.
        Run untrusting = run(List.of("unshare", "-m", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"",
                hosts.toString(), "ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-tls_verify", "1",
                "-i", https(LIVE.path()), "-t", "1", "-f", "null", "-"), 30);
        assertTrue(untrusting.exit() != 0, "ffmpeg without the CA: " + untrusting.out());
        Run curlUntrusting = run(List.of("curl", "-sS", "--resolve", NAME + ":" + httpsPort + ":" + HOST, "-o", "/dev/null",
                https("/status.json")), 10);
        assertEquals(60, curlUntrusting.exit(), curlUntrusting.out());
    }

    @Test
    void playlistsAndStatusDocumentsGiveHttpsUrlsWhenAskedOverHttps() throws Exception {
        String url = https(LIVE.path());
        assertTrue(curl(https(LIVE.path() + ".m3u")).out().contains("\n" + url + "\n"), "m3u");
        assertTrue(curl(https(LIVE.path() + ".pls")).out().contains("File1=" + url + "\n"), "pls");
        assertTrue(curl(https("/status.json")).out().contains("\"" + url + "\""), "status.json");
        assertTrue(curl(https("/status-json.xsl")).out().contains("\"listenurl\":\"" + url + "\""), "status-json.xsl");
        assertTrue(curl(https("/")).out().contains("href=\"" + url + "\""), "status page");

        String plain = "http://" + HOST + ":" + httpPort;
        Run m3u = run(List.of("curl", "-sS", plain + LIVE.path() + ".m3u"), 10);
        assertTrue(m3u.out().contains("\n" + plain + LIVE.path() + "\n"), m3u.out());
        Run status = run(List.of("curl", "-sS", plain + "/status.json"), 10);
        assertTrue(status.out().contains("\"" + plain + LIVE.path() + "\"") && !status.out().contains("https:"), status.out());
    }

    @Test
    void aPlayerThatDoesNotFollowRedirectsIsProxiedOverHttpsAndOthersAreSentToTheChosenNodesName() throws Exception {
        // node2 (this node's own plain port, standing in for a peer) has the mount; this node does not.
        setView(List.of(node(NODE, false), node("node2", true)));
        try {
            Run redirect = curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", https(LIVE.path()));
            assertEquals("302 https://node2." + ZONE + ":" + httpsPort + "/_stream" + LIVE.path(), redirect.out());
            Path heard = dir.resolve("proxied.mp3");
            Run proxied = curl("-A", "WinampMPEG/5.66", "--max-time", "2", "-o", heard.toString(), "-w", "%{http_code}",
                    https(LIVE.path()));
            assertTrue(proxied.out().endsWith("200"), "proxied, not redirected: " + proxied.out());
            assertTrue(Files.size(heard) > 8_000, "the proxied player got " + Files.size(heard) + " bytes");
        } finally {
            setView(List.of(node(NODE, true)));
        }
    }

    @Test
    void aRenewedCertificateReachesNewHandshakesWhileAConnectedListenerKeepsReceiving() throws Exception {
        String before = tls.current().orElseThrow().serial();
        try (Listener listener = new Listener("/_stream" + LIVE.path())) {
            assertEquals(before, listener.serial);
            listener.awaitMore(20_000);

            TlsAuthority.Issued renewed = ca.issue("renewed-" + System.nanoTime(), List.of("*." + ZONE, ZONE));
            assertEquals(ServerTls.Status.APPLIED, tls.apply(renewed.chainPem(), renewed.keyPem(), "renewal").status());
            await().atMost(Duration.ofSeconds(5)).until(() -> servedSerial(httpsPort).equals(renewed.serial())
                    && servedSerial(source.tlsPort()).equals(renewed.serial()));
            for (int i = 0; i < 4; i++) { // every event loop's server: new handshakes all see it
                assertEquals(renewed.serial(), servedSerial(httpsPort));
            }
            listener.awaitMore(32_000); // two more seconds of audio over the connection made before the swap
            assertEquals(before, ((X509Certificate) listener.socket.getSession().getPeerCertificates()[0])
                    .getSerialNumber().toString(16));

            // Bad renewals change nothing: the listener goes on, new handshakes keep the last good certificate.
            Instant now = Instant.now();
            TlsAuthority.Issued expired = ca.issue("expired", List.of("*." + ZONE), now.minusSeconds(3 * 86400),
                    now.minusSeconds(86400), TlsAuthority.KeyFormat.EC_SEC1);
            assertEquals(CertificateRefused.EXPIRED, tls.apply(expired.chainPem(), expired.keyPem(), "expired").reason());
            assertEquals(CertificateRefused.KEY_MISMATCH, tls.apply(renewed.chainPem(), first.keyPem(), "mixed").reason());
            assertEquals(renewed.serial(), servedSerial(httpsPort));
            listener.awaitMore(8_000);
        }
    }

    @Test
    void badInputOnEveryPortIsRefusedCountedAndLoggedOncePerCauseWhileEveryoneElseIsServed() throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger(ServerTls.class);
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        try (Listener listener = new Listener("/_stream" + LIVE.path())) {
            listener.awaitMore(8_000);
            int tlsSource = source.tlsPort();

            // Plain HTTP to the HTTPS port and a plain source to the TLS source port: a plain 400 that says why, as
            // nginx answers, then closed.
            Run browser = run(List.of("curl", "-sS", "-w", "\n%{http_code}", "http://" + HOST + ":" + httpsPort + "/status.json"), 10);
            assertEquals("This port speaks TLS: use https://, or your encoder's TLS option.\n\n400", browser.out());
            String plainSource = rawExchange(tlsSource, ("SOURCE " + LIVE.path() + " HTTP/1.0\r\nAuthorization: Basic eDp5\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            assertTrue(plainSource.startsWith("HTTP/1.0 400 Bad Request\r\n") && plainSource.contains("speaks TLS"), plainSource);
            await().atMost(Duration.ofSeconds(5)).until(() -> tls.handshakeFailures("https", "not_tls") >= 1
                    && tls.handshakeFailures("source", "not_tls") >= 1);

            // TLS to the plain ports: the handshake fails on the client's side (the HTTP port answers 400 once it has a
            // line, which a ClientHello need not have); the source port says 400 in the clear at once.
            double refusedBefore = registry.get("radiod.source.rejected").tag("reason", "bad_request").counter().count();
            assertThrows(IOException.class, () -> tlsSocket(httpPort, 1500).close());
            assertThrows(SSLException.class, () -> tlsSocket(source.port()).close());
            assertEquals(200, java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://" + HOST + ":" + httpPort + "/status.json")).build(),
                    java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode(), "the plain port serves on");
            await().atMost(Duration.ofSeconds(5)).until(() -> registry.get("radiod.source.rejected").tag("reason", "bad_request")
                    .counter().count() > refusedBefore);

            // Garbage handshakes: random bytes, truncated and oversized records, a record of nonsense.
            Random random = new Random(16);
            List<byte[]> garbage = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                byte[] b = new byte[1 + random.nextInt(600)];
                random.nextBytes(b);
                garbage.add(b);
            }
            byte[] hello = clientHello();
            for (int cut : new int[] {3, 5, 9, 40, hello.length / 2}) {
                garbage.add(java.util.Arrays.copyOf(hello, cut));
            }
            garbage.add(new byte[] {0x16, 0x03, 0x03, (byte) 0xff, (byte) 0xff, 0x01, 0x00});
            garbage.add(new byte[] {0x16, 0x03, 0x01, 0x00, 0x05, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff});
            garbage.add(new byte[] {0x17, 0x03, 0x03, 0x00, 0x04, 1, 2, 3, 4});
            for (byte[] g : garbage) {
                String a = rawExchange(httpsPort, g);
                String b = rawExchange(tlsSource, g);
                boolean text = g[0] >= 'A' && g[0] <= 'Z'; // looks like a request line: told in plain text
                for (String answer : new String[] {a, b}) {
                    assertTrue(text ? answer.startsWith("HTTP/1.0 400 Bad Request\r\n") : !answer.startsWith("HTTP/"),
                            "the answer to garbage starting with " + g[0] + ": " + answer);
                }
            }

            // Everyone else: the listener, a new HTTPS request, the encoder.
            listener.awaitMore(16_000);
            assertEquals("200", curl("-o", "/dev/null", "-w", "%{http_code}", https("/status.json")).out());
            assertTrue(ice.hasSource(LIVE.path()) && source.activeSources() == 1, "the encoder is still on");
        } finally {
            logger.detachAppender(lines);
        }
        String[] causes = {"not_tls", "handshake", "closed", "timeout", "other"};
        int seen = 0;
        for (String port : new String[] {"https", "source"}) {
            for (String cause : causes) {
                seen += tls.handshakeFailures(port, cause) > 0 ? 1 : 0;
            }
        }
        List<String> handshakeLines = lines.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.contains("before its handshake")).toList();
        assertTrue(!handshakeLines.isEmpty() && handshakeLines.size() <= seen,
                "at most one line per port and cause (" + seen + "): " + handshakeLines);
        assertTrue(lines.list.stream().allMatch(e -> e.getThrowableProxy() == null), "no stack traces");
        assertTrue(tls.handshakeFailures("https", "not_tls") >= 2, "each refusal counted");
    }

    @Test
    void theTlsSourcePortTakesEncodersOnlyAndSendsListenersToHttps() throws Exception {
        for (String method : new String[] {"PULL", "INGEST"}) {
            String answer = tlsExchange(source.tlsPort(), method + " " + LIVE.path() + " HTTP/1.1\r\n"
                    + "Authorization: Basic c291cmNlOnB3LWxpdmU=\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.0 405 "), method + " over TLS: " + answer);
        }
        String listener = tlsExchange(source.tlsPort(), "GET " + LIVE.path() + " HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(listener.startsWith("HTTP/1.0 302 ") && listener.contains("\r\nLocation: " + https(LIVE.path()) + "\r\n"),
                listener);
    }

    @Test
    void tlsPortsWithoutACertificateStayClosedAndOpenWhenTheFirstOneIsApplied() throws Exception {
        ServerTls later = new ServerTls(new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
        int plainPort = Ports.free(HOST);
        int securePort;
        do {
            securePort = Ports.free(HOST);
        } while (securePort == plainPort);
        HttpsSettings https = new HttpsSettings(securePort, ZONE);
        io.micrometer.prometheusmetrics.PrometheusMeterRegistry own = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        HttpFront second = new HttpFront(vertx, new HttpFrontSettings(NODE, HOST, plainPort, null, null, null, 5, HOST,
                ice.port(), 1), view::get, () -> true, passthrough, own).https(later, https);
        SourceFront secondSource = new SourceFront(vertx, SourceFrontSettings.of(HOST, 0, HOST, plainPort), view::get,
                () -> false, new Hubs(vertx, () -> true, NODE, own), own).tls(later, 0, https.base(NODE));
        try {
            second.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            secondSource.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertTrue(Ports.answersHttp(HOST, plainPort, "/status.json"), "the plain port is open");
            assertFalse(Ports.accepts(HOST, securePort), "no certificate: the HTTPS port is closed");
            assertEquals(-1, secondSource.tlsPort(), "no certificate: the TLS source port is closed");

            TlsAuthority.Issued issued = ca.issue("later", List.of("*." + ZONE));
            assertTrue(later.apply(issued.chainPem(), issued.keyPem(), "etcd").ok());
            int port = securePort;
            await().atMost(Duration.ofSeconds(5)).until(() -> secondSource.tlsPort() > 0 && Ports.accepts(HOST, port));
            assertEquals(issued.serial(), servedSerial(securePort));
            assertEquals(issued.serial(), servedSerial(secondSource.tlsPort()));
        } finally {
            secondSource.close();
            second.close();
        }
    }

    /** Sends a request over TLS and reads the answer until the server closes. */
    static String tlsExchange(int port, String request) throws IOException {
        try (SSLSocket s = tlsSocket(port)) {
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    /** Sends bytes, then reads what comes back until the server closes (or 3 s pass). */
    static String rawExchange(int port, byte[] bytes) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(HOST, port), 2000);
            s.setSoTimeout(3000);
            s.getOutputStream().write(bytes);
            s.getOutputStream().flush();
            s.shutdownOutput();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            try {
                int n;
                while ((n = s.getInputStream().read(buf)) > 0) {
                    got.write(buf, 0, n);
                }
            } catch (IOException e) {
                // reset or timed out: what came is the answer
            }
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** A real ClientHello's bytes, as the JDK's client writes it, captured from a socket nobody answers. */
    static byte[] clientHello() throws Exception {
        try (java.net.ServerSocket server = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(HOST))) {
            Thread t = new Thread(() -> {
                try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket(HOST, server.getLocalPort())) {
                    s.setSoTimeout(2000);
                    s.startHandshake();
                } catch (IOException e) {
                    // no server hello comes
                }
            });
            t.start();
            try (Socket peer = server.accept()) {
                peer.setSoTimeout(2000);
                byte[] buf = new byte[4096];
                int n = peer.getInputStream().read(buf);
                t.join(5000);
                return java.util.Arrays.copyOf(buf, Math.max(n, 0));
            }
        }
    }
}
