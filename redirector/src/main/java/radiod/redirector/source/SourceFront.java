package radiod.redirector.source;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;

/**
 * The source port: takes encoders the way Icecast 2.4 does ({@code PUT} with {@code Expect: 100-continue},
 * {@code SOURCE … HTTP/1.0}, {@code SOURCE … ICE/1.0}), checks the mount and its Basic credentials against the
 * cluster view, and only then connects to the master's Icecast, replays the request head verbatim and pipes
 * bytes both ways with back-pressure. Source bodies have no framing, so this is raw TCP, not an HTTP server.
 *
 * <p>Invariant: nothing reaches Icecast before the mount and credentials are checked, and a source is closed
 * as soon as the view names a master other than the one it was connected to. The node calls
 * {@link #viewChanged} on every view change; a once-a-second check of the supplied view backs that up, so a
 * source never outlives its master by more than a second even if a call is missed.
 *
 * <p>Probes get what Icecast 2.4.4 gives (see shared/notes/source-clients.md): libshout's {@code OPTIONS *}
 * TLS-upgrade probe is closed without an answer, {@code GET /admin/…} gets 400, a {@code SOURCE} without
 * credentials gets 401 with {@code WWW-Authenticate}. A listener's {@code GET /mount} on this port is
 * redirected to the HTTP port.
 */
public final class SourceFront implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SourceFront.class);
    static final String BYTES_DESCRIPTION = "stream bytes proxied through this node, by direction";
    private static final long CHECK_MASTER_EVERY_MS = 1000;
    /** A request line is METHOD, a target of at most 1024 characters, a version. */
    private static final int MAX_REQUEST_LINE = 1100;

    private final Vertx vertx;
    private final SourceFrontSettings settings;
    private final Supplier<ClusterSnapshot> view;
    private final NetClient client;
    private final Set<Piped> sources = ConcurrentHashMap.newKeySet();
    private final Counter bytes;
    private final Map<String, Counter> authFailures = new ConcurrentHashMap<>();
    private final Map<String, Counter> rejections = new ConcurrentHashMap<>();
    private final MeterRegistry registry;
    private NetServer server;
    private long checkTimer = -1;

    public SourceFront(Vertx vertx, SourceFrontSettings settings, Supplier<ClusterSnapshot> view, MeterRegistry registry) {
        this.vertx = vertx;
        this.settings = settings;
        this.view = view;
        this.registry = registry;
        this.client = vertx.createNetClient(new NetClientOptions().setConnectTimeout(3000).setTcpNoDelay(true));
        Gauge.builder("radiod.sources.active", sources, Set::size)
                .description("encoders connected to the master through this node").register(registry);
        this.bytes = Counter.builder("radiod.bytes.proxied").tag("direction", "source").baseUnit("bytes")
                .description(BYTES_DESCRIPTION).register(registry);
        for (String reason : new String[] {"unknown_mount", "no_credentials", "wrong_credentials"}) {
            authFailure(reason, false);
        }
        for (String reason : new String[] {"head_timeout", "head_too_large", "bad_request", "method_not_allowed",
                "no_master", "master_unreachable"}) {
            rejected(reason, false);
        }
    }

    public Future<Void> start() {
        server = vertx.createNetServer(new NetServerOptions().setTcpNoDelay(true));
        server.connectHandler(socket -> new Admission(socket).begin());
        checkTimer = vertx.setPeriodic(CHECK_MASTER_EVERY_MS, t -> viewChanged(view.get()));
        return server.listen(settings.port(), settings.bindHost()).<Void>mapEmpty()
                .onSuccess(v -> log.info("source front on {}:{}", settings.bindHost(), port()));
    }

    /** The bound port (differs from the settings' when they asked for port 0). */
    public int port() {
        return server == null ? settings.port() : server.actualPort();
    }

    /**
     * Closes every source connected to a master other than the snapshot's, so its encoder reconnects and lands on
     * the new master. A snapshot without a master closes nothing: the old master's Icecast may still hold the
     * source, and if the same node wins again nothing needed to change. Safe to call from any thread, as often as
     * the view changes.
     */
    public void viewChanged(ClusterSnapshot snapshot) {
        Optional<MasterInfo> master = snapshot.master();
        if (master.isEmpty()) {
            return;
        }
        for (Piped p : sources) {
            if (!sameMaster(master.get(), p.master)) {
                log.info("source for {} was connected to master {}, which is now {}: closing it so the encoder reconnects",
                        p.mount, p.master.name(), master.get().name());
                p.close();
            }
        }
    }

    /** Encoders currently piped to a master through this node. */
    public int activeSources() {
        return sources.size();
    }

    static boolean sameMaster(MasterInfo a, MasterInfo b) {
        return a.name().equals(b.name()) && a.address().equals(b.address()) && a.icecastPort() == b.icecastPort();
    }

    /** Reads one request head within the size and time bounds, then decides what the connection gets. */
    private final class Admission implements Handler<Buffer> {
        private final NetSocket socket;
        private Buffer head = Buffer.buffer(512);
        private boolean lineChecked;
        private boolean over;
        private boolean closed;
        private long timer;

        Admission(NetSocket socket) {
            this.socket = socket;
        }

        void begin() {
            timer = vertx.setTimer(settings.headTimeout().toMillis(), t -> {
                rejected("head_timeout", true);
                log.debug("source port: {} did not send a request head within {}", socket.remoteAddress(),
                        settings.headTimeout());
                finish();
                socket.close();
            });
            socket.exceptionHandler(e -> socket.close());
            socket.closeHandler(v -> {
                closed = true;
                finish();
            });
            socket.handler(this);
        }

        /** No more head reading: bytes arriving from now on are ignored until the connection is handed on. */
        private void finish() {
            over = true;
            vertx.cancelTimer(timer);
        }

        @Override
        public void handle(Buffer chunk) {
            if (over) {
                return;
            }
            int scanFrom = head.length() - 3;
            head.appendBuffer(chunk);
            if (!lineChecked) {
                // Judge the request line as soon as it is complete, so garbage is refused at once.
                int nl = RequestHead.firstLineEnd(head);
                if (nl < 0 && head.length() <= MAX_REQUEST_LINE) {
                    return;
                }
                try {
                    if (nl < 0) {
                        throw new IllegalArgumentException("request line too long");
                    }
                    String line = head.getString(0, nl, StandardCharsets.ISO_8859_1.name());
                    RequestHead.requestLine(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line);
                    lineChecked = true;
                } catch (IllegalArgumentException e) {
                    finish();
                    rejected("bad_request", true);
                    log.debug("source port: {} sent no request line", socket.remoteAddress());
                    reply(socket, "400 Bad Request", "", "not an Icecast source request");
                    return;
                }
            }
            int end = RequestHead.end(head, scanFrom);
            if (end < 0 ? head.length() > settings.maxHeadBytes() : end > settings.maxHeadBytes()) {
                finish();
                rejected("head_too_large", true);
                reply(socket, "400 Bad Request", "", "request head longer than " + settings.maxHeadBytes() + " bytes");
                return;
            }
            if (end < 0) {
                return;
            }
            finish();
            socket.pause();
            Buffer raw = head.getBuffer(0, end);
            Buffer rest = head.getBuffer(end, head.length());
            head = null;
            RequestHead parsed;
            try {
                parsed = RequestHead.parse(raw);
            } catch (IllegalArgumentException e) {
                rejected("bad_request", true);
                reply(socket, "400 Bad Request", "", "not an Icecast source request");
                return;
            }
            judge(parsed, raw, rest);
        }

        private void judge(RequestHead req, Buffer raw, Buffer rest) {
            switch (req.method()) {
                case "OPTIONS" -> {
                    // libshout's TLS-upgrade probe: Icecast 2.4.4 closes without an answer and libshout goes on.
                    socket.close();
                    return;
                }
                case "GET", "HEAD" -> {
                    if (req.path().startsWith("/admin")) {
                        reply(socket, "400 Bad Request", "", ""); // libshout's /admin/!POKE probe, as Icecast answers it
                    } else {
                        String location = "http://" + hostForUrl(settings.nodeAddress()) + ":" + settings.httpPort()
                                + req.target();
                        reply(socket, "302 Found", "Location: " + location + "\r\n", "listen on " + location);
                    }
                    return;
                }
                case "SOURCE", "PUT" -> {
                }
                default -> {
                    rejected("method_not_allowed", true);
                    reply(socket, "405 Method Not Allowed", "Allow: SOURCE, PUT\r\n", "send a stream with SOURCE or PUT");
                    return;
                }
            }
            ClusterSnapshot snapshot = view.get();
            Optional<Mount> mount = snapshot.mount(req.path());
            if (mount.isEmpty()) {
                authFailure("unknown_mount", true);
                log.info("source from {} refused: no mount {}", socket.remoteAddress(), req.path());
                reply(socket, "404 File Not Found", "", "no mount " + req.path());
                return;
            }
            Optional<RequestHead.Credentials> given = req.credentials();
            if (given.isEmpty()) {
                authFailure("no_credentials", true); // libshout's first attempt: it retries with them
                reply(socket, "401 Authentication Required", "WWW-Authenticate: Basic realm=\"Icecast2 Server\"\r\n",
                        "You need to authenticate");
                return;
            }
            if (!credentialsMatch(given.get(), mount.get())) {
                authFailure("wrong_credentials", true);
                log.warn("source for {} from {} refused: wrong credentials", req.path(), socket.remoteAddress());
                reply(socket, "401 Authentication Required", "WWW-Authenticate: Basic realm=\"Icecast2 Server\"\r\n",
                        "You need to authenticate");
                return;
            }
            Optional<MasterInfo> master = snapshot.master();
            if (master.isEmpty()) {
                rejected("no_master", true);
                log.info("source for {} from {} refused: no master elected", req.path(), socket.remoteAddress());
                reply(socket, "503 Service Unavailable", "Retry-After: 2\r\n", "no master elected yet; retry in a few seconds");
                return;
            }
            connect(req.path(), master.get(), raw, rest);
        }

        private void connect(String mount, MasterInfo master, Buffer raw, Buffer rest) {
            client.connect(master.icecastPort(), master.address()).onComplete(ar -> {
                if (ar.failed()) {
                    rejected("master_unreachable", true);
                    log.warn("source for {}: master {}'s Icecast at {}:{} is not reachable: {}", mount, master.name(),
                            master.address(), master.icecastPort(), ar.cause().getMessage());
                    reply(socket, "503 Service Unavailable", "Retry-After: 2\r\n", "the master is not reachable; retry in a few seconds");
                    return;
                }
                NetSocket upstream = ar.result();
                Optional<MasterInfo> now = view.get().master();
                if (closed || now.isEmpty() || !sameMaster(now.get(), master)) {
                    upstream.close();
                    socket.close();
                    return;
                }
                new Piped(socket, upstream, mount, master).start(raw, rest);
            });
        }
    }

    /** An encoder's connection piped to the master's Icecast; either side closing closes the other. */
    private final class Piped {
        private final NetSocket encoder;
        private final NetSocket icecast;
        private final String mount;
        private final MasterInfo master;

        Piped(NetSocket encoder, NetSocket icecast, String mount, MasterInfo master) {
            this.encoder = encoder;
            this.icecast = icecast;
            this.mount = mount;
            this.master = master;
        }

        void start(Buffer head, Buffer rest) {
            sources.add(this);
            log.info("source for {} from {} connected to master {} at {}:{}", mount, encoder.remoteAddress(),
                    master.name(), master.address(), master.icecastPort());
            icecast.write(head, null);
            if (rest.length() > 0) {
                bytes.increment(rest.length());
                icecast.write(rest, null);
            }
            encoder.handler(chunk -> {
                bytes.increment(chunk.length());
                icecast.write(chunk, null);
                if (icecast.writeQueueFull()) {
                    encoder.pause();
                }
            });
            icecast.drainHandler(v -> encoder.resume());
            icecast.handler(chunk -> {
                encoder.write(chunk, null);
                if (encoder.writeQueueFull()) {
                    icecast.pause();
                }
            });
            encoder.drainHandler(v -> icecast.resume());
            encoder.closeHandler(v -> closed());
            icecast.closeHandler(v -> closed());
            encoder.exceptionHandler(e -> encoder.close());
            icecast.exceptionHandler(e -> icecast.close());
            encoder.resume();
        }

        private void closed() {
            if (sources.remove(this)) {
                log.info("source for {} from {} disconnected", mount, encoder.remoteAddress());
            }
            encoder.close();
            icecast.close();
        }

        void close() {
            sources.remove(this);
            encoder.close();
            icecast.close();
        }
    }

    private static boolean credentialsMatch(RequestHead.Credentials given, Mount mount) {
        // Both compared, without short-circuit, on digests: the time taken says nothing about either value.
        boolean user = MessageDigest.isEqual(sha256(given.user()), sha256(mount.sourceUser()));
        boolean password = MessageDigest.isEqual(sha256(given.password()), sha256(mount.sourcePassword()));
        return user & password;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** Answers like Icecast (HTTP/1.0, a short body) and closes once the answer is written. */
    private static void reply(NetSocket socket, String status, String extraHeaders, String message) {
        socket.handler(b -> { }); // drain what the client still sends, so closing does not reset the answer away
        String body = message.isEmpty() ? "" : message + "\n";
        String r = "HTTP/1.0 " + status + "\r\nServer: radiod\r\n" + extraHeaders
                + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + body.length()
                + "\r\nConnection: close\r\n\r\n" + body;
        socket.resume();
        socket.write(Buffer.buffer(r.getBytes(StandardCharsets.ISO_8859_1))).onComplete(v -> socket.close());
    }

    static String hostForUrl(String address) {
        return address.contains(":") ? "[" + address + "]" : address;
    }

    private void authFailure(String reason, boolean count) {
        Counter c = authFailures.computeIfAbsent(reason, r -> Counter.builder("radiod.source.auth.failures").tag("reason", r)
                .description("source connections refused for their mount or credentials, before reaching Icecast")
                .register(registry));
        if (count) {
            c.increment();
        }
    }

    private void rejected(String reason, boolean count) {
        Counter c = rejections.computeIfAbsent(reason, r -> Counter.builder("radiod.source.rejected").tag("reason", r)
                .description("source-port connections dropped for their request or the cluster's state")
                .register(registry));
        if (count) {
            c.increment();
        }
    }

    /** Stops accepting, and closes every piped source. */
    @Override
    public void close() {
        if (checkTimer >= 0) {
            vertx.cancelTimer(checkTimer);
        }
        sources.forEach(Piped::close);
        if (server != null) {
            server.close();
        }
        client.close();
    }
}
