package radiod.redirector.listen;

import io.vertx.core.Context;
import io.vertx.core.http.HttpServerRequest;

/**
 * Streams a mount to the listener who sent {@code req} (GET or HEAD), and answers the request. Implemented by
 * {@code radiod.redirector.stream.Passthrough} in a node, by a fake in tests. Call it on the request's event loop,
 * before the request has been read further.
 */
public interface StreamServer {
    /** A listener of this node: the mount from this node's own Icecast, counted as this node's listener. */
    void serve(HttpServerRequest req, String mountPath);

    /**
     * A listener of another node whose player does not follow redirects: that node's {@code /_stream<mountPath>}
     * at {@code host:httpPort} (which counts the listener there), relayed as it comes; not a listener of this node.
     */
    void proxy(HttpServerRequest req, String mountPath, String host, int httpPort);

    /** The front serves requests on this event loop from now on; told once per server, on that loop. */
    default void servesOn(Context loop) {
    }
}
