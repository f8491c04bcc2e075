package radiod.redirector.source;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
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
import radiod.redirector.carry.Hubs;
import radiod.redirector.tls.ServerTls;

/**
 * The source port: takes encoders the way Icecast 2.4 does ({@code PUT} with {@code Expect: 100-continue},
 * {@code SOURCE … HTTP/1.0}, {@code SOURCE … ICE/1.0}), checks the mount and its Basic credentials against the
 * mount record in the fenced view, and hands the encoder to an {@link Ingest}, which carries its stream to the
 * master's hub and holds it across master changes (see docs/ARCHITECTURE.md). The same port takes the cluster's
 * own {@code INGEST} (another node's ingest, checked with the mount's credentials) and {@code PULL} (a node
 * carrying a mount to its Icecast) connections, handed to {@link Hubs}. Bodies have no framing, so this is raw TCP,
 * not an HTTP server.
 *
 * <p>Invariants: nothing is taken before the mount and credentials are checked; decisions about where an encoder's
 * audio goes use the fenced view; a node whose lease is not valid takes no new encoder (after holding it for
 * {@link SourceFrontSettings#fencedWait()}: {@code 503} with {@code Retry-After}, never {@code 401}) and closes those
 * it holds, so they go to another node; while no master is elected, a new encoder is held unanswered until one is
 * (for up to {@link SourceFrontSettings#masterWait()}), not refused.
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
    /** How long a source for a mount this node does not know is kept waiting for the view to bring it. */
    static final long UNKNOWN_MOUNT_WAIT_NANOS = 1_500_000_000L;
    /** How often a source kept waiting looks at the view again. */
    private static final long ADMIT_RETRY_MILLIS = 25;
    /** A request line is METHOD, a target of at most 1024 characters, a version. */
    private static final int MAX_REQUEST_LINE = RequestHead.MAX_TARGET + 32;
    /** What Icecast 2.4 answers a successful metadata update with; butt and liquidsoap look for a 200. */
    static final String METADATA_OK = "<?xml version=\"1.0\"?>\n<iceresponse><message>Metadata update successful"
            + "</message><return>1</return></iceresponse>";

    private final Vertx vertx;
    private final SourceFrontSettings settings;
    private final Supplier<ClusterSnapshot> view;
    private final BooleanSupplier fenced;
    private final Hubs hubs;
    private final NetClient client;
    private final Set<Ingest> sources = ConcurrentHashMap.newKeySet();
    /** Source connections kept waiting, unanswered, for what the view cannot say yet (their mount, a lease, a master). */
    private final Set<Admission> waiting = ConcurrentHashMap.newKeySet();
    private final Ingest.Host ingestHost;
    private final String sessionPrefix;
    private volatile String selfName;
    private volatile String selfAddress;
    private final Counter bytes;
    private final Counter metadataUpdates;
    private final Map<String, Counter> authFailures = new ConcurrentHashMap<>();
    private final Map<String, Counter> rejections = new ConcurrentHashMap<>();
    private final MeterRegistry registry;
    private volatile TitleDesk titles = TitleDesk.NONE;
    private NetServer server;
    private ServerTls tls;
    private int tlsPort;
    private String httpsBase;
    /** How long {@link #close()} waits for the front's event loop to close its sources and hubs. */
    static final long CLOSE_WAIT_MS = 2_000;
    /** The TLS source port's server, on the front's context; null until it is open. */
    private NetServer tlsServer;
    private Runnable tlsRegistration;
    private volatile io.vertx.core.Context context;
    private long checkTimer = -1;
    private volatile boolean closing;

    /**
     * @param view   the fenced view: it names this node master only while its election says so
     * @param fenced whether this node may not act on the view now (its etcd lease is not valid)
     * @param hubs   the master's side of the audio path, for {@code INGEST} and {@code PULL}
     */
    public SourceFront(Vertx vertx, SourceFrontSettings settings, Supplier<ClusterSnapshot> view, BooleanSupplier fenced,
                       Hubs hubs, MeterRegistry registry) {
        this.vertx = vertx;
        this.settings = settings;
        this.view = view;
        this.fenced = fenced;
        this.hubs = hubs;
        this.registry = registry;
        this.sessionPrefix = settings.nodeAddress().replace(' ', '_');
        this.client = vertx.createNetClient(new NetClientOptions().setConnectTimeout(2000).setTcpNoDelay(true));
        Gauge.builder("radiod.sources.active", sources, Set::size)
                .description("encoders held by this node's source front").register(registry);
        Gauge.builder("radiod.sources.waiting", waiting, Set::size)
                .description("source connections kept waiting, unanswered, for their mount, this node's lease or a master")
                .register(registry);
        this.bytes = Counter.builder("radiod.proxied").tag("direction", "source").baseUnit("bytes")
                .description(BYTES_DESCRIPTION).register(registry);
        for (String reason : new String[] {"unknown_mount", "no_credentials", "wrong_credentials"}) {
            authFailure(reason, false);
        }
        this.ingestHost = new Ingest.Host() {
            @Override
            public Optional<MasterInfo> master() {
                return dialed(view.get().master());
            }

            @Override
            public boolean fenced() {
                return fenced.getAsBoolean();
            }

            @Override
            public void closed(Ingest ingest) {
                sources.remove(ingest);
                if (ingest.gone()) {
                    titles.gone(ingest.mount, ingest.session());
                }
            }

            @Override
            public void bytesIn(int n) {
                bytes.increment(n);
            }

            @Override
            public void rejected(String reason) {
                SourceFront.this.rejected(reason, true);
            }
        };
        this.metadataUpdates = Counter.builder("radiod.source.metadata.updates")
                .description("song titles taken from encoders on this node's source port").register(registry);
        for (String reason : new String[] {"head_timeout", "head_too_large", "bad_request", "method_not_allowed",
                "no_master", "fenced", "in_use", "bad_metadata"}) {
            rejected(reason, false);
        }
    }

    /**
     * Takes encoders on a TLS port too ({@code port}, 0 for any), with the certificate {@code tls} holds: opened by
     * {@link #start()} if it holds one then, else when the first is applied; later certificates reach it for new
     * handshakes. Encoders only: the cluster's own {@code INGEST} and {@code PULL} stay on the plain port. Call before
     * {@link #start()}.
     *
     * @param httpsBase where a listener who asks this port for a mount is sent, e.g. {@code https://node1.radio.example.org}
     */
    public SourceFront tls(ServerTls tls, int port, String httpsBase) {
        this.tls = tls;
        this.tlsPort = port;
        this.httpsBase = httpsBase;
        return this;
    }

    /** The bound TLS port, or -1 while it is not open. */
    public int tlsPort() {
        NetServer s = tlsServer;
        return s == null ? -1 : s.actualPort();
    }

    /**
     * Binds the port. Everything the front does (admissions, held encoders, hubs) runs on one event loop, the
     * context made here: a handful of streams need no more, and it keeps their state free of locks.
     */
    public Future<Void> start() {
        io.vertx.core.Context ctx = vertx.getOrCreateContext();
        context = ctx;
        io.vertx.core.Promise<Void> bound = io.vertx.core.Promise.promise();
        ctx.runOnContext(v -> {
            server = vertx.createNetServer(new NetServerOptions().setTcpNoDelay(true));
            server.connectHandler(socket -> new Admission(socket).begin());
            checkTimer = vertx.setPeriodic(CHECK_MASTER_EVERY_MS, t -> viewChanged(view.get()));
            Future<Void> plain = server.listen(settings.port(), settings.bindHost()).<Void>mapEmpty()
                    .onSuccess(x -> log.info("source front on {}:{}", settings.bindHost(), port()));
            if (tls == null) {
                plain.onComplete(bound);
                return;
            }
            plain.compose(x -> {
                tlsRegistration = tls.onChange(options -> ctx.runOnContext(u -> certificateChanged(options)));
                if (tls.sslOptions().isEmpty()) {
                    log.info("tls source front on {}:{}: opens when a certificate comes", settings.bindHost(), tlsPort);
                    return Future.<Void>succeededFuture();
                }
                return openTls();
            }).onComplete(bound);
        });
        return bound.future();
    }

    /** The TLS source port, on the front's context: the same admission as the plain port. */
    private Future<Void> openTls() {
        NetServer s = vertx.createNetServer(tls.secure(new NetServerOptions().setTcpNoDelay(true)));
        tlsServer = s;
        s.exceptionHandler(e -> tls.handshakeFailed("source", e));
        s.connectHandler(socket -> new Admission(socket).begin());
        return s.listen(tlsPort, settings.bindHost()).<Void>mapEmpty()
                .onSuccess(x -> log.info("tls source front on {}:{}", settings.bindHost(), s.actualPort()));
    }

    /** On the front's context: a new certificate for new handshakes; the first one opens the port. */
    private void certificateChanged(io.vertx.core.net.SSLOptions options) {
        if (closing) {
            return;
        }
        if (tlsServer == null) {
            openTls().onFailure(e -> log.error("tls source front on {}:{} cannot open: {}", settings.bindHost(), tlsPort,
                    e.getMessage()));
        } else {
            tlsServer.updateSSLOptions(options).onFailure(e -> log.warn("tls source front: the new certificate was not "
                    + "taken: {}", e.toString()));
        }
    }

    /** Where metadata updates go (until set, they are refused with 503). */
    public void titles(TitleDesk desk) {
        this.titles = desk;
    }

    /** The bound port (differs from the settings' when they asked for port 0). */
    public int port() {
        return server == null ? settings.port() : server.actualPort();
    }

    /**
     * The fenced view changed: every held encoder follows the master it names (re-dialing at once), encoders are
     * closed if this node is fenced, and the hubs keep only what this node may serve. Safe to call from any thread.
     */
    public void viewChanged(ClusterSnapshot snapshot) {
        if (context == null) {
            return;
        }
        context.runOnContext(v -> {
            if (closing) {
                return; // the hubs are closed: a view that came after must not make them again
            }
            for (Ingest i : Set.copyOf(sources)) {
                Long kicked = snapshot.kicks().get(i.mount);
                if (kicked != null && kicked > i.admittedRevision()) {
                    log.info("source for {}: kicked by the operator (request at revision {})", i.mount, kicked);
                    i.kick();
                    continue;
                }
                i.viewChanged();
            }
            hubs.viewChanged(snapshot.mounts());
        });
    }

    /**
     * This node's name and the address its own source port answers on: while it is the master, the encoders it
     * holds are sent to that address, not to the one it publishes (which may be a NAT's, unreachable from inside
     * without hairpin NAT).
     */
    public void selfAt(String node, String ownAddress) {
        selfName = node;
        selfAddress = ownAddress;
    }

    private Optional<MasterInfo> dialed(Optional<MasterInfo> master) {
        return master.map(m -> m.dialedBy(selfName, selfAddress));
    }

    /** Source connections kept waiting, unanswered, for their mount, this node's lease or a master to be in the view. */
    public int waitingSources() {
        return waiting.size();
    }

    /** Encoders held by this node's source front. */
    public int activeSources() {
        return sources.size();
    }

    /** The encoders this node holds: their session, by mount. */
    public Map<String, String> sessions() {
        Map<String, String> out = new java.util.TreeMap<>();
        for (Ingest i : sources) {
            out.put(i.mount, i.session());
        }
        return out;
    }

    static boolean sameMaster(MasterInfo a, MasterInfo b) {
        return a.name().equals(b.name()) && a.address().equals(b.address()) && a.sourcePort() == b.sourcePort();
    }

    /** Reads one request head within the size and time bounds, then decides what the connection gets. */
    private final class Admission implements Handler<Buffer> {
        private final NetSocket socket;
        private Buffer head = Buffer.buffer(512);
        private boolean lineChecked;
        private boolean over;
        private boolean closed;
        private long timer;
        /** Why the source is being held unanswered, the last time it was said; null while it never was. */
        private String heldFor;

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
                if (nl < 0 && head.length() <= MAX_REQUEST_LINE && RequestHead.couldStartRequestLine(head)) {
                    return;
                }
                try {
                    if (nl < 0 && !RequestHead.couldStartRequestLine(head)) {
                        throw new IllegalArgumentException("not a request line");
                    }
                    if (nl < 0) {
                        finish();
                        rejected("bad_request", true);
                        reply(socket, "414 URI Too Long", "", "request line longer than " + MAX_REQUEST_LINE + " bytes");
                        return;
                    }
                    if (nl > MAX_REQUEST_LINE) {
                        finish();
                        rejected("bad_request", true);
                        reply(socket, "414 URI Too Long", "", "request line longer than " + MAX_REQUEST_LINE + " bytes");
                        return;
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
            judge(parsed, rest);
        }

        private void judge(RequestHead req, Buffer rest) {
            switch (req.method()) {
                case "OPTIONS" -> {
                    // libshout's TLS-upgrade probe: Icecast 2.4.4 closes without an answer and libshout goes on.
                    socket.close();
                    return;
                }
                case "GET", "HEAD" -> {
                    if (MetadataUpdate.isMetadataPath(req.path())) {
                        metadata(req);
                    } else if (req.path().startsWith("/admin")) {
                        reply(socket, "400 Bad Request", "", ""); // libshout's /admin/!POKE probe, as Icecast answers it
                    } else {
                        String location = (socket.isSsl() && httpsBase != null ? httpsBase
                                : "http://" + hostForUrl(settings.nodeAddress()) + ":" + settings.httpPort())
                                + req.target();
                        reply(socket, "302 Found", "Location: " + location + "\r\n", "listen on " + location);
                    }
                    return;
                }
                case "SOURCE", "PUT" -> {
                }
                case "INGEST", "PULL" -> {
                    if (socket.isSsl()) { // the cluster's own wire: on the plain port only
                        rejected("method_not_allowed", true);
                        reply(socket, "405 Method Not Allowed", "Allow: SOURCE, PUT\r\n", "send a stream with SOURCE or PUT");
                        return;
                    }
                    if (req.method().equals("INGEST")) {
                        break;
                    }
                    if (view.get().mount(req.path()).isEmpty()) {
                        reply(socket, "404 File Not Found", "", "no mount " + req.path());
                    } else {
                        hubs.pull(socket, req.path(), req.headers());
                    }
                    return;
                }
                default -> {
                    rejected("method_not_allowed", true);
                    reply(socket, "405 Method Not Allowed", "Allow: SOURCE, PUT\r\n", "send a stream with SOURCE or PUT");
                    return;
                }
            }
            admit(req, rest, System.nanoTime());
        }

        /**
         * A metadata update (a song title) for a mount, checked like a source (the mount's credentials), from an
         * encoder on this node or anywhere else; answered as Icecast does once every node can see the title.
         */
        private void metadata(RequestHead req) {
            String mountPath;
            MetadataUpdate update;
            try {
                mountPath = MetadataUpdate.mountOf(req.target());
            } catch (MetadataUpdate.Refused e) {
                metadataRefused(req, e);
                return;
            }
            ClusterSnapshot snapshot = view.get();
            Optional<Mount> mount = snapshot.mount(mountPath);
            if (mount.isEmpty() && !snapshot.isRead()) {
                // Nothing read from etcd yet: whether the mount exists is not known. As for a source here, never a
                // 404, which an encoder takes for a wrong mount.
                rejected("fenced", true);
                reply(socket, "503 Service Unavailable", "Retry-After: 2\r\n",
                        "this node has not read the cluster's state from etcd yet; retry");
                return;
            }
            if (mount.isEmpty()) {
                metadataRefused(req, new MetadataUpdate.Refused("404 File Not Found", "no mount " + mountPath));
                return;
            }
            Optional<RequestHead.Credentials> given = req.credentials();
            if (given.isEmpty() || !credentialsMatch(given.get(), mount.get())) {
                authFailure(given.isEmpty() ? "no_credentials" : "wrong_credentials", true);
                log.warn("title for {} from {} refused: {}", mountPath, socket.remoteAddress(),
                        given.isEmpty() ? "no credentials" : "wrong credentials");
                reply(socket, "401 Authentication Required", "WWW-Authenticate: Basic realm=\"Icecast2 Server\"\r\n",
                        "You need to authenticate");
                return;
            }
            try {
                update = MetadataUpdate.parse(req.target());
            } catch (MetadataUpdate.Refused e) {
                metadataRefused(req, e);
                return;
            }
            if (fenced.getAsBoolean()) {
                rejected("fenced", true);
                reply(socket, "503 Service Unavailable", "Retry-After: 2\r\n",
                        "this node is cut off from the cluster; retry, or use another node");
                return;
            }
            String session = "";
            for (Ingest i : sources) {
                if (i.mount.equals(mountPath)) {
                    session = i.session();
                }
            }
            titles.set(mountPath, update.title(), session).whenComplete((ok, failure) -> context.runOnContext(v -> {
                if (failure != null) {
                    log.warn("title for {} not kept: {}", mountPath, failure.toString());
                    reply(socket, "503 Service Unavailable", "Retry-After: 2\r\n", "the title could not be kept; retry");
                } else {
                    metadataUpdates.increment();
                    log.debug("title for {}: {}", mountPath, update.title());
                    replyXml(socket, "200 OK", METADATA_OK);
                }
            }));
        }

        private void metadataRefused(RequestHead req, MetadataUpdate.Refused e) {
            rejected("bad_metadata", true);
            log.info("title update from {} refused: {}", socket.remoteAddress(), e.getMessage());
            reply(socket, e.status(), "", e.getMessage());
        }

        /**
         * Checks the mount and the credentials, then takes the source. What the view cannot say yet is waited for,
         * the encoder unanswered (its connection paused), the view looked at again every
         * {@value #ADMIT_RETRY_MILLIS} ms from {@code arrived}:
         * <ul>
         * <li>a mount this node does not know, for {@link #UNKNOWN_MOUNT_WAIT_NANOS}: one created a moment ago
         * reaches this node's view a few milliseconds after {@code radioctl create-mount} returns, and an encoder
         * started right after it must not be refused;</li>
         * <li>this node's lease, for {@link SourceFrontSettings#fencedWait()}: a node that has just started takes
         * its lease a moment after its ports open, and a short etcd hiccup passes as it does for held encoders;</li>
         * <li>a master, for {@link SourceFrontSettings#masterWait()}: while the cluster elects one (a node just
         * started, or the master went), an encoder refused would be lost for good if it does not reconnect (a plain
         * ffmpeg), or come back only after its own retry delay; held, it is answered the moment a master is there.</li>
         * </ul>
         */
        private void admit(RequestHead req, Buffer rest, long arrived) {
            boolean again;
            try {
                again = decide(req, rest, arrived);
            } catch (RuntimeException e) {
                log.warn("source for {} from {}: closed, could not be admitted: {}", req.path(), socket.remoteAddress(),
                        e.toString());
                socket.close();
                again = false;
            }
            if (again) {
                waiting.add(this);
            } else {
                waiting.remove(this);
            }
        }

        /** One look at the view for this source: true when it waits on (another look is scheduled). */
        private boolean decide(RequestHead req, Buffer rest, long arrived) {
            if (closed) {
                return false;
            }
            if (closing) {
                socket.close();
                return false;
            }
            long waited = System.nanoTime() - arrived;
            ClusterSnapshot snapshot = view.get();
            Optional<Mount> mount = snapshot.mount(req.path());
            if (mount.isEmpty() && !snapshot.isRead()) {
                // Nothing read from etcd yet (a node starting, or started while etcd is down): the mount may well
                // exist. Held as a fenced node holds a source, then asked to come back; never a 404, which an
                // encoder takes as a wrong mount.
                if (waited < settings.fencedWait().toNanos()) {
                    holding(req, "this node has not read the cluster's state from etcd yet", settings.fencedWait());
                    admitAgain(req, rest, arrived);
                    return true;
                }
                rejected("fenced", true);
                log.info("source for {} from {} refused: this node has not read the cluster's state from etcd yet",
                        req.path(), socket.remoteAddress());
                reply(socket, "503 Service Unavailable", "Retry-After: 2\r\n",
                        "this node has not read the cluster's state yet; retry, or use another node");
                return false;
            }
            if (mount.isEmpty() && waited < UNKNOWN_MOUNT_WAIT_NANOS) {
                admitAgain(req, rest, arrived);
                return true;
            }
            if (mount.isEmpty()) {
                authFailure("unknown_mount", true);
                log.info("source from {} refused: no mount {}", socket.remoteAddress(), req.path());
                reply(socket, "404 File Not Found", "", "no mount " + req.path());
                return false;
            }
            Optional<RequestHead.Credentials> given = req.credentials();
            if (given.isEmpty()) {
                authFailure("no_credentials", true); // libshout's first attempt: it retries with them
                reply(socket, "401 Authentication Required", "WWW-Authenticate: Basic realm=\"Icecast2 Server\"\r\n",
                        "You need to authenticate");
                return false;
            }
            if (!credentialsMatch(given.get(), mount.get())) {
                authFailure("wrong_credentials", true);
                log.warn("source for {} from {} refused: wrong credentials", req.path(), socket.remoteAddress());
                reply(socket, "401 Authentication Required", "WWW-Authenticate: Basic realm=\"Icecast2 Server\"\r\n",
                        "You need to authenticate");
                return false;
            }
            if (req.method().equals("INGEST")) {
                hubs.ingest(socket, req.path(), req.headers(), rest);
                return false;
            }
            if (fenced.getAsBoolean() && waited < settings.fencedWait().toNanos()) {
                holding(req, "this node has no valid etcd lease yet", settings.fencedWait());
                admitAgain(req, rest, arrived);
                return true;
            }
            if (fenced.getAsBoolean()) {
                rejected("fenced", true);
                log.info("source for {} from {} refused: this node has no valid etcd lease", req.path(), socket.remoteAddress());
                reply(socket, "503 Service Unavailable", "Retry-After: 2\r\n",
                        "this node is cut off from the cluster; retry, or use another node");
                return false;
            }
            Optional<MasterInfo> master = dialed(snapshot.master());
            if (master.isEmpty() && waited < settings.masterWait().toNanos()) {
                holding(req, "no master is elected yet", settings.masterWait());
                admitAgain(req, rest, arrived);
                return true;
            }
            if (master.isEmpty()) {
                rejected("no_master", true);
                log.info("source for {} from {} refused: no master elected", req.path(), socket.remoteAddress());
                reply(socket, "503 Service Unavailable", "Retry-After: 2\r\n", "no master elected yet; retry in a few seconds");
                return false;
            }
            if (heldFor != null) {
                log.info("source for {} from {}: admitted after {} ms held", req.path(), socket.remoteAddress(),
                        (System.nanoTime() - arrived) / 1_000_000);
            }
            Ingest ingest = new Ingest(vertx, client, ingestHost, socket, req, sessionPrefix);
            ingest.admittedAt(snapshot.revision());
            sources.add(ingest);
            ingest.begin(master.get(), rest);
            return false;
        }

        private void admitAgain(RequestHead req, Buffer rest, long arrived) {
            vertx.setTimer(ADMIT_RETRY_MILLIS, t -> admit(req, rest, arrived));
        }

        /** Says once per reason that the encoder is held, not refused. */
        private void holding(RequestHead req, String why, java.time.Duration upTo) {
            if (!why.equals(heldFor)) {
                heldFor = why;
                log.info("source for {} from {}: {}; holding it, unanswered, for up to {} ms", req.path(),
                        socket.remoteAddress(), why, upTo.toMillis());
            }
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
    static void reply(NetSocket socket, String status, String extraHeaders, String message) {
        socket.handler(b -> { }); // drain what the client still sends, so closing does not reset the answer away
        String body = message.isEmpty() ? "" : message + "\n";
        String r = "HTTP/1.0 " + status + "\r\nServer: radiod\r\n" + extraHeaders
                + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + body.length()
                + "\r\nConnection: close\r\n\r\n" + body;
        socket.resume();
        socket.write(Buffer.buffer(r.getBytes(StandardCharsets.ISO_8859_1))).onComplete(v -> socket.close());
    }

    /** An XML answer (Icecast's for metadata updates), closed once written. */
    static void replyXml(NetSocket socket, String status, String xml) {
        socket.handler(b -> { });
        byte[] body = xml.getBytes(StandardCharsets.UTF_8);
        String r = "HTTP/1.0 " + status + "\r\nServer: radiod\r\nContent-Type: text/xml\r\nContent-Length: " + body.length
                + "\r\nConnection: close\r\n\r\n";
        socket.resume();
        socket.write(Buffer.buffer(r.getBytes(StandardCharsets.ISO_8859_1)).appendBytes(body)).onComplete(v -> socket.close());
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

    /**
     * Stops accepting, and closes every piped source: on the front's event loop, which owns the ingests and hubs (this
     * is called from radiod's shutdown thread), waiting up to {@link #CLOSE_WAIT_MS} for it.
     */
    @Override
    public void close() {
        closing = true;
        io.vertx.core.Context ctx = context;
        if (ctx == null || Vertx.currentContext() == ctx) {
            closeOnLoop();
            return;
        }
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        ctx.runOnContext(v -> {
            try {
                closeOnLoop();
                done.complete(null);
            } catch (Throwable e) {
                done.completeExceptionally(e);
                throw e;
            }
        });
        if (io.vertx.core.Context.isOnEventLoopThread()) {
            return; // another event loop (maybe this very thread) must not wait for it
        }
        try {
            done.get(CLOSE_WAIT_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            log.warn("source front: closing on its event loop: {}", e.toString());
        }
    }

    private void closeOnLoop() {
        if (tlsRegistration != null) {
            tlsRegistration.run();
        }
        if (tlsServer != null) {
            tlsServer.close();
        }
        if (checkTimer >= 0) {
            vertx.cancelTimer(checkTimer);
        }
        Set.copyOf(sources).forEach(i -> i.close("radiod is stopping"));
        for (Admission a : Set.copyOf(waiting)) { // unanswered: their next look at the view would close them
            a.socket.close();
        }
        waiting.clear();
        hubs.close();
        if (server != null) {
            server.close();
        }
        client.close();
    }
}
