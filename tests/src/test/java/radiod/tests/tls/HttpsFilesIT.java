package radiod.tests.tls;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import radiod.cluster.model.Mount;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;
import radiod.testkit.TlsAuthority;
import radiod.testkit.audio.Mp3Frames;
import radiod.testkit.encoder.Tone;

/**
 * HTTPS end to end with certificate files: two radiod processes whose config names a PEM pair for
 * {@code *.radio.test}. ffmpeg encodes to a non-master node's TLS source port; curl, trusting only the test CA,
 * follows the https redirect to a node's name and gets audio; the pair replaced by rename (as certbot renews) is
 * served to new handshakes on every node while a connected HTTPS listener keeps receiving.
 */
class HttpsFilesIT {
    static final String ZONE = "radio.test";
    static final Mount LIVE = new Mount("/live.mp3", "source", "pw-tls-live", null, null, 0, 128, null);

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    static Path dir;
    static TlsAuthority ca;
    static Path certificate;
    static Path key;
    static RadiodCluster cluster;
    static final List<Process> processes = new CopyOnWriteArrayList<>();
    static Process encoder;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("radiod-https-files-");
        ca = TlsAuthority.create(Files.createDirectories(dir.resolve("ca")), "e2e");
        certificate = dir.resolve("fullchain.pem");
        key = dir.resolve("privkey.pem");
        install(ca.issue("first", List.of("*." + ZONE, ZONE)));
        cluster = new RadiodCluster(etcd, 2, 3).tlsFiles(certificate, key).start();
        cluster.awaitReady(Duration.ofSeconds(45));
    }

    @AfterAll
    static void stop() {
        processes.forEach(Streams::stop);
        if (cluster != null) {
            cluster.close();
        }
    }

    /** As certbot renews: both files written aside, then renamed over the old ones. */
    static void install(TlsAuthority.Issued issued) throws IOException {
        Files.copy(issued.chain(), dir.resolve("fullchain.new"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(issued.key(), dir.resolve("privkey.new"), StandardCopyOption.REPLACE_EXISTING);
        Files.move(dir.resolve("fullchain.new"), certificate, StandardCopyOption.ATOMIC_MOVE);
        Files.move(dir.resolve("privkey.new"), key, StandardCopyOption.ATOMIC_MOVE);
    }

    static String name(RadiodProcess n) {
        return n.name() + "." + ZONE;
    }

    static List<String> curl(String... args) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--cacert", ca.caCertificate().toString()));
        for (RadiodProcess n : cluster.nodes()) {
            cmd.addAll(List.of("--resolve", name(n) + ":" + cluster.httpsPort + ":" + n.address()));
        }
        cmd.addAll(List.of(args));
        return cmd;
    }

    static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "finished: " + cmd);
        return out;
    }

    /** The serial of the certificate a new handshake with the node's HTTPS port sees. */
    static String servedSerial(RadiodProcess n, int port) throws Exception {
        return Handshakes.servedSerial(n.address(), port, name(n), Files.readString(ca.caCertificate()));
    }

    @Test
    void anEncoderOverTlsIsHeardOverHttpsAndARenewedPairIsServedWithoutDroppingAListener() throws Exception {
        encoderOn();
        RadiodProcess master = cluster.master().orElseThrow();

        String entry = "https://" + name(master) + ":" + cluster.httpsPort;
        String redirect = run(curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", entry + LIVE.path()));
        assertTrue(redirect.matches("302 https://node[12]\\." + ZONE.replace(".", "\\.") + ":" + cluster.httpsPort
                + "/_stream" + LIVE.path()), redirect);
        Path heard = dir.resolve("heard.mp3");
        run(curl("-L", "--max-time", "2", "-o", heard.toString(), entry + LIVE.path()));
        byte[] audio = Files.readAllBytes(heard);
        assertTrue(audio.length > 16_000 && Mp3Frames.isMp3(audio), "curl got " + audio.length + " bytes of MP3");

        // A listener that stays connected across the renewal.
        Path kept = dir.resolve("kept.mp3");
        Process listener = new ProcessBuilder(curl("-N", "-o", kept.toString(), entry + "/_stream" + LIVE.path()))
                .redirectErrorStream(true).redirectOutput(dir.resolve("listener.log").toFile()).start();
        processes.add(listener);
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(kept) && Files.size(kept) > 16_000);

        TlsAuthority.Issued renewed = ca.issue("renewed", List.of("*." + ZONE, ZONE));
        install(renewed);
        for (RadiodProcess n : cluster.nodes()) {
            await().atMost(Duration.ofSeconds(6)).pollInterval(Duration.ofMillis(200))
                    .until(() -> servedSerial(n, cluster.httpsPort).equals(renewed.serial())
                            && servedSerial(n, cluster.tlsSourcePort).equals(renewed.serial()));
        }
        long atSwap = Files.size(kept);
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            assertTrue(listener.isAlive(), "the listener was dropped: " + Files.readString(dir.resolve("listener.log")));
            return Files.size(kept) > atSwap + 20_000;
        });
        String metrics = run(curl(entry + "/metrics"));
        assertTrue(metrics.contains("radiod_tls_certificate_applied_total 2.0")
                && metrics.contains("radiod_tls_certificate_expiry_seconds ")
                && metrics.contains("radiod_tls_certificate_refused_total{reason=\"expired\"} 0.0"), metrics);
        assertTrue(encoder.isAlive(), "the encoder is still on");
    }

    /**
     * ffmpeg on a non-master node's TLS source port (once for the class: a second encoder would be refused the
     * mount), until every node has the mount.
     */
    static synchronized void encoderOn() {
        cluster.putMount(LIVE);
        RadiodProcess master = cluster.master().orElseThrow();
        RadiodProcess relay = cluster.nodes().stream().filter(n -> n != master).findFirst().orElseThrow();
        Path encoderLog = dir.resolve("encoder.log");
        String url = Tone.url(LIVE.sourceUser(), LIVE.sourcePassword(), relay.address(), cluster.tlsSourcePort, LIVE.path());
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(250)).until(() -> {
            if (encoder == null || !encoder.isAlive()) {
                encoder = Tone.mp3(url).tls().start(encoderLog);
                processes.add(encoder);
            }
            return cluster.nodes().stream().allMatch(n -> cluster.snapshot().node(n.name())
                    .map(s -> s.hasMount(LIVE.path())).orElse(false));
        });
    }

    /**
     * A station's website over HTTPS (served here, at {@code www.radio.test}, with its own certificate from the test
     * CA) whose {@code <audio>} element plays {@code https://<master>.radio.test:<https_port>/live.mp3} in headless
     * Chromium: the https redirect is followed to a node's name, which only Chromium's resolver rules map to the
     * node's loopback address, and the test CA is trusted through an NSS database in Chromium's own HOME, as a user
     * trusts a CA. The page reports the element's state to the test every 250 ms.
     */
    @Test
    void headlessChromiumPlaysTheStreamInAnAudioElementOnAnHttpsPage() throws Exception {
        String chromium = "/usr/bin/chromium";
        assertTrue(Files.isExecutable(Path.of(chromium)), "Debian's chromium is needed (bin/test installs it)");
        encoderOn();
        RadiodProcess entry = cluster.master().orElseThrow();
        String stream = "https://" + name(entry) + ":" + cluster.httpsPort + LIVE.path();

        Path home = Files.createDirectories(dir.resolve("chromium-home"));
        Path nssdb = Files.createDirectories(home.resolve(".pki/nssdb"));
        run(List.of("certutil", "-d", "sql:" + nssdb, "-N", "--empty-password"));
        String added = run(List.of("certutil", "-d", "sql:" + nssdb, "-A", "-t", "C,,", "-n", "radiod-test",
                "-i", ca.caCertificate().toString()));
        assertTrue(run(List.of("certutil", "-d", "sql:" + nssdb, "-L")).contains("radiod-test"), "certutil -A: " + added);

        List<Map<String, String>> reports = new CopyOnWriteArrayList<>();
        HttpsServer site = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        site.setHttpsConfigurator(new HttpsConfigurator(serverContext(ca.issue("www", List.of("www." + ZONE)))));
        String page = """
                <!doctype html><meta charset="utf-8"><title>Radio Test</title>
                <audio id="player" controls autoplay src="%s"></audio>
                <script>
                const a = document.getElementById('player');
                const report = (play) => fetch('/report?' + new URLSearchParams({t: a.currentTime, paused: a.paused,
                    ready: a.readyState, error: a.error ? a.error.code + ' ' + a.error.message : '', play: play || ''}),
                    {cache: 'no-store'}).catch(() => {});
                a.play().catch(e => report(String(e)));
                setInterval(report, 250);
                </script>
                """.formatted(stream);
        site.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getRawPath();
            byte[] body = path.equals("/") ? page.getBytes(StandardCharsets.UTF_8) : new byte[0];
            if (path.equals("/report")) {
                Map<String, String> report = new HashMap<>();
                for (String pair : exchange.getRequestURI().getRawQuery().split("&")) {
                    String[] kv = pair.split("=", 2);
                    report.put(kv[0], kv.length < 2 ? "" : URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
                }
                reports.add(report);
            }
            exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            exchange.getResponseHeaders().set("Cache-Control", "no-store");
            exchange.sendResponseHeaders(path.equals("/") || path.equals("/report") ? 200 : 404,
                    body.length == 0 ? -1 : body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        site.start();
        Process browser = null;
        try {
            StringBuilder rules = new StringBuilder("MAP www." + ZONE + " 127.0.0.1");
            for (RadiodProcess n : cluster.nodes()) {
                rules.append(", MAP ").append(name(n)).append(' ').append(n.address());
            }
            Path browserLog = dir.resolve("chromium.log");
            ProcessBuilder pb = new ProcessBuilder(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--autoplay-policy=no-user-gesture-required", "--host-resolver-rules=" + rules,
                    "--user-data-dir=" + Files.createDirectories(home.resolve("profile")),
                    "https://www." + ZONE + ":" + site.getAddress().getPort() + "/")
                    .redirectErrorStream(true).redirectOutput(browserLog.toFile());
            pb.environment().put("HOME", home.toString());
            browser = pb.start();
            processes.add(browser);
            Process b = browser;
            try {
                await().atMost(Duration.ofSeconds(45)).pollInterval(Duration.ofMillis(250)).until(() -> {
                    assertTrue(b.isAlive(), "chromium exited: " + Files.readString(browserLog));
                    if (reports.isEmpty()) {
                        return false;
                    }
                    Map<String, String> last = reports.get(reports.size() - 1);
                    assertTrue(last.get("error").isEmpty() && last.get("play").isEmpty(), "the audio element failed: " + last);
                    return Double.parseDouble(last.get("t")) > 2.5 && last.get("paused").equals("false");
                });
            } catch (ConditionTimeoutException e) {
                throw new AssertionError("the audio element did not play 2.5 s of the stream; "
                        + (reports.isEmpty() ? "the page never reported (not loaded?)" : "its last report: "
                        + reports.get(reports.size() - 1)) + "; chromium's log:\n" + Files.readString(browserLog), e);
            }
        } finally {
            site.stop(0);
            if (browser != null) {
                browser.descendants().forEach(ProcessHandle::destroyForcibly);
                browser.destroyForcibly();
            }
        }
        // The node that streamed it logs Chromium's session when it ends: the redirect was followed to that node's
        // name over HTTPS.
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> cluster.nodes().stream()
                .anyMatch(n -> accessLog(n).lines().anyMatch(l -> l.contains("GET /_stream" + LIVE.path()) && l.contains("Chrome"))));
    }

    static String accessLog(RadiodProcess n) {
        try {
            return Files.exists(n.accessLog()) ? Files.readString(n.accessLog()) : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** A server-side TLS context for an issued pair (PKCS#8 EC key, chain in PEM). */
    static SSLContext serverContext(TlsAuthority.Issued issued) throws Exception {
        String base64 = issued.keyPem().replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        PrivateKey privateKey = KeyFactory.getInstance("EC")
                .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
        Collection<? extends Certificate> chain;
        try (InputStream in = Files.newInputStream(issued.chain())) {
            chain = CertificateFactory.getInstance("X.509").generateCertificates(in);
        }
        char[] password = "page".toCharArray();
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("www", privateKey, password, chain.toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, password);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }
}
