package radiod.redirector.listen;

import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;

/** Small plain-text answers. */
final class Responses {
    private Responses() {
    }

    static void text(HttpServerRequest req, int status, String message) {
        String body = message + "\n";
        req.response().setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8")
                .putHeader("Cache-Control", "no-cache");
        if (req.method() == HttpMethod.HEAD) {
            req.response().putHeader("Content-Length", Integer.toString(body.length())).end();
        } else {
            req.response().end(body);
        }
    }

    static String hostForUrl(String address) {
        return address.contains(":") ? "[" + address + "]" : address;
    }
}
