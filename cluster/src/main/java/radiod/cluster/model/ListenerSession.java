package radiod.cluster.model;

/**
 * One listener connected to a node right now, as the node's {@code /_admin/listeners} reports it (personal data:
 * only ever shown to holders of the admin token).
 *
 * @param node        the node streaming to it
 * @param mount       the mount it listens to
 * @param address     the listener's address: the TCP peer, or the client named in {@code X-Forwarded-For} when the
 *                    peer is a trusted proxy or another node of the cluster
 * @param userAgent   its {@code User-Agent}, or null
 * @param referer     its {@code Referer}, or null
 * @param connectedAt when its request came, epoch milliseconds
 * @param bytes       stream bytes sent to it so far (updated once per batch)
 */
public record ListenerSession(String node, String mount, String address, String userAgent, String referer,
                              long connectedAt, long bytes) {
}
