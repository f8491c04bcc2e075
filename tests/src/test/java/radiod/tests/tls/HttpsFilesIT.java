package radiod.tests.tls;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import radiod.cluster.model.Mount;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;
import radiod.testkit.TlsAuthority;

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
    static final List<Process> processes = new ArrayList<>();

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
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(ca.caCertificate())) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress(n.address(), port), 2000);
            s.setSoTimeout(3000);
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(name(n))));
            p.setEndpointIdentificationAlgorithm("HTTPS");
            s.setSSLParameters(p);
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber().toString(16);
        }
    }

    @Test
    void anEncoderOverTlsIsHeardOverHttpsAndARenewedPairIsServedWithoutDroppingAListener() throws Exception {
        cluster.putMount(LIVE);
        RadiodProcess master = cluster.master().orElseThrow();
        RadiodProcess relay = cluster.nodes().stream().filter(n -> n != master).findFirst().orElseThrow();
        Path encoderLog = dir.resolve("encoder.log");
        String url = "icecast://" + LIVE.sourceUser() + ":" + LIVE.sourcePassword() + "@" + relay.address() + ":"
                + cluster.tlsSourcePort + LIVE.path();
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(250)).until(() -> {
            if (processes.isEmpty() || !processes.get(processes.size() - 1).isAlive()) {
                processes.add(new ProcessBuilder("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-re",
                        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-ac", "2", "-c:a", "libmp3lame",
                        "-b:a", "128k", "-content_type", "audio/mpeg", "-tls", "1", "-f", "mp3", url)
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(encoderLog.toFile())).start());
            }
            return cluster.nodes().stream().allMatch(n -> cluster.snapshot().node(n.name())
                    .map(s -> s.hasMount(LIVE.path())).orElse(false));
        });

        String entry = "https://" + name(master) + ":" + cluster.httpsPort;
        String redirect = run(curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", entry + LIVE.path()));
        assertTrue(redirect.matches("302 https://node[12]\\." + ZONE.replace(".", "\\.") + ":" + cluster.httpsPort
                + "/_stream" + LIVE.path()), redirect);
        Path heard = dir.resolve("heard.mp3");
        run(curl("-L", "--max-time", "2", "-o", heard.toString(), entry + LIVE.path()));
        byte[] audio = Files.readAllBytes(heard);
        assertTrue(audio.length > 16_000 && Streams.isMp3(audio), "curl got " + audio.length + " bytes of MP3");

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
        assertEquals(1, processes.stream().filter(p -> p.isAlive() && p != listener).count(), "the encoder is still on");
    }
}
