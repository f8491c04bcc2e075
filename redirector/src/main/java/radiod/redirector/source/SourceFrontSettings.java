package radiod.redirector.source;

import java.time.Duration;
import java.util.Objects;

/**
 * @param bindHost     listen address
 * @param port         the source port (0 picks a free one, see {@link SourceFront#port()})
 * @param nodeAddress  this node's public address, for redirecting listeners who hit the source port
 * @param httpPort     this node's HTTP port
 * @param headTimeout  a client that has not sent its whole request head by then is dropped
 * @param maxHeadBytes a longer request head is refused
 * @param masterWait   how long a new encoder is held, unanswered, while no master is elected (a node just started,
 *                     or the cluster electing after its master went) before it is refused with 503
 * @param fencedWait   how long a new encoder is held while this node has no valid lease (it is starting, or etcd
 *                     is slow) before it is refused with 503, so that it goes to another node
 */
public record SourceFrontSettings(String bindHost, int port, String nodeAddress, int httpPort, Duration headTimeout,
                                  int maxHeadBytes, Duration masterWait, Duration fencedWait) {
    public static final Duration DEFAULT_HEAD_TIMEOUT = Duration.ofSeconds(10);
    public static final int DEFAULT_MAX_HEAD_BYTES = 16 * 1024;
    /** As long as a held encoder is kept with no master taking its stream. */
    public static final Duration DEFAULT_MASTER_WAIT = Duration.ofNanos(Ingest.HOLD_NANOS);
    /** As long as a held encoder is kept while this node is fenced. */
    public static final Duration DEFAULT_FENCED_WAIT = Duration.ofNanos(Ingest.FENCED_GRACE_NANOS);

    public SourceFrontSettings {
        Objects.requireNonNull(bindHost, "bindHost");
        if (nodeAddress == null || nodeAddress.isBlank()) {
            throw new IllegalArgumentException("nodeAddress must be this node's public address, got '" + nodeAddress + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("source port must be between 0 and 65535, got " + port);
        }
        if (httpPort < 1 || httpPort > 65535) {
            throw new IllegalArgumentException("httpPort must be between 1 and 65535, got " + httpPort);
        }
        if (headTimeout == null || headTimeout.toMillis() < 1 || headTimeout.compareTo(Duration.ofMinutes(5)) > 0) {
            throw new IllegalArgumentException("headTimeout must be between 1 ms and 5 minutes, got " + headTimeout);
        }
        if (maxHeadBytes < 256 || maxHeadBytes > 1024 * 1024) {
            throw new IllegalArgumentException("maxHeadBytes must be between 256 and 1048576, got " + maxHeadBytes);
        }
        for (Duration wait : new Duration[] {masterWait, fencedWait}) {
            if (wait == null || wait.isNegative() || wait.compareTo(Duration.ofMinutes(1)) > 0) {
                throw new IllegalArgumentException("masterWait and fencedWait must be between 0 and 1 minute, got "
                        + masterWait + " and " + fencedWait);
            }
        }
    }

    /** The defaults: a 10 s head timeout, 16 KiB heads, new encoders held 10 s for a master and 2 s for a lease. */
    public static SourceFrontSettings of(String bindHost, int port, String nodeAddress, int httpPort) {
        return new SourceFrontSettings(bindHost, port, nodeAddress, httpPort, DEFAULT_HEAD_TIMEOUT, DEFAULT_MAX_HEAD_BYTES,
                DEFAULT_MASTER_WAIT, DEFAULT_FENCED_WAIT);
    }
}
