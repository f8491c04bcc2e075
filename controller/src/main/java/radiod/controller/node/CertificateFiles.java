package radiod.controller.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import radiod.controller.config.RadiodConfig;
import radiod.redirector.tls.CertificateRefused;
import radiod.redirector.tls.ServerTls;
import radiod.redirector.tls.TlsCertificate;
import radiod.lifecycle.DaemonThreads;

/**
 * The TLS ports' certificate from a pair of PEM files ({@code tls.certificate_file}, {@code tls.key_file}): read at
 * start (a pair that cannot be read or is refused stops radiod's start, naming the field), then read again every
 * second; new content is applied to the {@link ServerTls} once it has been the same for two reads, so a renewer
 * that writes the two files one after the other (certbot replaces them by rename) is not caught between them.
 * Refused content is logged once (by {@link ServerTls}) and the last good certificate stays served.
 */
public final class CertificateFiles implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CertificateFiles.class);
    /** How often the files are read. */
    static final long POLL_MILLIS = 1000;

    private final Path certificateFile;
    private final Path keyFile;
    private final ServerTls tls;
    private ScheduledExecutorService poller;
    /** Digest of the content last given to the ServerTls (applied or refused). Poller thread only. */
    private byte[] lastDigest;
    /** Digest of new content seen once, waiting to be seen again. Poller thread only. */
    private byte[] pendingDigest;
    /** The last reason the files could not be read, logged once until they can be read again. */
    private String lastReadError;

    public CertificateFiles(RadiodConfig.TlsPorts config, ServerTls tls) {
        this.certificateFile = config.certificateFile();
        this.keyFile = config.keyFile();
        this.tls = tls;
    }

    /** Where the material comes from, as log lines and status show it. */
    String origin() {
        return "tls.certificate_file " + certificateFile + " and tls.key_file " + keyFile;
    }

    /**
     * Reads the pair and serves it.
     *
     * @throws IllegalStateException naming the field when a file cannot be read or the material is refused
     */
    public void load() {
        Material m = read();
        ServerTls.Result r = tls.apply(m.chain(), m.key(), origin());
        if (!r.ok()) {
            throw new IllegalStateException(origin() + ": refused (" + r.reason() + "): " + r.message());
        }
        lastDigest = m.digest();
    }

    /**
     * Checks the pair without serving it ({@code radiod --check-config}).
     *
     * @throws IllegalStateException naming the field when a file cannot be read or the material would be refused
     */
    public static void check(RadiodConfig.TlsPorts config) {
        if (config.certificateFile() == null) { // no TLS, or ACME
            return;
        }
        CertificateFiles f = new CertificateFiles(config, null);
        Material m = f.read();
        try {
            TlsCertificate.parse(m.chain(), m.key(), f.origin(), Instant.now());
        } catch (CertificateRefused e) {
            throw new IllegalStateException(f.origin() + ": refused (" + e.reason() + "): " + e.getMessage());
        }
    }

    /** Starts reading the files every second. */
    public CertificateFiles watch() {
        poller = DaemonThreads.scheduled("radiod-tls-files");
        poller.scheduleWithFixedDelay(this::poll, POLL_MILLIS, POLL_MILLIS, TimeUnit.MILLISECONDS);
        return this;
    }

    /** One look at the files; on the poller thread. */
    void poll() {
        Material m;
        try {
            m = read();
        } catch (IllegalStateException e) {
            if (!e.getMessage().equals(lastReadError)) {
                lastReadError = e.getMessage();
                log.warn("tls: {}; still serving the certificate read before", e.getMessage());
            }
            pendingDigest = null;
            return;
        }
        if (lastReadError != null) {
            lastReadError = null;
            log.info("tls: the certificate files can be read again");
        }
        byte[] digest = m.digest();
        if (Arrays.equals(digest, lastDigest)) {
            pendingDigest = null;
            return;
        }
        if (!Arrays.equals(digest, pendingDigest)) {
            pendingDigest = digest; // changed since the last read: wait until it stays put for one read
            return;
        }
        pendingDigest = null;
        lastDigest = digest;
        tls.apply(m.chain(), m.key(), origin());
    }

    private record Material(String chain, String key, byte[] digest) {
    }

    private Material read() {
        String chain = readField("tls.certificate_file", certificateFile);
        String key = readField("tls.key_file", keyFile);
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(chain.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(key.getBytes(StandardCharsets.UTF_8));
            return new Material(chain, key, sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    private static String readField(String field, Path file) {
        try {
            if (Files.size(file) > 1 << 20) {
                throw new IllegalStateException(field + ": " + file + " is larger than 1 MiB: not a PEM certificate or key");
            }
            return Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            throw new IllegalStateException(field + ": cannot read " + file + ": no such file");
        } catch (IOException e) {
            throw new IllegalStateException(field + ": cannot read " + file + ": " + e);
        }
    }

    @Override
    public void close() {
        if (poller != null) {
            DaemonThreads.stop(poller, Duration.ZERO);
        }
    }
}
