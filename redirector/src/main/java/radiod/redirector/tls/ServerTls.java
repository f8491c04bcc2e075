package radiod.redirector.tls;

import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLHandshakeException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.SSLOptions;

/**
 * The certificate this node's TLS ports serve (the HTTPS listener port and the encoders' TLS source port), and the
 * one way to change it: {@link #apply(String, String, String)}, with PEM text from wherever it comes (files watched
 * by the controller, etcd for ACME). Material is checked before anything is served with it; refused material is
 * logged in one line, counted ({@code radiod.tls.certificate.refused}, by reason) and changes nothing: the ports
 * keep the last good certificate. An applied certificate reaches every TLS server at once through Vert.x's
 * {@code updateSSLOptions}: new handshakes get it, connections already open keep going.
 *
 * <p>The fronts register with {@link #onChange(Consumer)}; a front that starts before any certificate is here opens
 * its TLS port when the first one comes. TLS 1.2 and 1.3 only, the JDK's engine. Thread-safe.
 */
public final class ServerTls {
    private static final Logger log = LoggerFactory.getLogger(ServerTls.class);
    /** The protocols the TLS ports speak. */
    public static final Set<String> PROTOCOLS = Set.of("TLSv1.2", "TLSv1.3");
    /** How long a client may take over its handshake before it is closed. */
    public static final long HANDSHAKE_TIMEOUT_SECONDS = 10;
    /** At most one log line per port and cause of a failed handshake in this long. */
    static final long FAILURE_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(60);
    private static final char[] STORE_PASSWORD = "radiod".toCharArray();

    /** What became of material given to {@link #apply}. */
    public enum Status { APPLIED, UNCHANGED, REFUSED }

    /**
     * @param status  applied (now served), unchanged (the same certificate and key as served already) or refused
     * @param reason  for a refusal, one of {@link CertificateRefused#REASONS}; else null
     * @param message for a refusal, what is wrong; else a description of the certificate served
     */
    public record Result(Status status, String reason, String message) {
        /** Whether the material is what the ports serve now. */
        public boolean ok() {
            return status != Status.REFUSED;
        }
    }

    private record Served(TlsCertificate certificate, SSLOptions options) {
    }

    private final Clock clock;
    /** Counts kept before the meters are registered (a node reads its certificate files before Vert.x exists). */
    private final Map<String, java.util.concurrent.atomic.AtomicLong> counts = new ConcurrentHashMap<>();
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final List<Consumer<SSLOptions>> servers = new CopyOnWriteArrayList<>();
    private final Map<String, long[]> failureLog = new ConcurrentHashMap<>();
    private volatile MeterRegistry registry;
    private volatile Served served;

    /** With its meters in {@code registry}. */
    public ServerTls(MeterRegistry registry) {
        this();
        meters(registry);
    }

    /** Without meters until {@link #meters(MeterRegistry)}; what happens before is counted then. */
    public ServerTls() {
        this.clock = Clock.systemUTC();
    }

    /**
     * Registers the meters in {@code registry}, with what was counted so far: the certificate's expiry, refused and
     * applied certificates, failed handshakes.
     */
    public synchronized ServerTls meters(MeterRegistry registry) {
        if (this.registry != null) {
            throw new IllegalStateException("the TLS meters are registered already");
        }
        this.registry = registry;
        for (String reason : CertificateRefused.REASONS) {
            count("refused/" + reason, 0);
        }
        count("applied", 0);
        for (String key : List.copyOf(counts.keySet())) {
            count(key, 0);
        }
        Gauge.builder("radiod.tls.certificate.expiry", this, t -> t.current().map(c -> (double) c.notAfter().getEpochSecond())
                        .orElse(Double.NaN))
                .baseUnit("seconds").description("when the certificate the TLS ports serve expires (Unix time); NaN: none")
                .register(registry);
        Gauge.builder("radiod.tls.certificate.remaining", this, t -> t.current().map(c -> (double) (c.notAfter().getEpochSecond()
                        - clock.instant().getEpochSecond())).orElse(Double.NaN))
                .baseUnit("seconds").description("time left until the served certificate expires; NaN: none")
                .register(registry);
        return this;
    }

    /**
     * Counts under a key ({@code refused/<reason>}, {@code applied}, {@code failed/<port>/<cause>}); the meter is
     * made once there is a registry, starting at what was counted before.
     */
    private synchronized void count(String key, long n) {
        java.util.concurrent.atomic.AtomicLong total = counts.computeIfAbsent(key, k -> new java.util.concurrent.atomic.AtomicLong());
        total.addAndGet(n);
        MeterRegistry r = registry;
        if (r == null) {
            return;
        }
        boolean[] made = {false};
        Counter c = counters.computeIfAbsent(key, k -> {
            made[0] = true;
            return meter(r, k);
        });
        if (made[0]) {
            c.increment(total.get());
        } else if (n > 0) {
            c.increment(n);
        }
    }

    private static Counter meter(MeterRegistry r, String key) {
        String[] part = key.split("/");
        return switch (part[0]) {
            case "refused" -> Counter.builder("radiod.tls.certificate.refused").tag("reason", part[1])
                    .description("certificate material refused (the last good certificate is kept), by reason").register(r);
            case "applied" -> Counter.builder("radiod.tls.certificate.applied")
                    .description("certificates the TLS ports were given and now serve").register(r);
            default -> Counter.builder("radiod.tls.handshake.failures").tag("port", part[1]).tag("cause", part[2])
                    .description("connections to a TLS port closed before their handshake completed").register(r);
        };
    }

    /**
     * Checks PEM material and, if it is good, serves it on every TLS port from now on (connections already open keep
     * theirs). Refused material changes nothing. Never blocks on I/O; safe from any thread, an event loop included.
     *
     * @param chainPem the certificate chain, leaf first (certbot's {@code fullchain.pem})
     * @param keyPem   the leaf's private key: PKCS#8, PKCS#1 (RSA) or SEC 1 (EC), unencrypted
     * @param origin   where it comes from, for log lines and status (a file name, {@code etcd})
     */
    public synchronized Result apply(String chainPem, String keyPem, String origin) {
        TlsCertificate cert;
        SSLOptions options;
        try {
            cert = TlsCertificate.parse(chainPem, keyPem, origin, clock.instant());
            options = sslOptions(cert);
        } catch (CertificateRefused e) {
            count("refused/" + e.reason(), 1);
            Served now = served;
            log.warn("tls: certificate from {} refused ({}): {}; {}", origin, e.reason(), e.getMessage(),
                    now == null ? "the TLS ports stay closed until a good one comes"
                            : "still serving the " + now.certificate().toString());
            return new Result(Status.REFUSED, e.reason(), e.getMessage());
        }
        Served before = served;
        if (before != null && before.certificate().fingerprint().equals(cert.fingerprint())
                && java.util.Arrays.equals(before.certificate().key().getEncoded(), cert.key().getEncoded())) {
            return new Result(Status.UNCHANGED, null, before.certificate().toString());
        }
        served = new Served(cert, options);
        count("applied", 1);
        log.info("tls: now serving the {} (issuer {}, names {}, engine {})", cert, cert.issuer(), cert.names(),
                PlainTextRefusal.engineName());
        for (Consumer<SSLOptions> s : servers) {
            try {
                s.accept(options);
            } catch (RuntimeException e) {
                log.warn("tls: a server did not take the new certificate: {}", e.toString());
            }
        }
        return new Result(Status.APPLIED, null, cert.toString());
    }

    /** The certificate served now, if any. */
    public Optional<TlsCertificate> current() {
        Served s = served;
        return s == null ? Optional.empty() : Optional.of(s.certificate());
    }

    /** The served certificate's DNS names; empty when none is served. */
    public List<String> names() {
        return current().map(TlsCertificate::names).orElse(List.of());
    }

    /** The served certificate's issuer (its common name); empty when none is served. */
    public Optional<String> issuer() {
        return current().map(TlsCertificate::issuer);
    }

    /** When the served certificate expires; empty when none is served. */
    public Optional<Instant> notAfter() {
        return current().map(TlsCertificate::notAfter);
    }

    /** The options a TLS server starts with now; empty until a certificate has been applied. */
    public Optional<SSLOptions> sslOptions() {
        Served s = served;
        return s == null ? Optional.empty() : Optional.of(new SSLOptions(s.options()));
    }

    /**
     * A server's options made TLS with the served certificate.
     *
     * @throws IllegalStateException when no certificate has been applied
     */
    public <T extends NetServerOptions> T secure(T options) {
        SSLOptions ssl = sslOptions().orElseThrow(() -> new IllegalStateException("no certificate to serve yet"));
        options.setSslEngineOptions(PlainTextRefusal.engine());
        options.setSsl(true).setKeyCertOptions(ssl.getKeyCertOptions())
                .setEnabledSecureTransportProtocols(ssl.getEnabledSecureTransportProtocols())
                .setSslHandshakeTimeout(HANDSHAKE_TIMEOUT_SECONDS).setSslHandshakeTimeoutUnit(TimeUnit.SECONDS);
        return options;
    }

    /**
     * Calls {@code server} with the options of every certificate applied from now on (a TLS server updates itself
     * with them, a front without its TLS port yet opens it). Returns what undoes the registration.
     */
    public Runnable onChange(Consumer<SSLOptions> server) {
        servers.add(server);
        return () -> servers.remove(server);
    }

    private static SSLOptions sslOptions(TlsCertificate cert) throws CertificateRefused {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("radiod", cert.key(), STORE_PASSWORD, cert.chain().toArray(new X509Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, STORE_PASSWORD);
            return new SSLOptions().setKeyCertOptions(KeyCertOptions.wrap(kmf))
                    .setEnabledSecureTransportProtocols(PROTOCOLS)
                    .setSslHandshakeTimeout(HANDSHAKE_TIMEOUT_SECONDS).setSslHandshakeTimeoutUnit(TimeUnit.SECONDS);
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new CertificateRefused(CertificateRefused.UNREADABLE, "the key and chain cannot be used for TLS: " + e);
        }
    }

    /**
     * A connection to a TLS port that failed before its handshake completed: counted
     * ({@code radiod.tls.handshake.failures}, by port and cause) and logged at most once a minute per port and
     * cause, without a stack trace, whatever a client sends.
     *
     * @param port {@code https} or {@code source}
     */
    public void handshakeFailed(String port, Throwable failure) {
        String cause = causeOf(failure);
        String key = port + '/' + cause;
        count("failed/" + key, 1);
        long now = System.nanoTime();
        long[] state = failureLog.computeIfAbsent(key, k -> new long[] {now - FAILURE_LOG_INTERVAL_NANOS - 1, 0});
        long suppressed;
        synchronized (state) {
            if (now - state[0] <= FAILURE_LOG_INTERVAL_NANOS) {
                state[1]++;
                return;
            }
            state[0] = now;
            suppressed = state[1];
            state[1] = 0;
        }
        log.info("tls {} port: a connection was closed before its handshake: {}{}", port, explain(cause, failure),
                suppressed == 0 ? "" : " (" + suppressed + " more like it since the last such line)");
    }

    /** The count of failed handshakes so far for a port and cause (tests, status). */
    public double handshakeFailures(String port, String cause) {
        java.util.concurrent.atomic.AtomicLong c = counts.get("failed/" + port + '/' + cause);
        return c == null ? 0 : c.get();
    }

    static String causeOf(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof NotSslRecordException) {
                return "not_tls";
            }
            if (t instanceof SslHandshakeTimeoutException) {
                return "timeout";
            }
            if (t instanceof java.nio.channels.ClosedChannelException) {
                return "closed";
            }
            if (t instanceof SSLHandshakeException || t instanceof javax.net.ssl.SSLException) {
                return "handshake";
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return "other";
    }

    private static String explain(String cause, Throwable failure) {
        return switch (cause) {
            case "not_tls" -> "the client does not speak TLS (plain HTTP or a plain source client on the TLS port?)";
            case "timeout" -> "the client did not complete its handshake within " + HANDSHAKE_TIMEOUT_SECONDS + " s";
            case "closed" -> "the client closed the connection during the handshake";
            default -> oneLine(failure);
        };
    }

    private static String oneLine(Throwable failure) {
        Throwable t = failure;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
        m = m.replaceAll("[\\r\\n\\t]+", " ");
        return m.length() > 200 ? m.substring(0, 200) + "…" : m;
    }
}
