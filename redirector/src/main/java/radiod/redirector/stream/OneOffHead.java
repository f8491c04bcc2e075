package radiod.redirector.stream;

import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.RequestOptions;

/**
 * A HEAD of a mount that has no reader on the request's event loop: the local Icecast is asked once for the
 * stream's headers, and the connection closed as soon as they come. Not a listener.
 */
final class OneOffHead {
    private OneOffHead() {
    }

    static void answer(Passthrough owner, HttpServerRequest req, String mountPath) {
        ListenerStream l = new ListenerStream(req);
        owner.localRequest(new RequestOptions().setMethod(HttpMethod.GET).setURI(mountPath)
                        .putHeader("Icy-MetaData", "1").putHeader("User-Agent", Passthrough.USER_AGENT))
                .compose(HttpClientRequest::send)
                .onComplete(ar -> {
                    HttpClientResponse up = ar.succeeded() ? ar.result() : null;
                    if (up != null) {
                        up.request().connection().close();
                    }
                    if (req.response().closed() || req.response().ended()) {
                        return;
                    }
                    if (up != null && up.statusCode() == 200) {
                        ListenerStream.head(req, owner.listenerHeaders(up.headers()), MountReader.metaint(up) > 0 ? owner.metaint(mountPath) : 0,
                                l.wantsMetadata());
                    } else {
                        owner.refuse(l, mountPath, up == null ? -1 : up.statusCode(), ar.cause());
                    }
                });
    }
}
