package radiod.redirector.listen;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;

/**
 * Small plain-text answers (Vert.x leaves the body out of a HEAD response and keeps its length), and the header
 * names the front writes, in their usual capitalisation: HTTP says names are case-insensitive, but the simple HTTP
 * stacks of some players and hardware radios look for {@code Location} exactly as nginx and Icecast send it.
 */
public final class Responses {
    public static final CharSequence LOCATION = HttpHeaders.createOptimized("Location");
    public static final CharSequence CONTENT_TYPE = HttpHeaders.createOptimized("Content-Type");
    public static final CharSequence CONTENT_LENGTH = HttpHeaders.createOptimized("Content-Length");
    public static final CharSequence CACHE_CONTROL = HttpHeaders.createOptimized("Cache-Control");
    public static final CharSequence RETRY_AFTER = HttpHeaders.createOptimized("Retry-After");
    public static final CharSequence ALLOW = HttpHeaders.createOptimized("Allow");
    public static final CharSequence NO_CACHE = HttpHeaders.createOptimized("no-cache");
    static final CharSequence TEXT = HttpHeaders.createOptimized("text/plain; charset=utf-8");

    private Responses() {
    }

    public static void text(HttpServerRequest req, int status, String message) {
        req.response().setStatusCode(status).putHeader(CONTENT_TYPE, TEXT)
                .putHeader(CACHE_CONTROL, NO_CACHE).end(message + "\n");
    }

    /** An address as the host part of a URL: IPv6 literals in brackets. */
    static String hostForUrl(String address) {
        return address.indexOf(':') >= 0 && !address.startsWith("[") ? "[" + address + "]" : address;
    }
}
