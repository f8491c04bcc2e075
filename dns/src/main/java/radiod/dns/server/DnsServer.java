package radiod.dns.server;

import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramSocket;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import radiod.cluster.view.ClusterSnapshot;
import radiod.dns.zone.DnsSettings;
import radiod.dns.zone.ZoneAnswerer;

/**
 * The authoritative DNS server of a node: UDP and TCP (length-prefixed) on Vert.x sockets, answering from the
 * cluster snapshot through {@link ZoneAnswerer}. No input can make it throw out of a handler.
 */
public final class DnsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DnsServer.class);
    private static final int TCP_IDLE_SECONDS = 10;
    private static final int TCP_MAX_PENDING = 2 + 65535;

    private final Vertx vertx;
    private final String host;
    private final int port;
    private final ZoneAnswerer answerer;
    private final DnsMetrics metrics;
    private DatagramSocket udp;
    private NetServer tcp;

    public DnsServer(Vertx vertx, String host, int port, DnsSettings settings, Supplier<ClusterSnapshot> view,
                     MeterRegistry registry) {
        this.vertx = vertx;
        this.host = host;
        this.port = port;
        this.answerer = new ZoneAnswerer(settings, view);
        this.metrics = new DnsMetrics(registry);
    }

    public Future<Void> start() {
        udp = vertx.createDatagramSocket(new DatagramSocketOptions().setReceiveBufferSize(1 << 20).setSendBufferSize(1 << 20));
        udp.handler(packet -> {
            try {
                ZoneAnswerer.Answer a = answerer.answer(packet.data().getBytes(), ZoneAnswerer.Transport.UDP);
                if (a == null) {
                    metrics.dropped();
                    return;
                }
                metrics.count(a, ZoneAnswerer.Transport.UDP);
                udp.send(Buffer.buffer(a.wire()), packet.sender().port(), packet.sender().host());
            } catch (RuntimeException e) {
                log.warn("dns: unexpected failure on a UDP query: {}", e.toString());
            }
        });
        udp.exceptionHandler(e -> log.debug("dns udp: {}", e.toString()));
        tcp = vertx.createNetServer(new NetServerOptions().setIdleTimeout(TCP_IDLE_SECONDS).setTcpNoDelay(true));
        tcp.connectHandler(this::tcpConnection);
        Future<DatagramSocket> u = udp.listen(port, host);
        Future<NetServer> t = tcp.listen(port, host);
        return Future.all(u, t).<Void>mapEmpty()
                .onSuccess(v -> log.info("dns: answering for {} on {}:{} (udp, tcp)", answerer.zone(), host, port));
    }

    private void tcpConnection(NetSocket socket) {
        Buffer[] pending = {Buffer.buffer()};
        socket.exceptionHandler(e -> socket.close());
        socket.handler(chunk -> {
            try {
                Buffer buf = pending[0].appendBuffer(chunk);
                if (buf.length() > TCP_MAX_PENDING + 2) {
                    socket.close();
                    return;
                }
                int pos = 0;
                while (buf.length() - pos >= 2) {
                    int len = buf.getUnsignedShort(pos);
                    if (buf.length() - pos - 2 < len) {
                        break;
                    }
                    byte[] query = buf.getBytes(pos + 2, pos + 2 + len);
                    pos += 2 + len;
                    ZoneAnswerer.Answer a = answerer.answer(query, ZoneAnswerer.Transport.TCP);
                    if (a == null) {
                        metrics.dropped();
                        continue;
                    }
                    metrics.count(a, ZoneAnswerer.Transport.TCP);
                    Buffer out = Buffer.buffer(2 + a.wire().length).appendUnsignedShort(a.wire().length).appendBytes(a.wire());
                    socket.write(out);
                    if (socket.writeQueueFull()) {
                        socket.pause();
                        socket.drainHandler(v -> socket.resume());
                    }
                }
                pending[0] = pos == 0 ? buf : buf.getBuffer(pos, buf.length());
            } catch (RuntimeException e) {
                log.warn("dns: unexpected failure on a TCP query: {}", e.toString());
                socket.close();
            }
        });
    }

    public int port() {
        return port;
    }

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
