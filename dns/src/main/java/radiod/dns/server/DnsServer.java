package radiod.dns.server;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Gauge;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.InternetProtocolFamily;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.util.ReferenceCountUtil;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.impl.ContextInternal;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
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
    /**
     * The largest UDP query read whole (Netty's default for datagrams too); longer ones are cut there and get
     * FORMERR. Real queries are a few hundred bytes at most.
     */
    static final int MAX_QUERY = 2048;
    /** Queries read by one recvmmsg, and answers written before a flush (one sendmmsg) at the latest. */
    static final int UDP_BATCH = 16;
    /**
     * SO_RCVBUF asked for each UDP socket: room for thousands of queries, so that a pause of the event loop (a
     * collection, a compilation) does not overflow it and lose them (the kernel's default of 208 KiB holds a few
     * hundred). The kernel caps it at net.core.rmem_max.
     */
    static final int UDP_RECEIVE_BUFFER = 4 << 20;
    /** Whether the warning that the kernel capped the receive buffer was logged (once per process). */
    private static final java.util.concurrent.atomic.AtomicBoolean CAPPED_WARNED = new java.util.concurrent.atomic.AtomicBoolean();

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

    /**
     * One UDP socket; a verticle so that each gets an event loop of its own. A Netty channel on that event loop
     * rather than Vert.x's {@code DatagramSocket}: the answer goes back to the sender's address as received (Vert.x
     * would take it as a host string and resolve it again for every packet), answers are written as they are made
     * and flushed once per read batch (one sendmmsg for many), and with epoll one recvmmsg reads up to
     * {@link #UDP_BATCH} queries.
     */
    private final class UdpSocket extends AbstractVerticle {
        private final int wanted;
        private final boolean reusePort;
        private volatile int port;
        private Channel channel;

        UdpSocket(int wanted, boolean reusePort) {
            this.wanted = wanted;
            this.reusePort = reusePort;
        }

        @Override
        public void start(Promise<Void> started) {
            EventLoop loop = ((ContextInternal) context).nettyEventLoop();
            InternetProtocolFamily family = settings.bindAddress().contains(":")
                    ? InternetProtocolFamily.IPv6 : InternetProtocolFamily.IPv4;
            Bootstrap b = new Bootstrap().group(loop)
                    .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                    .option(ChannelOption.SO_RCVBUF, UDP_RECEIVE_BUFFER)
                    .handler(new UdpHandler());
            if (loop.parent() instanceof EpollEventLoopGroup) {
                b.channelFactory(() -> new EpollDatagramChannel(family))
                        .option(EpollChannelOption.SO_REUSEPORT, reusePort)
                        // a read buffer of UDP_BATCH slots, one datagram each: recvmmsg
                        .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, MAX_QUERY)
                        .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_QUERY * UDP_BATCH));
            } else {
                b.channelFactory(() -> new NioDatagramChannel(family))
                        .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_QUERY));
            }
            b.bind(new InetSocketAddress(settings.bindAddress(), wanted)).addListener((ChannelFuture f) -> {
                if (f.isSuccess()) {
                    channel = f.channel();
                    port = ((InetSocketAddress) channel.localAddress()).getPort();
                    int buffer = channel.config().getOption(ChannelOption.SO_RCVBUF);
                    log.debug("dns: udp socket on port {}, receive buffer {} bytes", port, buffer);
                    // Linux reports twice what it grants; a cap below what was asked loses queries in bursts.
                    if (buffer < UDP_RECEIVE_BUFFER && CAPPED_WARNED.compareAndSet(false, true)) {
                        log.warn("dns: the kernel gives the UDP socket {} KiB of receive buffer, not the {} KiB asked: "
                                + "a burst of queries can overflow it and be lost; set net.core.rmem_max = {} "
                                + "(the package's /usr/lib/sysctl.d/30-radiod.conf does)", buffer / 1024,
                                UDP_RECEIVE_BUFFER / 1024, UDP_RECEIVE_BUFFER);
                    }
                    started.complete();
                } else {
                    started.fail(f.cause());
                }
            });
        }

        @Override
        public void stop(Promise<Void> stopped) {
            if (channel == null) {
                stopped.complete();
                return;
            }
            channel.close().addListener(f -> stopped.complete());
        }
    }

    /** Answers a UDP socket's queries; one per socket, so on one thread: its buffer and tally need no locks. */
    private final class UdpHandler extends ChannelInboundHandlerAdapter {
        private final byte[] query = new byte[MAX_QUERY];
        private final DnsMetrics.Tally tally = metrics.tally();
        private int unflushed;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof DatagramPacket packet)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            try {
                ByteBuf in = packet.content();
                int length = Math.min(in.readableBytes(), query.length);
                in.getBytes(in.readerIndex(), query, 0, length);
                ByteBuf out = respond(ctx, length);
                if (out != null) {
                    ctx.write(new DatagramPacket(out, packet.sender()), ctx.voidPromise());
                    if (++unflushed >= UDP_BATCH) {
                        flush(ctx);
                    }
                }
            } catch (RuntimeException e) {
                failed(e);
            } finally {
                packet.release();
            }
        }

        /** The answer to {@code query[0, length)} in a new buffer, counted; null when nothing is to be sent. */
        private ByteBuf respond(ChannelHandlerContext ctx, int length) {
            ZoneAnswerer.Response r;
            try {
                r = answerer.respond(query, length, view.get(), ZoneAnswerer.EDNS_UDP_SIZE, Transport.UDP);
            } catch (RuntimeException e) {
                failed(e);
                tally.error();
                Answer a = answerer.serverFailure(query, length);
                if (a == null) {
                    tally.dropped();
                    return null;
                }
                tally.count(a.qtype(), a.rcode(), a.truncated());
                return ctx.alloc().directBuffer(a.wire().length).writeBytes(a.wire());
            }
            if (r == null) {
                tally.dropped();
                return null;
            }
            tally.count(r.qtype(), r.rcode(), r.truncated());
            return ctx.alloc().directBuffer(r.length()).writeBytes(r.wire(), 0, r.length());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            flush(ctx);
            tally.flush();
        }

        private void flush(ChannelHandlerContext ctx) {
            unflushed = 0;
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable e) {
            log.debug("dns: udp socket: {}", e.toString());
        }
    }

    /** The bound port (the settings' port, or the one taken when it was 0). */
    public int port() {
        return port;
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
