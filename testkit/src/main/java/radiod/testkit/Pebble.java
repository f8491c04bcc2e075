package radiod.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Debian's {@code pebble} (Let's Encrypt's ACME test CA) on free loopback ports, for tests of certificates by ACME. Its
 * own HTTPS certificate is made at start ({@link TestCertificates}: a throwaway CA, a server certificate for
 * 127.0.0.1), its DNS-01 validation asks the DNS server given (radiod's), validation is immediate
 * ({@code PEBBLE_VA_NOSLEEP}) and valid authorizations are never reused ({@code PEBBLE_AUTHZREUSE=0}), so every order
 * goes through its challenges. Its issuing root changes at every start; {@link #root()} fetches it.
 */
public final class Pebble implements AutoCloseable {
    private static final String HOST = "127.0.0.1";

    private final Path dir;
    private final TestCertificates certificates;
    private final int port;
    private final int managementPort;
    private final Process process;

    private Pebble(Path dir, TestCertificates certificates, int port, int managementPort, Process process) {
        this.dir = dir;
        this.certificates = certificates;
        this.port = port;
        this.managementPort = managementPort;
        this.process = process;
    }

    /**
     * Starts pebble and waits until it answers.
     *
     * @param dnsServer the DNS server pebble validates DNS-01 challenges against, {@code host:port}
     * @param env       extra environment (e.g. {@code PEBBLE_WFE_NONCEREJECT})
     */
    public static Pebble start(String dnsServer, Map<String, String> env) {
        try {
            Path dir = Files.createTempDirectory("radiod-pebble-");
            TestCertificates certs = TestCertificates.create(dir.resolve("tls"));
            int port = Ports.free(HOST);
            int management = Ports.free(HOST);
            Path config = dir.resolve("pebble-config.json");
            Files.writeString(config, "{\"pebble\": {"
                    + "\"listenAddress\": \"" + HOST + ":" + port + "\", "
                    + "\"managementListenAddress\": \"" + HOST + ":" + management + "\", "
                    + "\"certificate\": \"" + certs.serverCert() + "\", "
                    + "\"privateKey\": \"" + certs.serverKey() + "\", "
                    + "\"httpPort\": " + Ports.free(HOST) + ", "
                    + "\"tlsPort\": " + Ports.free(HOST) + ", "
                    + "\"ocspResponderURL\": \"\", "
                    + "\"externalAccountBindingRequired\": false}}\n");
            List<String> cmd = new ArrayList<>(List.of("pebble", "-config", config.toString(), "-dnsserver", dnsServer));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("pebble.log").toFile()));
            Map<String, String> all = new HashMap<>(Map.of("PEBBLE_VA_NOSLEEP", "1", "PEBBLE_AUTHZREUSE", "0"));
            all.putAll(env);
            pb.environment().putAll(all);
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start pebble (install Debian's pebble): " + e.getMessage(), e);
            }
            Pebble pebble = new Pebble(dir, certs, port, management, p);
            pebble.awaitReady(Duration.ofSeconds(20));
            return pebble;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void awaitReady(Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("pebble exited: " + log());
            }
            if (Ports.accepts(HOST, port) && Ports.accepts(HOST, managementPort)) {
                return;
            }
            Ports.pause(50);
        }
        close();
        throw new IllegalStateException("pebble did not listen within " + timeout + ": " + log());
    }

    /** The ACME directory URL. */
    public String directory() {
        return "https://" + HOST + ":" + port + "/dir";
    }

    /** The CA that signed pebble's own HTTPS certificate: what an ACME client must trust to talk to it. */
    public Path httpsCa() {
        return certificates.ca();
    }

    /** The root that pebble's issued chains lead to (PEM), fetched from its management port. */
    public String root() {
        return management("/roots/0");
    }

    /** The intermediate that signs pebble's certificates (PEM). */
    public String intermediate() {
        return management("/intermediates/0");
    }

    private String management(String path) {
        try {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            try (var in = Files.newInputStream(certificates.ca())) {
                trust.setCertificateEntry("pebble-https", CertificateFactory.getInstance("X.509").generateCertificate(in));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, tmf.getTrustManagers(), null);
            HttpClient client = HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://" + HOST + ":"
                    + managementPort + path)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("pebble " + path + ": HTTP " + r.statusCode());
            }
            return r.body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Pebble's output so far (its log). */
    public String log() {
        try {
            return Files.readString(dir.resolve("pebble.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        Processes.stop(process, Duration.ofSeconds(5));
        Files2.deleteRecursively(dir);
    }
}
