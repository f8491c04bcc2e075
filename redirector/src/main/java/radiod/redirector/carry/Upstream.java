package radiod.redirector.carry;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;

/**
 * A relayed mount on the master: its stream comes from an external {@code http://} URL instead of an encoder. The
 * master's radiod reads it (as a listener of that server) and takes it into the mount's hub like an encoder's, so
 * every node carries it the same way. Retried every {@link #RETRY_MILLIS} ms while it fails. On the source front's
 * event loop.
 */
final class Upstream {
    private static final Logger log = LoggerFactory.getLogger(Upstream.class);
    static final long RETRY_MILLIS = 2_000;

    private final Vertx vertx;
    private final HttpClient client;
    private final Hub hub;
    final String url;
    private final String self;
    private boolean closed;
    private long timer = -1;
    private HttpClientResponse response;
    private int attempts;

    Upstream(Vertx vertx, HttpClient client, Hub hub, String url, String self) {
        this.vertx = vertx;
        this.client = client;
        this.hub = hub;
        this.url = url;
        this.self = self;
    }

    void start() {
        URI u = URI.create(url);
        String path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost(u.getHost().replace("[", "").replace("]", ""))
                .setPort(u.getPort() > 0 ? u.getPort() : 80)
                .setURI(u.getRawQuery() == null ? path : path + "?" + u.getRawQuery())
                .putHeader("User-Agent", "radiod");
        if (u.getRawUserInfo() != null) {
            String userInfo = URLDecoder.decode(u.getRawUserInfo(), StandardCharsets.UTF_8);
            options.putHeader("Authorization", "Basic " + Base64.getEncoder()
                    .encodeToString(userInfo.getBytes(StandardCharsets.UTF_8)));
        }
        client.request(options).compose(r -> r.send()).onComplete(ar -> {
            if (closed) {
                if (ar.succeeded()) {
                    ar.result().request().connection().close();
                }
                return;
            }
            if (ar.failed() || ar.result().statusCode() != 200) {
                if (attempts++ % 15 == 0) {
                    log.warn("mount {}: its upstream {} {}; retrying every {} s", hub.mount, safe(url),
                            ar.failed() ? "is not reachable (" + ar.cause().getMessage() + ")"
                                    : "answered " + ar.result().statusCode(), RETRY_MILLIS / 1000);
                }
                if (ar.succeeded()) {
                    ar.result().request().connection().close();
                }
                retry();
                return;
            }
            attempts = 0;
            HttpClientResponse r = ar.result();
            response = r;
            Map<String, String> headers = new HashMap<>();
            r.headers().forEach(h -> headers.putIfAbsent(h.getKey().toLowerCase(Locale.ROOT), h.getValue()));
            String lines = StreamHeaders.lines(headers);
            Hub.Session session = hub.attachUpstream(self + "-upstream-" + Long.toString(System.currentTimeMillis(), 36), lines);
            StreamFramer framer = StreamFramer.forContentType(StreamHeaders.contentType(lines));
            long[] offset = {0};
            boolean[] inHeaders = {false};
            long[] headersAt = {0};
            log.info("mount {}: relaying {}", hub.mount, safe(url));
            r.handler(chunk -> {
                for (StreamFramer.Piece p : framer.accept(chunk)) {
                    boolean h = p.kind() == StreamFramer.Kind.HEADERS;
                    if (h && !inHeaders[0]) {
                        headersAt[0] = offset[0];
                    }
                    if (!h && inHeaders[0]) {
                        hub.headers(session, headersAt[0], framer.headers());
                    }
                    inHeaders[0] = h;
                    hub.data(session, offset[0], p.bytes());
                    offset[0] += p.bytes().length();
                }
            });
            r.exceptionHandler(e -> r.request().connection().close());
            r.endHandler(v -> ended(r));
            r.request().connection().closeHandler(v -> ended(r));
        });
    }

    private void ended(HttpClientResponse r) {
        if (response != r) {
            return;
        }
        response = null;
        if (!closed) {
            log.info("mount {}: upstream {} ended; retrying", hub.mount, safe(url));
            retry();
        }
    }

    private void retry() {
        timer = vertx.setTimer(RETRY_MILLIS, t -> {
            timer = -1;
            if (!closed) {
                start();
            }
        });
    }

    void close() {
        closed = true;
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
        HttpClientResponse r = response;
        response = null;
        if (r != null) {
            r.request().connection().close();
        }
    }

    /** The URL without its password, for logs. */
    static String safe(String url) {
        return url.replaceFirst("//[^@/]*@", "//");
    }
}
