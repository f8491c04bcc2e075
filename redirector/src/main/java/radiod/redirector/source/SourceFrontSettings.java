package radiod.redirector.source;

/**
 * @param bindHost          listen address
 * @param port              the source port
 * @param nodeAddress       this node's public address, for redirecting listeners who hit the source port
 * @param httpPort          this node's HTTP port
 * @param headTimeoutMillis a client that has not sent its whole request head by then is dropped
 * @param maxHeadBytes      a longer request head is refused
 */
public record SourceFrontSettings(String bindHost, int port, String nodeAddress, int httpPort, long headTimeoutMillis,
                                  int maxHeadBytes) {
    public static SourceFrontSettings of(String bindHost, int port, String nodeAddress, int httpPort) {
        return new SourceFrontSettings(bindHost, port, nodeAddress, httpPort, 10_000, 16 * 1024);
    }
}
