package radiod.redirector.stream;

import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

/**
 * Streams a mount from an Icecast to a listener with back-pressure: when the listener's socket cannot take
 * more, the upstream connection is paused, so a slow listener costs at most one write queue of memory.
 * HTTP/1.0 listeners get a close-delimited body, HTTP/1.1 listeners a chunked one; ICY metadata passes
 * through untouched; the listener's address goes to Icecast as X-Forwarded-For. Either side closing closes
 * the other.
 */
public final class Passthrough {
    private static final Logger log = LoggerFactory.getLogger(Passthrough.class);
    /** Per listener: enough for a few seconds of a 128 kbit/s stream, bounded whatever the listener does. */
    static final int WRITE_QUEUE_BYTES = 64 * 1024;
    private static final Set<String> FORWARDED = Set.of("icy-metadata", "user-agent", "range", "accept", "referer",
            "accept-encoding");
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "transfer-encoding",
            "content-length", "proxy-authenticate", "upgrade", "te", "trailer");

    private final HttpClient client;
    private final AtomicInteger active = new AtomicInteger();
    private final Counter bytes;

    public Passthrough(Vertx vertx, MeterRegistry registry, int maxStreams) {
        this.client = vertx.createHttpClient(new HttpClientOptions()
                        .setKeepAlive(false)
                        .setConnectTimeout(2000)
                        .setTcpNoDelay(true),
                new PoolOptions().setHttp1MaxSize(maxStreams).setMaxWaitQueueSize(maxStreams));
        Gauge.builder("radiod.passthrough.streams", active, AtomicInteger::get)
                .description("listener streams being proxied").register(registry);
        this.bytes = Counter.builder("radiod.bytes.proxied").tag("direction", "listener")
                .description("stream bytes sent to listeners through this node").baseUnit("bytes").register(registry);
    }

    public int active() {
        return active.get();
    }

    /**
     * Proxies {@code req} to {@code http://host:port<mountPath>} (query string kept).
     */
    public void serve(HttpServerRequest req, String mountPath, String host, int port) {
        HttpServerResponse resp = req.response();
        boolean head = req.method() == HttpMethod.HEAD;
        String uri = mountPath + (req.query() == null ? "" : "?" + req.query());
        RequestOptions options = new RequestOptions().setHost(host).setPort(port).setURI(uri).setMethod(HttpMethod.GET)
                .setTimeout(0).setIdleTimeout(0);
        MultiMap in = req.headers();
        for (String name : in.names()) {
            if (FORWARDED.contains(name.toLowerCase(Locale.ROOT))) {
                options.putHeader(name, in.get(name));
            }
        }
        String listener = req.remoteAddress() == null ? null : req.remoteAddress().hostAddress();
        if (listener != null) {
            String prior = in.get("X-Forwarded-For");
            options.putHeader("X-Forwarded-For", prior == null ? listener : prior + ", " + listener);
        }
        req.pause();
        client.request(options).compose(up -> up.send()).onComplete(ar -> {
            if (ar.failed()) {
                if (!resp.ended() && !resp.closed()) {
                    resp.setStatusCode(502).putHeader("Content-Type", "text/plain").end("stream unavailable on this node\n");
                }
                return;
            }
            HttpClientResponse upstream = ar.result();
            if (resp.closed()) {
                upstream.request().reset();
                return;
            }
            resp.setStatusCode(upstream.statusCode());
            resp.setStatusMessage(upstream.statusMessage());
            for (String name : upstream.headers().names()) {
                if (!HOP_BY_HOP.contains(name.toLowerCase(Locale.ROOT))) {
                    resp.putHeader(name, upstream.headers().getAll(name));
                }
            }
            if (head || upstream.statusCode() != 200) {
                String len = upstream.getHeader("Content-Length");
                if (head || len == null) {
                    upstream.request().reset();
                    resp.end();
                } else {
                    upstream.body().onSuccess(resp::end).onFailure(e -> resp.reset());
                }
                return;
            }
            if (req.version() != HttpVersion.HTTP_1_0) {
                resp.setChunked(true);
            } else {
                resp.putHeader("Connection", "close");
            }
            resp.setWriteQueueMaxSize(WRITE_QUEUE_BYTES);
            active.incrementAndGet();
            boolean[] done = {false};
            Runnable finish = () -> {
                if (!done[0]) {
                    done[0] = true;
                    active.decrementAndGet();
                }
            };
            resp.closeHandler(v -> {
                finish.run();
                upstream.request().connection().close();
            });
            upstream.exceptionHandler(e -> {
                finish.run();
                resp.reset();
            });
            upstream.handler(chunk -> {
                bytes.increment(chunk.length());
                resp.write(chunk);
                if (resp.writeQueueFull()) {
                    upstream.pause();
                    resp.drainHandler(v -> upstream.resume());
                }
            });
            upstream.endHandler(v -> {
                finish.run();
                if (!resp.ended()) {
                    resp.end();
                }
                if (req.version() == HttpVersion.HTTP_1_0) {
                    req.connection().close();
                }
            });
        });
    }

    public void close() {
        client.close();
    }

    static void debug(String m, Object... a) {
        log.debug(m, a);
    }
}
