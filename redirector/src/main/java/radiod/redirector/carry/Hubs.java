package radiod.redirector.carry;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import radiod.cluster.model.Mount;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;

/**
 * The master's side of the audio path: an {@link Hub} per mount, fed by {@code INGEST} connections (any node's
 * source front, holding an encoder) and read by {@code PULL} connections (every node, this one too). Both arrive on
 * the source port and are handed over by the source front once their head is read; everything here runs on the
 * source front's event loop.
 *
 * <p>Invariant (fenced means silent): audio is taken and served only while this node's election says it is master;
 * the moment it is not, every ingest and pull is closed, and new ones are answered {@code 409}.
 */
public final class Hubs {
    private static final Logger log = LoggerFactory.getLogger(Hubs.class);
    static final String SESSION_HEADER = "x-radiod-session";
    static final String RESUME_HEADER = "x-radiod-resume";
    /** When the ingest's encoder connected to the cluster (wall clock, ms since the epoch), as its node says. */
    static final String SINCE_HEADER = "x-radiod-since";

    private final Vertx vertx;
    private final BooleanSupplier master;
    private final String self;
    private final Map<String, Hub> hubs = new HashMap<>();
    private final Map<String, Upstream> upstreams = new HashMap<>();
    private HttpClient upstreamClient;
    private final AtomicInteger ingests = new AtomicInteger();
    private final AtomicInteger pulls = new AtomicInteger();
    private final Counter bytesIn;
    private final LongSupplier nanos;
    private final AtomicLong held = new AtomicLong();
    /** The timer that ages the hubs' rings while there are hubs, or -1. */
    private long expiry = -1;

    /**
     * @param master whether this node's election says it is master right now
     * @param self   this node's name, in the ids of the sessions it makes itself (relayed mounts)
     */
    public Hubs(Vertx vertx, BooleanSupplier master, String self, MeterRegistry registry) {
        this(vertx, master, self, registry, System::nanoTime);
    }

    /** @param nanos the clock that ages the hubs' rings ({@link System#nanoTime()} but in tests) */
    Hubs(Vertx vertx, BooleanSupplier master, String self, MeterRegistry registry, LongSupplier nanos) {
        this.vertx = vertx;
        this.nanos = nanos;
        this.master = master;
        this.self = self;
        Gauge.builder("radiod.carry.hub.ingests", ingests, AtomicInteger::get)
                .description("encoders' streams arriving at this node as master").register(registry);
        Gauge.builder("radiod.carry.hub.pulls", pulls, AtomicInteger::get)
                .description("nodes pulling mounts from this node as master").register(registry);
        Gauge.builder("radiod.carry.hub.held", held, AtomicLong::get).baseUnit("bytes")
                .description("recent audio this node as master holds for pulls to resume from (at most 20 s a mount)")
                .register(registry);
        this.bytesIn = Counter.builder("radiod.proxied").tag("direction", "ingest").baseUnit("bytes")
                .description("stream bytes proxied through this node, by direction").register(registry);
    }

    /** {@code INGEST /mount}: the caller checked that the mount exists and the credentials are its own. */
    public void ingest(NetSocket socket, String mount, Map<String, String> headers, Buffer rest) {
        String id = headers.get(SESSION_HEADER);
        if (id == null || id.isBlank() || id.length() > 200) {
            answer(socket, "400 Bad Request");
            return;
        }
        if (!master.getAsBoolean()) {
            answer(socket, "409 Conflict");
            return;
        }
        long since = since(headers.get(SINCE_HEADER));
        Hub hub = hub(mount);
        if (!hub.mayIngest(id, since)) {
            log.info("mount {}: ingest of session {} refused: another encoder streams to it", mount, id);
            answer(socket, "403 Forbidden");
            return;
        }
        PeerLinks.watch(socket);
        Hub.Session session = hub.attachIngest(id, since, StreamHeaders.lines(headers), socket);
        ingests.incrementAndGet();
        log.info("mount {}: ingest of session {} from {}", mount, id, socket.remoteAddress());
        Wire.Decoder decoder = new Wire.Decoder(m -> {
            switch (m.type()) {
                case Wire.DATA -> {
                    bytesIn.increment(m.payload().length());
                    hub.data(session, m.offset(), m.payload());
                }
                case Wire.HEADERS -> hub.headers(session, m.offset(), m.payload());
                case Wire.END -> hub.end(session, m.offset());
                default -> {
                }
            }
        });
        Handler<Buffer> in = chunk -> {
            try {
                decoder.accept(chunk);
            } catch (IllegalArgumentException e) {
                log.warn("mount {}: ingest from {} sent a malformed message ({}); closing it", mount,
                        socket.remoteAddress(), e.getMessage());
                socket.handler(b -> { });
                socket.close();
            }
        };
        socket.handler(in);
        socket.closeHandler(v -> {
            ingests.decrementAndGet();
            hub.detachIngest(session, socket);
        });
        socket.exceptionHandler(e -> socket.close());
        socket.write(Buffer.buffer("HTTP/1.1 200 OK\r\n\r\n"));
        if (rest.length() > 0) {
            in.handle(rest);
        }
        socket.resume();
    }

    /** The since header's time, or {@code Long.MAX_VALUE} (never earlier than anyone) when absent or not a number. */
    static long since(String value) {
        try {
            long since = value == null ? -1 : Long.parseLong(value.trim());
            return since < 0 ? Long.MAX_VALUE : since;
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    /** {@code PULL /mount}: the caller checked that the mount exists. */
    public void pull(NetSocket socket, String mount, Map<String, String> headers) {
        if (!master.getAsBoolean()) {
            answer(socket, "409 Conflict");
            return;
        }
        String resumeId = null;
        long offset = 0;
        String resume = headers.get(RESUME_HEADER);
        if (resume != null) {
            String[] parts = resume.trim().split(" ");
            try {
                if (parts.length != 2 || parts[0].isEmpty() || parts[0].length() > 200) {
                    throw new NumberFormatException();
                }
                resumeId = parts[0];
                offset = Long.parseLong(parts[1]);
                if (offset < 0) {
                    throw new NumberFormatException();
                }
            } catch (NumberFormatException e) {
                answer(socket, "400 Bad Request");
                return;
            }
        }
        Hub hub = hub(mount);
        PeerLinks.watch(socket);
        socket.write(Buffer.buffer("HTTP/1.1 200 OK\r\n\r\n"));
        Hub.Puller p = hub.addPuller(socket, resumeId, offset);
        pulls.incrementAndGet();
        socket.handler(b -> { }); // nothing is expected from a pull after its head
        socket.closeHandler(v -> {
            pulls.decrementAndGet();
            hub.removePuller(p);
        });
        socket.exceptionHandler(e -> socket.close());
        socket.resume();
    }

    /**
     * On the source front's event loop: keep the hubs of these mounts only, and none unless master; relay the mounts
     * that name an upstream URL while master.
     */
    public void viewChanged(Map<String, Mount> mounts) {
        if (!master.getAsBoolean()) {
            if (!hubs.isEmpty()) {
                log.info("no longer master: closing every ingest and pull ({} mounts)", hubs.size());
            }
            close();
            return;
        }
        upstreams.entrySet().removeIf(e -> {
            Mount m = mounts.get(e.getKey());
            if (m != null && e.getValue().url.equals(m.upstreamUrl())) {
                return false;
            }
            e.getValue().close();
            return true;
        });
        hubs.entrySet().removeIf(e -> {
            if (mounts.containsKey(e.getKey())) {
                return false;
            }
            e.getValue().close();
            return true;
        });
        for (Mount m : mounts.values()) {
            if (m.upstreamUrl() != null && !upstreams.containsKey(m.path())) {
                if (upstreamClient == null) {
                    upstreamClient = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(false)
                            .setConnectTimeout(5000).setIdleTimeout(30).setMaxInitialLineLength(1024)
                            .setMaxHeaderSize(16 * 1024));
                }
                Upstream u = new Upstream(vertx, upstreamClient, hub(m.path()), m.upstreamUrl(), self);
                upstreams.put(m.path(), u);
                u.start();
            }
        }
    }

    public void close() {
        upstreams.values().forEach(Upstream::close);
        upstreams.clear();
        hubs.values().forEach(Hub::close);
        hubs.clear();
        if (expiry >= 0) {
            vertx.cancelTimer(expiry);
            expiry = -1;
        }
    }

    /**
     * The mount's hub, made if needed. On the source front's event loop, as the timer it starts: every second while
     * there are hubs, each lets go of audio older than its ring's age, whether or not more arrives.
     */
    private Hub hub(String mount) {
        if (expiry < 0) {
            expiry = vertx.setPeriodic(1000, id -> {
                if (hubs.isEmpty()) {
                    vertx.cancelTimer(id);
                    expiry = -1;
                } else {
                    hubs.values().forEach(Hub::expire);
                }
            });
        }
        return hubs.computeIfAbsent(mount, m -> new Hub(m, nanos, held));
    }

    private static void answer(NetSocket socket, String status) {
        socket.handler(b -> { });
        socket.resume();
        socket.write(Buffer.buffer("HTTP/1.1 " + status + "\r\nContent-Length: 0\r\n\r\n", StandardCharsets.ISO_8859_1.name()))
                .onComplete(v -> socket.close());
    }
}
