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
    /**
     * Cross-origin reads of a listener's answers (a station's web player on its own site, reading the stream with
     * {@code fetch} for its ICY titles): any origin, as Icecast's stock config allows.
     */
    public static final CharSequence ALLOW_ORIGIN = HttpHeaders.createOptimized("Access-Control-Allow-Origin");
    public static final CharSequence ANY_ORIGIN = HttpHeaders.createOptimized("*");
    public static final CharSequence EXPOSE_HEADERS = HttpHeaders.createOptimized("Access-Control-Expose-Headers");
    /** The stream's headers a web player reads: {@code icy-metaint} to find the titles, the station's own. */
    public static final CharSequence STREAM_HEADERS = HttpHeaders.createOptimized(
            "icy-metaint, icy-br, icy-name, icy-description, icy-genre, icy-url, icy-pub, ice-audio-info");
    static final CharSequence ALLOW_METHODS = HttpHeaders.createOptimized("Access-Control-Allow-Methods");
    static final CharSequence ALLOW_HEADERS = HttpHeaders.createOptimized("Access-Control-Allow-Headers");
    static final CharSequence MAX_AGE = HttpHeaders.createOptimized("Access-Control-Max-Age");
    static final CharSequence LISTENER_METHODS = HttpHeaders.createOptimized("GET, HEAD, OPTIONS");
    /** What a web player adds to its request: the ICY titles, a range (some media stacks send one). */
    static final CharSequence LISTENER_HEADERS = HttpHeaders.createOptimized("Icy-MetaData, Range");
    static final CharSequence A_DAY = HttpHeaders.createOptimized("86400");
    public static final CharSequence VIA = HttpHeaders.createOptimized("Via");
    /**
     * A node proxying a player from a peer's {@code /_stream/} says so in {@code Via}: the peer then serves it itself,
     * never sends it on, so a proxied stream never goes round between nodes whose views differ for a moment.
     */
    public static final String PEER_VIA = "1.1 radiod";
    static final CharSequence TEXT = HttpHeaders.createOptimized("text/plain; charset=utf-8");

    private Responses() {
    }

    /** A text answer; a web player may read it (a 503 and its {@code Retry-After}, a 404) as it reads the stream. */
    public static void text(HttpServerRequest req, int status, String message) {
        req.response().setStatusCode(status).putHeader(CONTENT_TYPE, TEXT).putHeader(CACHE_CONTROL, NO_CACHE)
                .putHeader(ALLOW_ORIGIN, ANY_ORIGIN).putHeader(EXPOSE_HEADERS, RETRY_AFTER).end(message + "\n");
    }

    /**
     * The answer to a browser's preflight (an {@code OPTIONS} with {@code Access-Control-Request-Method}) of a
     * listener's URL: a web player may GET it with {@code Icy-MetaData}.
     */
    static void preflight(HttpServerRequest req) {
        req.response().setStatusCode(204).putHeader(ALLOW_ORIGIN, ANY_ORIGIN).putHeader(ALLOW_METHODS, LISTENER_METHODS)
                .putHeader(ALLOW_HEADERS, LISTENER_HEADERS).putHeader(MAX_AGE, A_DAY).putHeader(ALLOW, LISTENER_METHODS)
                .end();
    }

    /** An address as the host part of a URL: IPv6 literals in brackets. */
    static String hostForUrl(String address) {
        return address.indexOf(':') >= 0 && !address.startsWith("[") ? "[" + address + "]" : address;
    }
}
