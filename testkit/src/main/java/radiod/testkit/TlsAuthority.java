package radiod.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A throwaway certificate authority for tests of the TLS ports, made with openssl: it issues server certificates
 * for chosen DNS names with a chosen serial and validity (expired and not-yet-valid ones too), with keys in the
 * formats certbot, ACME clients and openssl write (PKCS#8 and PKCS#1 RSA, SEC 1 and PKCS#8 EC).
 */
public final class TlsAuthority {
    /** A key's type and PEM format. */
    public enum KeyFormat {
        /** {@code BEGIN PRIVATE KEY}, P-256. */
        EC_PKCS8,
        /** {@code BEGIN EC PRIVATE KEY}. */
        EC_SEC1,
        /** {@code BEGIN PRIVATE KEY}, RSA 2048. */
        RSA_PKCS8,
        /** {@code BEGIN RSA PRIVATE KEY}. */
        RSA_PKCS1
    }

    /**
     * An issued certificate.
     *
     * @param chain  PEM: the leaf, then the CA (as certbot's fullchain.pem)
     * @param key    PEM: the leaf's private key
     * @param serial the leaf's serial, lower-case hex without leading zeros
     */
    public record Issued(Path chain, Path key, String serial) {
        public String chainPem() {
            return read(chain);
        }

        public String keyPem() {
            return read(key);
        }
    }

    private static final DateTimeFormatter ASN1_TIME = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'").withZone(ZoneOffset.UTC);

    private final Path dir;
    private final Path caCert;
    private final Path caKey;
    private final Path config;
    private final AtomicLong serials = new AtomicLong(0x1000);

    private TlsAuthority(Path dir) {
        this.dir = dir;
        this.caCert = dir.resolve("ca.pem");
        this.caKey = dir.resolve("ca-key.pem");
        this.config = dir.resolve("ca.cnf");
    }

    /** A new CA ("radiod test CA &lt;name&gt;", EC P-256, valid for two days) in {@code dir}. */
    public static synchronized TlsAuthority create(Path dir, String name) {
        TlsAuthority ca = new TlsAuthority(dir);
        try {
            Files.createDirectories(dir.resolve("issued"));
            Files.writeString(dir.resolve("index.txt"), "");
            Files.writeString(ca.config, """
                    [ ca ]
                    default_ca = test_ca
                    [ test_ca ]
                    database = %1$s/index.txt
                    new_certs_dir = %1$s/issued
                    serial = %1$s/serial
                    default_md = sha256
                    policy = any_name
                    unique_subject = no
                    copy_extensions = none
                    email_in_dn = no
                    [ any_name ]
                    commonName = supplied
                    """.formatted(dir));
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=radiod test CA " + name, "-keyout", ca.caKey.toString(), "-out", ca.caCert.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return ca;
    }

    /** The CA's certificate (PEM), for clients to trust. */
    public Path caCertificate() {
        return caCert;
    }

    /** A certificate valid from an hour ago for two days, EC key in PKCS#8. */
    public Issued issue(String file, List<String> dnsNames) {
        Instant now = Instant.now();
        return issue(file, dnsNames, now.minusSeconds(3600), now.plusSeconds(2 * 86400), KeyFormat.EC_PKCS8);
    }

    /**
     * A certificate for {@code dnsNames} (the first is also its common name), valid between the two instants, with a
     * fresh serial; written to {@code <file>.pem} (leaf and CA) and {@code <file>-key.pem}.
     */
    public synchronized Issued issue(String file, List<String> dnsNames, Instant notBefore, Instant notAfter, KeyFormat format) {
        long serial = serials.incrementAndGet();
        Path key = dir.resolve(file + "-key.pem");
        Path csr = dir.resolve(file + ".csr");
        Path leaf = dir.resolve(file + "-leaf.pem");
        Path chain = dir.resolve(file + ".pem");
        Path ext = dir.resolve(file + ".ext");
        try {
            switch (format) {
                case EC_PKCS8 -> openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
                case EC_SEC1 -> openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key.toString());
                case RSA_PKCS8 -> openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key.toString());
                case RSA_PKCS1 -> openssl("genrsa", "-traditional", "-out", key.toString(), "2048");
            }
            List<String> san = new ArrayList<>();
            for (String n : dnsNames) {
                san.add("DNS:" + n);
            }
            Files.writeString(ext, "subjectAltName=" + String.join(",", san) + "\nextendedKeyUsage=serverAuth\n"
                    + "basicConstraints=CA:FALSE\n");
            openssl("req", "-new", "-key", key.toString(), "-subj", "/CN=" + dnsNames.get(0), "-out", csr.toString());
            Files.writeString(dir.resolve("serial"), String.format("%04X%n", serial));
            openssl("ca", "-batch", "-config", config.toString(), "-cert", caCert.toString(), "-keyfile", caKey.toString(),
                    "-in", csr.toString(), "-out", leaf.toString(), "-notext", "-extfile", ext.toString(),
                    "-startdate", ASN1_TIME.format(notBefore), "-enddate", ASN1_TIME.format(notAfter));
            Files.writeString(chain, Files.readString(leaf) + Files.readString(caCert));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Issued(chain, key, Long.toHexString(serial));
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void openssl(String... args) {
        TestCertificates.openssl(args);
    }
}
