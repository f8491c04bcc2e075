package radiod.redirector.carry;

import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.channel.ChannelException;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.EpollSocketChannelConfig;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * The kernel's watch over the audio's connections between nodes (an ingest and a pull, at both ends): a link that
 * hears nothing from the other end for about {@link #DEAD_AFTER_MILLIS} is given up, so that its ends dial again or
 * move on.
 *
 * <p>Without it, a path cut between two nodes with no reset (a partial partition: both still reach etcd, so nothing
 * is elected) left each end waiting for TCP's own give-up, about 15 minutes: an ingest kept its encoder while the
 * master heard nothing, and a pull, which sends nothing and so never noticed, did not dial again when the path came
 * back. Now data unacknowledged for the limit ({@code TCP_USER_TIMEOUT}) ends a sending end, and keep-alive probes
 * from {@link #IDLE_SECONDS} of silence on, unanswered until the limit, end a waiting one (with a user timeout set,
 * Linux ends the link at the limit whatever the probe count). A shorter loss passes; a longer one costs a redial,
 * which resumes where it stopped (ingests replay their buffer, pulls resume at their offset).
 *
 * <p>Set per connection, once it is known to be a link between nodes: the source port's encoders keep the system's
 * defaults (an encoder's uplink that stalls for some seconds is waited for, up to the ingest's own idle limit).
 * Vert.x 4.5 would set the keep-alive timing on servers' sockets only, and for all of a server's connections. Needs
 * the native transport (epoll), which radiod uses on Linux; without it the links keep the system's defaults, said
 * once at WARN.
 */
public final class PeerLinks {
    private static final Logger log = LoggerFactory.getLogger(PeerLinks.class);
    /** How long a link may go without hearing from the other end while it has data or probes out. */
    public static final int DEAD_AFTER_MILLIS = 5_000;
    static final int IDLE_SECONDS = 2;
    static final int PROBE_EVERY_SECONDS = 1;
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private PeerLinks() {
    }

    /** Watches a link between nodes: {@code socket} is an ingest's or a pull's connection, at either end. */
    public static void watch(NetSocket socket) {
        if (!(socket instanceof ConnectionBase c) || !(c.channel() instanceof EpollSocketChannel ch)) {
            if (WARNED.compareAndSet(false, true)) {
                log.warn("links between nodes keep the system's TCP timeouts (no native transport): a path cut between"
                        + " this node and the master is noticed only when TCP gives up, after minutes");
            }
            return;
        }
        try {
            EpollSocketChannelConfig config = ch.config();
            config.setKeepAlive(true);
            config.setTcpKeepIdle(IDLE_SECONDS);
            config.setTcpKeepIntvl(PROBE_EVERY_SECONDS);
            config.setTcpUserTimeout(DEAD_AFTER_MILLIS);
        } catch (ChannelException e) {
            // closed meanwhile: its close handler takes it from here
            log.debug("watching a link to {}: {}", socket.remoteAddress(), e.toString());
        }
    }
}
