package radiod.dns.server;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
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
 * Handlers run on event loops and never block; no packet, frame or connection can make one throw.
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
    private DatagramSocket udp;
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
        // No receive buffer size here: Vert.x would also allocate a read buffer of that size for every datagram.
        udp = vertx.createDatagramSocket(new DatagramSocketOptions().setIpV6(settings.bindAddress().contains(":")));
        udp.handler(this::onDatagram);
        udp.exceptionHandler(e -> log.debug("dns: udp socket: {}", e.toString()));
        tcp = vertx.createNetServer(new NetServerOptions().setIdleTimeout(TCP_IDLE_SECONDS).setTcpNoDelay(true));
        tcp.connectHandler(this::onConnection);
        tcp.exceptionHandler(e -> log.debug("dns: tcp: {}", e.toString()));
        String host = settings.bindAddress();
        return udp.listen(settings.port(), host)
                .compose(u -> tcp.listen(u.localAddress().port(), host))
                .map(t -> {
                    port = t.actualPort();
                    log.info("dns: answering for {} on {}:{} (udp, tcp)", settings.zone(), host, port);
                    return (Void) null;
                })
                .onFailure(e -> close());
    }

    /** The bound port (the settings' port, or the one taken when it was 0). */
    public int port() {
        return port;
    }

    private void onDatagram(DatagramPacket packet) {
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
        if (udp != null) {
            udp.close();
        }
        if (tcp != null) {
            tcp.close();
        }
    }
}
