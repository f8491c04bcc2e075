package radiod.redirector.listen;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/**
 * The listener rush's hot path: a plain {@code GET} of a known mount by a player that follows redirects, answered with
 * its 302 inside the connection's Netty pipeline, before Vert.x makes a request object, a header map and a response
 * of it. The answer is the one {@link ListenerRoutes#listen} gives (same pipeline decision, same counters, same bytes);
 * keep-alive or not ({@code Connection: close}, as ffmpeg and mpv ask, closes the connection once the answer is out),
 * HTTP/1.1 or 1.0. Everything else goes on to Vert.x untouched: other paths, {@code HEAD}, a body, {@code Expect}, a
 * player that gets the stream proxied, no node free (the 503), and any request that arrives while Vert.x still owes
 * an earlier response on the connection (pipelined answers stay in order).
 *
 * <p>Measured (bench/RESULTS.md, "Lean redirects"): the Vert.x path cost radiod 6.1 µs of user CPU per redirect
 * against nginx's 2.8 µs; system time per request was the same.
 *
 * <p>One instance per port; {@link #install} adds a handler to each new connection, in front of Vert.x's. It reads
 * Vert.x's internal pipeline names ({@code httpEncoder}, {@code handler}); where they are missing (another Vert.x),
 * nothing is installed and every request takes the Vert.x path, which gives the same answers.
 */
public final class LeanRedirects {
    private static final String ENCODER = "httpEncoder";
    private static final String VERTX_HANDLER = "handler";
    private static final String NAME = "radiod-lean-redirect";
    private static final byte[] STATUS_11 = ascii("HTTP/1.1 302 Found\r\nLocation: ");
    private static final byte[] STATUS_10 = ascii("HTTP/1.0 302 Found\r\nLocation: ");
    private static final byte[] TAIL = ascii("\r\nCache-Control: no-cache\r\nContent-Length: 0\r\n\r\n");
    /** As Vert.x ends the answer to an HTTP/1.1 request with {@code Connection: close} (ffmpeg's and mpv's). */
    private static final byte[] TAIL_CLOSE = ascii("\r\nCache-Control: no-cache\r\nContent-Length: 0\r\nconnection: close\r\n\r\n");
    /** As Vert.x ends the answer to an HTTP/1.0 request with {@code Connection: keep-alive}. */
    private static final byte[] TAIL_KEEP = ascii("\r\nCache-Control: no-cache\r\nContent-Length: 0\r\nconnection: keep-alive\r\n\r\n");

    private final ListenerRoutes routes;
    private final Supplier<ClusterSnapshot> view;
    private final boolean secure;
    /** The Location up to the mount path ({@code http://host:port/_stream}), by node name, for the node's status it was made of. */
    private final ConcurrentHashMap<String, Prefix> prefixes = new ConcurrentHashMap<>();
    private final LongAdder answered = new LongAdder();

    private record Prefix(NodeStatus node, byte[] bytes) {
    }

    /**
     * @param secure whether this is the HTTPS port (the Location is then the node's name in the zone, in https)
     */
    public LeanRedirects(ListenerRoutes routes, Supplier<ClusterSnapshot> view, boolean secure) {
        this.routes = routes;
        this.view = view;
        this.secure = secure;
    }

    /** Puts the lean path in front of Vert.x on a new connection; false if this Vert.x's pipeline is not the one known. */
    public boolean install(HttpConnection connection) {
        if (!(connection instanceof ConnectionBase base)) {
            return false;
        }
        ChannelPipeline pipeline = base.channel().pipeline();
        if (pipeline.get(ENCODER) == null || pipeline.get(VERTX_HANDLER) == null || pipeline.get(NAME) != null) {
            return false;
        }
        pipeline.addBefore(VERTX_HANDLER, NAME, new Connection());
        return true;
    }

    /** Redirects answered by the lean path since start. */
    public long answered() {
        return answered.sum();
    }

    /** The chosen node's Location prefix, made once per status of that node. */
    private byte[] prefix(NodeStatus node) {
        Prefix p = prefixes.get(node.name());
        if (p == null || p.node != node) {
            String base = routes.locationBase(node, secure) + ListenerRoutes.STREAM_PREFIX;
            p = new Prefix(node, base.getBytes(StandardCharsets.US_ASCII));
            prefixes.put(node.name(), p);
        }
        return p.bytes;
    }

    /** One connection's lean path; runs on its event loop only. */
    private final class Connection extends ChannelDuplexHandler {
        /** Requests handed to Vert.x whose response has not been written in full. */
        private int owed;
        /** Dropping the rest (the empty last content) of a request answered here. */
        private boolean swallowing;
        private boolean unflushed;
        /** An answer here ended the connection: it closes once written, and nothing more is read. */
        private boolean closing;
        /** Vert.x's encoder's place: bytes written from there go straight to the socket (or TLS). */
        private ChannelHandlerContext encoder;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            encoder = ctx.pipeline().context(ENCODER);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (closing) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (swallowing) {
                if (msg instanceof HttpContent) {
                    swallowing = !(msg instanceof LastHttpContent);
                    ReferenceCountUtil.release(msg);
                    return;
                }
                swallowing = false;
            }
            if (msg instanceof HttpRequest req) {
                if (owed == 0 && answer(ctx, req)) {
                    swallowing = !(msg instanceof LastHttpContent);
                    ReferenceCountUtil.release(msg);
                    return;
                }
                owed++;
            }
            ctx.fireChannelRead(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (unflushed) {
                unflushed = false;
                if (closing) {
                    encoder.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
                } else {
                    encoder.flush();
                }
            }
            ctx.fireChannelReadComplete();
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            // A 100 Continue is a whole response too, but the request's own answer is still owed.
            if (msg instanceof LastHttpContent && owed > 0
                    && !(msg instanceof HttpResponse r && r.status().codeClass() == HttpStatusClass.INFORMATIONAL)) {
                owed--;
            }
            ctx.write(msg, promise);
        }

        /** Writes the 302 if this request takes the lean path; false to leave it to Vert.x. */
        private boolean answer(ChannelHandlerContext ctx, HttpRequest req) {
            HttpVersion version = req.protocolVersion();
            if (req.method() != HttpMethod.GET || version != HttpVersion.HTTP_1_1 && version != HttpVersion.HTTP_1_0
                    || !req.decoderResult().isSuccess()) {
                return false;
            }
            String uri = req.uri();
            if (uri.isEmpty() || uri.charAt(0) != '/') {
                return false;
            }
            HttpHeaders headers = req.headers();
            String length = headers.get(HttpHeaderNames.CONTENT_LENGTH); // some clients send a 0 with every GET
            if (length != null && !length.equals("0") || headers.contains(HttpHeaderNames.TRANSFER_ENCODING)
                    || headers.contains(HttpHeaderNames.EXPECT)) {
                return false;
            }
            int q = uri.indexOf('?');
            String path = q < 0 ? uri : uri.substring(0, q);
            ClusterSnapshot snapshot = view.get();
            Mount mount = snapshot.mounts().get(path);
            if (mount == null || q >= 0 && !plainQuery(uri, q + 1)) {
                return false;
            }
            NodeStatus node = routes.redirectTarget(snapshot, mount, headers.get(HttpHeaderNames.USER_AGENT));
            if (node == null) {
                return false;
            }
            boolean http10 = version == HttpVersion.HTTP_1_0;
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            byte[] status = http10 ? STATUS_10 : STATUS_11;
            // The connection header Vert.x writes: only where the version's default is not what happens.
            byte[] tail = http10 ? (keepAlive ? TAIL_KEEP : TAIL) : (keepAlive ? TAIL : TAIL_CLOSE);
            byte[] prefix = prefix(node);
            ByteBuf out = ctx.alloc().ioBuffer(status.length + prefix.length + uri.length() + tail.length);
            out.writeBytes(status).writeBytes(prefix);
            out.writeCharSequence(uri, StandardCharsets.US_ASCII);
            out.writeBytes(tail);
            closing = !keepAlive;
            // Past Vert.x's encoder, which takes only HTTP objects.
            encoder.write(out, encoder.voidPromise());
            unflushed = true;
            answered.increment();
            return true;
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** A query that can go into the Location as it came: printable ASCII, no fragment. */
    private static boolean plainQuery(String uri, int from) {
        for (int i = from; i < uri.length(); i++) {
            char c = uri.charAt(i);
            if (c <= 0x20 || c >= 0x7f || c == '#') {
                return false;
            }
        }
        return true;
    }
}
