package radiod.redirector.carry;

import io.netty.channel.epoll.EpollSocketChannel;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * The kernel's watch over the audio's connections between nodes (an ingest and a pull to the master's hub): a link
 * that carries nothing back for {@link #DEAD_AFTER_MILLIS} is given up, so that both ends dial again or move on.
 *
 * <p>Without it, a path cut between two nodes with no reset (a partial partition: both still reach etcd, so nothing
 * moves) left each end waiting for TCP's own give-up, about 15 minutes: an ingest kept its encoder while the master
 * heard nothing, a pull waiting for data it would never get (it sends none, so it never noticed) never dialed again
 * when the path came back, and the master's hub kept the cut ingest as the mount's holder, refusing the encoder's
 * next node with {@code 403}. Now unacknowledged data older than the limit ({@code TCP_USER_TIMEOUT}) ends a
 * sending end, and keep-alive probes after {@link #IDLE_SECONDS} of silence, unanswered until the limit, end a
 * waiting one. A shorter loss passes; a longer one costs a redial, which resumes where it stopped (ingests replay
 * their buffer, pulls resume at their offset). Applies with the native transport (epoll), which radiod uses.
 *
 * <p>A client's connection needs {@link #watch(NetSocket)} once connected: Vert.x 4.5 sets the keep-alive timing
 * on the sockets of servers only, and a client's probes would otherwise start after the system's two hours.
 */
public final class PeerLinks {
    /** How long a link may go without an acknowledgement while it has data or probes out. */
    public static final int DEAD_AFTER_MILLIS = 5_000;
    static final int IDLE_SECONDS = 2;
    static final int PROBE_EVERY_SECONDS = 1;
    static final int PROBES = 3;

    private PeerLinks() {
    }

    /** A client's options: keep-alive on, and the limit; its connections then need {@link #watch(NetSocket)}. */
    public static NetClientOptions watched(NetClientOptions options) {
        options.setTcpKeepAlive(true).setTcpUserTimeout(DEAD_AFTER_MILLIS);
        return options;
    }

    /** On a connection made with {@link #watched(NetClientOptions)}: the keep-alive timing. */
    public static void watch(NetSocket socket) {
        if (socket instanceof ConnectionBase c && c.channel() instanceof EpollSocketChannel ch) {
            ch.config().setTcpKeepIdle(IDLE_SECONDS).setTcpKeepIntvl(PROBE_EVERY_SECONDS).setTcpKeepCnt(PROBES);
        }
    }

    public static NetServerOptions watched(NetServerOptions options) {
        options.setTcpKeepAlive(true).setTcpKeepAliveIdleSeconds(IDLE_SECONDS)
                .setTcpKeepAliveIntervalSeconds(PROBE_EVERY_SECONDS).setTcpKeepAliveCount(PROBES)
                .setTcpUserTimeout(DEAD_AFTER_MILLIS);
        return options;
    }
}
