package radiod.redirector.listen;

import io.vertx.core.http.HttpServerRequest;

/**
 * Streams a mount from an Icecast to the listener who sent {@code req} (GET or HEAD), and answers the request.
 * Bound to {@code radiod.redirector.stream.Passthrough::serve} in a node, to a fake in tests.
 */
@FunctionalInterface
public interface StreamServer {
    void serve(HttpServerRequest req, String mountPath, String upstreamHost, int upstreamPort);
}
