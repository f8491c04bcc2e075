package radiod.redirector.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;


import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import radiod.testkit.TlsAuthority;
import radiod.testkit.TlsAuthority.Issued;

/**
 * The TLS ports' engine: BoringSSL through Netty's native bindings is what a node on linux-x86_64 gets, the JDK's
 * engine when {@code radiod.tls.engine=jdk}; with either, an HTTPS client is served the node's certificate and a
 * plain-HTTP client on the TLS port gets the plain 400 that says the port speaks TLS.
 */
class TlsEngineTest {
    static Path dir;
    static TlsAuthority ca;
    static Issued cert;
    static Vertx vertx;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("radiod-tls-engine-");
        ca = TlsAuthority.create(dir, "engine");
        cert = ca.issue("node", List.of("localhost"));
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stop() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"openssl", "jdk"})
    void servesHttpsAndRefusesPlainTextWithEitherEngine(String engine) throws Exception {
        String before = System.getProperty("radiod.tls.engine");
        System.setProperty("radiod.tls.engine", engine);
        HttpServer server;
        try {
            assertEquals(engine, PlainTextRefusal.engineName(), "the engine this node gets");
            ServerTls tls = new ServerTls(new SimpleMeterRegistry());
            assertEquals(ServerTls.Status.APPLIED, tls.apply(cert.chainPem(), cert.keyPem(), "test").status());
            HttpServerOptions options = tls.secure(new HttpServerOptions());
            server = vertx.createHttpServer(options)
                    .requestHandler(req -> req.response().end(req.connection().sslSession().getClass().getName()))
                    .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } finally {
            if (before == null) {
                System.clearProperty("radiod.tls.engine");
            } else {
                System.setProperty("radiod.tls.engine", before);
            }
        }
        try {
            HttpClient client = HttpClient.newBuilder().sslContext(TlsIT.clientContext(ca.caCertificate()))
                    .connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(
                    URI.create("https://localhost:" + server.actualPort() + "/")).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            String session = r.body();
            assertEquals(engine.equals("openssl"), session.contains("OpenSsl"), "the server's TLS session: " + session);

            try (Socket s = new Socket("127.0.0.1", server.actualPort())) {
                s.setSoTimeout(5000);
                OutputStream out = s.getOutputStream();
                out.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                String answer = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                assertTrue(answer.startsWith("HTTP/1.0 400 Bad Request"), answer);
                assertTrue(answer.contains("This port speaks TLS"), answer);
            }
        } finally {
            server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }
}
