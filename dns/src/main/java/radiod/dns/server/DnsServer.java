package radiod.dns.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramPacket;
import io.vertx.core.datagram.DatagramSocket;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import radiod.cluster.view.ClusterSnapshot;
import radiod.dns.zone.DnsSettings;
import radiod.dns.zone.ZoneAnswerer;
import radiod.dns.zone.ZoneAnswerer.Answer;
import radiod.dns.zone.ZoneAnswerer.Transport;

/**
 * A node's authoritative DNS server: UDP and TCP (RFC 7766: 2-byte length prefix, several queries per
 * connection) on Vert.x sockets, answering from the current cluster snapshot through {@link ZoneAnswerer}.
 * Handlers run on event loops and never block; no packet, frame or connection can make one throw. With Linux's epoll
 * transport, UDP is served by one socket per core on the same port (SO_REUSEPORT: the kernel spreads the queries),
 * each on its own event loop.
 */
public final class DnsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DnsServer.class);
    /** RFC 7766 suggests seconds, not minutes, for idle connections. */
    static final int TCP_IDLE_SECONDS = 10;
    static final int TCP_MAX_CONNECTIONS = 512;

    private final Vertx vertx;
    private final DnsSettings settings;
    private final Supplier<ClusterSnapshot> view;
    private final ZoneAnswerer answerer;
    private final DnsMetrics metrics;
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicLong failures = new AtomicLong();
    private final List<String> udpDeployments = new ArrayList<>();
    private NetServer tcp;
    private volatile int port;

    /**
     * A server for {@code settings}, answering from {@code view} (read on every query: a volatile read, no
     * locks, never a call to etcd).
     */
    public DnsServer(Vertx vertx, DnsSettings settings, Supplier<ClusterSnapshot> view, MeterRegistry registry) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.view = Objects.requireNonNull(view, "view");
        this.answerer = new ZoneAnswerer(settings);
        this.metrics = new DnsMetrics(registry);
        this.port = settings.port();
        Gauge.builder("radiod.dns.tcp.connections", connections, AtomicInteger::get)
                .description("open DNS-over-TCP connections").register(registry);
    }

    /** Binds UDP then TCP on the settings' address and port; fails if either cannot be bound. */
    public Future<Void> start() {
        boolean reusePort = vertx.isNativeTransportEnabled();
        int sockets = reusePort ? Math.max(1, Runtime.getRuntime().availableProcessors()) : 1;
        tcp = vertx.createNetServer(new NetServerOptions().setIdleTimeout(TCP_IDLE_SECONDS).setTcpNoDelay(true));
        tcp.connectHandler(this::onConnection);
        tcp.exceptionHandler(e -> log.debug("dns: tcp: {}", e.toString()));
        String host = settings.bindAddress();
        // The first socket takes the port (the settings' or, for 0, any); the others join it.
        return deployUdp(settings.port(), reusePort)
                .compose(first -> {
                    List<Future<Integer>> more = new ArrayList<>();
                    for (int i = 1; i < sockets; i++) {
                        more.add(deployUdp(first, true));
                    }
                    return Future.all(more).map(first);
                })
                .compose(p -> tcp.listen(p, host))
                .map(t -> {
                    port = t.actualPort();
                    log.info("dns: answering for {} on {}:{} (udp on {} socket(s), tcp)", settings.zone(), host, port, sockets);
                    return (Void) null;
                })
                .onFailure(e -> close());
    }

    /** Deploys one UDP socket on an event loop of its own; its port. */
    private Future<Integer> deployUdp(int udpPort, boolean reusePort) {
        UdpSocket socket = new UdpSocket(udpPort, reusePort);
        return vertx.deployVerticle(socket, new DeploymentOptions()).map(id -> {
            synchronized (udpDeployments) {
                udpDeployments.add(id);
            }
            return socket.port;
        });
    }

    /** One UDP socket; a verticle so that each gets an event loop of its own. */
    private final class UdpSocket extends AbstractVerticle {
        private final int wanted;
        private final boolean reusePort;
        private volatile int port;
        private DatagramSocket udp;

        UdpSocket(int wanted, boolean reusePort) {
            this.wanted = wanted;
            this.reusePort = reusePort;
        }

        @Override
        public void start(Promise<Void> started) {
            // No receive buffer size here: Vert.x would also allocate a read buffer of that size for every datagram.
            udp = vertx.createDatagramSocket(new DatagramSocketOptions()
                    .setIpV6(settings.bindAddress().contains(":")).setReusePort(reusePort));
            DatagramSocket socket = udp;
            udp.handler(packet -> onDatagram(socket, packet));
            udp.exceptionHandler(e -> log.debug("dns: udp socket: {}", e.toString()));
            udp.listen(wanted, settings.bindAddress()).onSuccess(u -> port = u.localAddress().port()).<Void>mapEmpty()
                    .onComplete(started);
        }

        @Override
        public void stop(Promise<Void> stopped) {
            udp.close().onComplete(stopped);
        }
    }

    /** The bound port (the settings' port, or the one taken when it was 0). */
    public int port() {
        return port;
    }

    private void onDatagram(DatagramSocket udp, DatagramPacket packet) {
        try {
            byte[] query = packet.data().getBytes();
            Answer a = answer(query, Transport.UDP);
            if (a != null) {
                SocketAddress sender = packet.sender();
                udp.send(Buffer.buffer(a.wire()), sender.port(), sender.host());
            }
        } catch (RuntimeException e) {
            failed(e);
        }
    }

    /** The answer, counted; a SERVFAIL if answering failed; null when nothing is to be sent. */
    private Answer answer(byte[] query, Transport transport) {
        Answer a;
        try {
            a = answerer.answer(query, query.length, view.get(), ZoneAnswerer.EDNS_UDP_SIZE, transport);
        } catch (RuntimeException e) {
            failed(e);
            metrics.error();
            a = answerer.serverFailure(query, query.length);
        }
        if (a == null) {
            metrics.dropped();
        } else {
            metrics.count(a, transport);
        }
        return a;
    }

    private void failed(RuntimeException e) {
        long n = failures.incrementAndGet();
        if (n <= 10 || Long.bitCount(n) == 1) {
            log.warn("dns: failure #{} while answering: {}", n, e.toString(), e);
        }
    }

    private void onConnection(NetSocket socket) {
        if (connections.incrementAndGet() > TCP_MAX_CONNECTIONS) {
            connections.decrementAndGet();
            socket.close();
            return;
        }
        socket.closeHandler(v -> connections.decrementAndGet());
        socket.exceptionHandler(e -> socket.close());
        new TcpFrames(socket, query -> answer(query, Transport.TCP)).start();
    }

    /** Stops answering at once; safe to call more than once. */
    @Override
    public void close() {
        List<String> ids;
        synchronized (udpDeployments) {
            ids = new ArrayList<>(udpDeployments);
            udpDeployments.clear();
        }
        for (String id : ids) {
            vertx.undeploy(id); // closes its socket
        }
        if (tcp != null) {
            tcp.close();
        }
    }
}
