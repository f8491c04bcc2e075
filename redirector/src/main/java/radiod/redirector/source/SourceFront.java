package radiod.redirector.source;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
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
 * {@code SOURCE … HTTP/1.0}, {@code SOURCE … ICE/1.0}), checks the mount and its credentials against the
 * cluster view, and only then connects to the master's Icecast, replays the request and pipes bytes both
 * ways. The bodies have no framing, so this is raw TCP.
 *
 * <p>Invariant: nothing reaches Icecast before the mount and credentials are checked; a source is always
 * connected to the master of the view it was checked against, and is closed when the master changes so the
 * encoder reconnects to the new one.
 */
public final class SourceFront implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SourceFront.class);
    private static final Set<String> SOURCE_METHODS = Set.of("SOURCE", "PUT");

    private final Vertx vertx;
    private final SourceFrontSettings settings;
    private final Supplier<ClusterSnapshot> view;
    private final NetClient client;
    /** Open source connections and the master each was connected to. */
    private final Map<NetSocket, MasterInfo> sources = new ConcurrentHashMap<>();
    private final MeterRegistry registry;
    private final Counter bytes;
    private NetServer server;

    public SourceFront(Vertx vertx, SourceFrontSettings settings, Supplier<ClusterSnapshot> view, MeterRegistry registry) {
        this.vertx = vertx;
        this.settings = settings;
        this.view = view;
        this.registry = registry;
        this.client = vertx.createNetClient(new NetClientOptions().setConnectTimeout(3000).setTcpNoDelay(true));
        Gauge.builder("radiod.sources.active", sources, Map::size).description("encoders connected through this node")
                .register(registry);
        this.bytes = Counter.builder("radiod.bytes.proxied").tag("direction", "source").baseUnit("bytes")
                .description("stream bytes received from encoders through this node").register(registry);
    }

    public Future<Void> start() {
        server = vertx.createNetServer(new NetServerOptions().setTcpNoDelay(true).setIdleTimeout(0));
        server.connectHandler(this::accept);
        return server.listen(settings.port(), settings.bindHost()).<Void>mapEmpty()
                .onSuccess(v -> log.info("source front on {}:{}", settings.bindHost(), settings.port()));
    }

    /** Closes every source connected to a master other than the view's, so its encoder reconnects. */
    public void viewChanged(ClusterSnapshot snapshot) {
        Optional<MasterInfo> master = snapshot.master();
        sources.forEach((socket, connectedTo) -> {
            if (master.isEmpty() || !sameMaster(master.get(), connectedTo)) {
                log.info("master changed from {}: closing a source so its encoder reconnects", connectedTo.name());
                sources.remove(socket);
                socket.close();
            }
        });
    }

    public int activeSources() {
        return sources.size();
    }

    private static boolean sameMaster(MasterInfo a, MasterInfo b) {
        return a.name().equals(b.name()) && a.address().equals(b.address()) && a.icecastPort() == b.icecastPort();
    }

    private void accept(NetSocket socket) {
        Buffer[] head = {Buffer.buffer()};
        long timer = vertx.setTimer(settings.headTimeoutMillis(), t -> {
            failure("head_timeout");
            socket.close();
        });
        socket.exceptionHandler(e -> socket.close());
        socket.handler(chunk -> {
            Buffer buf = head[0].appendBuffer(chunk);
            byte[] bytes = buf.getBytes();
            int end = RequestHead.end(bytes, bytes.length);
            if (end < 0) {
                if (buf.length() > settings.maxHeadBytes()) {
                    vertx.cancelTimer(timer);
                    failure("head_too_large");
                    reply(socket, "HTTP/1.0 400 Bad Request", "request head too large");
                }
                return;
            }
            vertx.cancelTimer(timer);
            socket.pause();
            socket.handler(null);
            byte[] headBytes = java.util.Arrays.copyOf(bytes, end);
            Buffer rest = buf.getBuffer(end, buf.length());
            handle(socket, headBytes, rest);
        });
    }

    private void handle(NetSocket socket, byte[] headBytes, Buffer rest) {
        RequestHead head;
        try {
            head = RequestHead.parse(headBytes);
        } catch (IllegalArgumentException e) {
            failure("bad_request");
            reply(socket, "HTTP/1.0 400 Bad Request", "bad request");
            return;
        }
        String method = head.method();
        if (method.equals("OPTIONS")) {
            socket.close(); // what Icecast 2.4.4 does with libshout's TLS-upgrade probe
            return;
        }
        if (method.equals("GET") || method.equals("HEAD")) {
            if (head.path().startsWith("/admin")) {
                reply(socket, "HTTP/1.0 400 Bad Request", "");
            } else {
                String location = "http://" + hostForUrl(settings.nodeAddress()) + ":" + settings.httpPort() + head.target();
                String r = "HTTP/1.0 302 Found\r\nLocation: " + location + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                socket.write(Buffer.buffer(r.getBytes(StandardCharsets.ISO_8859_1))).onComplete(v -> socket.close());
            }
            return;
        }
        if (!SOURCE_METHODS.contains(method)) {
            failure("bad_method");
            reply(socket, "HTTP/1.0 405 Method Not Allowed", "use SOURCE or PUT to send a stream");
            return;
        }
        ClusterSnapshot snapshot = view.get();
        Optional<Mount> mount = snapshot.mount(head.path());
        if (mount.isEmpty()) {
            failure("unknown_mount");
            reply(socket, "HTTP/1.0 404 File Not Found", "no such mount: " + head.path());
            return;
        }
        Optional<String[]> creds = head.basicCredentials();
        if (creds.isEmpty()) {
            failure("no_credentials");
            reply401(socket);
            return;
        }
        if (!matches(creds.get()[0], mount.get().sourceUser()) | !matches(creds.get()[1], mount.get().sourcePassword())) {
            failure("wrong_credentials");
            log.warn("source for {} from {} refused: wrong credentials", head.path(), socket.remoteAddress());
            reply401(socket);
            return;
        }
        Optional<MasterInfo> master = snapshot.master();
        if (master.isEmpty()) {
            failure("no_master");
            reply(socket, "HTTP/1.0 503 Service Unavailable", "no master elected yet; retry in a few seconds");
            return;
        }
        MasterInfo m = master.get();
        client.connect(m.icecastPort(), m.address()).onComplete(ar -> {
            if (ar.failed()) {
                log.warn("source for {}: cannot reach the master's Icecast {}:{}: {}", head.path(), m.address(),
                        m.icecastPort(), ar.cause().getMessage());
                reply(socket, "HTTP/1.0 503 Service Unavailable", "the master is not reachable; retry in a few seconds");
                return;
            }
            NetSocket upstream = ar.result();
            if (!sameMaster(view.get().master().orElse(m), m)) {
                upstream.close();
                socket.close();
                return;
            }
            sources.put(socket, m);
            log.info("source for {} from {} connected to master {}", head.path(), socket.remoteAddress(), m.name());
            upstream.write(Buffer.buffer(headBytes));
            if (rest.length() > 0) {
                upstream.write(rest);
                bytes.increment(rest.length());
            }
            socket.handler(chunk -> {
                bytes.increment(chunk.length());
                upstream.write(chunk);
                if (upstream.writeQueueFull()) {
                    socket.pause();
                    upstream.drainHandler(v -> socket.resume());
                }
            });
            upstream.handler(chunk -> {
                socket.write(chunk);
                if (socket.writeQueueFull()) {
                    upstream.pause();
                    socket.drainHandler(v -> upstream.resume());
                }
            });
            socket.closeHandler(v -> {
                sources.remove(socket);
                upstream.close();
            });
            upstream.closeHandler(v -> {
                sources.remove(socket);
                socket.close();
            });
            upstream.exceptionHandler(e -> upstream.close());
            socket.resume();
        });
    }

    private void failure(String reason) {
        Counter.builder("radiod.source.auth.failures").tag("reason", reason)
                .description("source connections refused before reaching Icecast").register(registry).increment();
    }

    /** Constant-time comparison, so timing says nothing about the password. */
    private static boolean matches(String given, String expected) {
        return MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
    }

    private static void reply401(NetSocket socket) {
        String body = "authentication required\n";
        String r = "HTTP/1.0 401 Authentication Required\r\nWWW-Authenticate: Basic realm=\"Icecast2 Server\"\r\n"
                + "Content-Type: text/plain\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
        socket.write(Buffer.buffer(r.getBytes(StandardCharsets.ISO_8859_1))).onComplete(v -> socket.close());
    }

    private static void reply(NetSocket socket, String status, String message) {
        String body = message.isEmpty() ? "" : message + "\n";
        String r = status + "\r\nContent-Type: text/plain\r\nContent-Length: " + body.length() + "\r\nConnection: close\r\n\r\n" + body;
        socket.write(Buffer.buffer(r.getBytes(StandardCharsets.ISO_8859_1))).onComplete(v -> socket.close());
    }

    static String hostForUrl(String address) {
        return address.contains(":") ? "[" + address + "]" : address;
    }

    @Override
    public void close() {
        sources.keySet().forEach(NetSocket::close);
        if (server != null) {
            server.close();
        }
        client.close();
    }
}
