package radiod.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway CA with a server certificate for 127.0.0.1 and a client certificate, made with openssl,
 * for tests of etcd with TLS client authentication.
 */
public record TestCertificates(Path dir, Path ca, Path serverCert, Path serverKey, Path clientCert, Path clientKey) {

    public static TestCertificates create(Path dir) {
        TestCertificates c = new TestCertificates(dir, dir.resolve("ca.pem"), dir.resolve("server.pem"),
                dir.resolve("server-key.pem"), dir.resolve("client.pem"), dir.resolve("client-key.pem"));
        try {
            Files.createDirectories(dir);
            Path ext = dir.resolve("server.ext");
            Files.writeString(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
            Path clientExt = dir.resolve("client.ext");
            Files.writeString(clientExt, "extendedKeyUsage=clientAuth\n");
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=radiod-test-ca",
                    "-keyout", dir.resolve("ca-key.pem").toString(), "-out", c.ca.toString());
            leaf(dir, "server", "/CN=127.0.0.1", ext);
            leaf(dir, "client", "/CN=radiod", clientExt);
            // jetcd/netty want PKCS#8 keys
            for (String name : List.of("server", "client")) {
                Path raw = dir.resolve(name + "-raw-key.pem");
                openssl("pkcs8", "-topk8", "-nocrypt", "-in", raw.toString(), "-out", dir.resolve(name + "-key.pem").toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return c;
    }

    private static void leaf(Path dir, String name, String subject, Path ext) {
        Path key = dir.resolve(name + "-raw-key.pem");
        Path csr = dir.resolve(name + ".csr");
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", key.toString(), "-out", csr.toString());
        openssl("x509", "-req", "-in", csr.toString(), "-CA", dir.resolve("ca.pem").toString(),
                "-CAkey", dir.resolve("ca-key.pem").toString(), "-CAcreateserial", "-days", "2",
                "-extfile", ext.toString(), "-out", dir.resolve(name + ".pem").toString());
    }

    /** Runs openssl with these arguments; fails with its output if it does not succeed within 60 s. */
    static void openssl(String... args) {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("openssl " + String.join(" ", args) + " failed: " + out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
