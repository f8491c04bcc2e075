package radiod.redirector.listen;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
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
import io.netty.util.concurrent.FastThreadLocal;
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
 * <p>Two handlers per connection. {@link Raw}, in front of Vert.x's HTTP decoder, reads the request's bytes itself:
 * while a connection has only sent plain {@code GET}s of mounts, each arriving whole (a request line, header lines
 * of visible ASCII ending in CRLF, nothing that asks for a body, {@code Expect} or another {@code Connection} option),
 * it answers them without the decoder making an object, a header map or a string of each header. The first bytes it
 * does not answer itself (anything else, a request cut across two reads, a request over 4 kB) go to the decoder, and
 * so does everything after them on that connection: the decoder never sees half a request. {@link Connection},
 * behind the decoder, answers the same requests from the decoded objects on such connections.
 *
 * <p>Measured (bench/RESULTS.md, "Lean redirects" and "Redirects from their bytes"): the Vert.x path cost radiod
 * 6.1 µs of user CPU per redirect against nginx's 2.8 µs; system time per request was the same. The raw reader then
 * took 0.7–1.4 µs of user CPU per redirect off the decoded path (pinned, in turns) and nearly all its allocation:
 * young collections 125 → 5 per million redirects.
 *
 * <p>One instance per port; {@link #install} adds the handlers to each new connection. It reads Vert.x's internal
 * pipeline names ({@code httpDecoder}, {@code httpEncoder}, {@code handler}); where they are missing (another Vert.x),
 * nothing is installed and every request takes the Vert.x path, which gives the same answers. Vert.x's idle timeout
 * sits behind the decoder and would not see the reads the raw reader answers: the raw reader tells it of them (an
 * {@code ACTIVITY} message through the pipeline, at most once a second), so a busy keep-alive connection is not
 * closed as idle.
 */
public final class LeanRedirects {
    private static final String ENCODER = "httpEncoder";
    private static final String DECODER = "httpDecoder";
    private static final String RAW_NAME = "radiod-lean-raw";
    /** Longest request head the raw reader answers; longer ones go to the decoder and its limits (4 kB line, 8 kB headers). */
    private static final int MAX_RAW_HEAD = 4096;
    /** How often, at most, the raw reader tells the idle timeout behind the decoder of reads it answered. */
    private static final long TOUCH_NANOS = 1_000_000_000L;
    /** Passes through the decoder to the idle timeout as a read; dropped by {@link Connection}. */
    private static final Object ACTIVITY = new Object() {
        @Override
        public String toString() {
            return "radiod-lean-raw-activity";
        }
    };
    private static final String VERTX_HANDLER = "handler";
    private static final String NAME = "radiod-lean-redirect";
    private static final byte[] STATUS_11 = ascii("HTTP/1.1 302 Found\r\nLocation: ");
    private static final byte[] STATUS_10 = ascii("HTTP/1.0 302 Found\r\nLocation: ");
    private static final byte[] TAIL = ascii("\r\nCache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n");
    /** As Vert.x ends the answer to an HTTP/1.1 request with {@code Connection: close} (ffmpeg's and mpv's). */
    private static final byte[] TAIL_CLOSE = ascii("\r\nCache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\nconnection: close\r\n\r\n");
    /** As Vert.x ends the answer to an HTTP/1.0 request with {@code Connection: keep-alive}. */
    private static final byte[] TAIL_KEEP = ascii("\r\nCache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\nconnection: keep-alive\r\n\r\n");

    private final ListenerRoutes routes;
    private final Supplier<ClusterSnapshot> view;
    private final boolean secure;
    /** The Location up to the mount path ({@code http://host:port/_stream}), by node name, for the node's status it was made of. */
    private final ConcurrentHashMap<String, Prefix> prefixes = new ConcurrentHashMap<>();
    private final LongAdder answered = new LongAdder();
    private final LongAdder fromBytes = new LongAdder();
    /** The mounts of the last snapshot the raw reader looked in; replaced when the view moves on. */
    private volatile MountIndex mountIndex;

    /**
     * A node's Location up to the mount path, for one status of the node, and its answers made so far (kept across
     * statuses that give the same Location).
     */
    private record Prefix(NodeStatus node, byte[] bytes, Rendered rendered) {
    }

    /**
     * Mounts whose answers a node's {@link Rendered} keeps at most (deleted ones are dropped when it is full); past
     * them, answers are put together per request.
     */
    private static final int RENDERED_MOUNTS = 64;

    /**
     * A node's whole 302s for requests without a query, by mount path: the four answers (HTTP/1.0 or 1.1, keep-alive
     * or not), made the first time they are needed, so that a redirect is one copy into a pooled buffer instead of
     * four. (Writing duplicates of answers kept in direct memory instead made three objects per redirect, five times
     * the young collections, for no CPU measurably saved.) Grown copy-on-write: readers on any event loop see a whole
     * array.
     */
    private static final class Rendered {
        private volatile Answers[] byMount = new Answers[0];
        /** The cluster's mounts when the full array was last cleared of deleted ones. */
        private volatile Map<String, Mount> prunedFor;

        /**
         * The answer for {@code path} (its bytes were matched to the request's target), or null while
         * {@value #RENDERED_MOUNTS} other mounts still in {@code mounts} (the cluster's) are kept.
         */
        byte[] answer(byte[] prefix, String path, boolean http10, boolean keepAlive, Map<String, Mount> mounts) {
            Answers[] all = byMount;
            for (Answers a : all) {
                if (a.path.equals(path)) {
                    return a.of(http10, keepAlive);
                }
            }
            if (all.length >= RENDERED_MOUNTS && prunedFor == mounts) {
                return null; // full of mounts that all exist
            }
            Answers made = new Answers(prefix, path);
            synchronized (this) {
                Answers[] now = byMount;
                if (now.length >= RENDERED_MOUNTS) { // forget mounts that were deleted since
                    now = Arrays.stream(now).filter(a -> mounts.containsKey(a.path)).toArray(Answers[]::new);
                    byMount = now;
                    prunedFor = mounts;
                }
                if (now.length >= RENDERED_MOUNTS) {
                    return null;
                }
                if (Arrays.stream(now).noneMatch(a -> a.path.equals(path))) {
                    Answers[] grown = Arrays.copyOf(now, now.length + 1);
                    grown[now.length] = made;
                    byMount = grown;
                }
            }
            return made.of(http10, keepAlive);
        }
    }

    /** One mount's four answers from one node's prefix. */
    private static final class Answers {
        final String path;
        /** By {@code (http10 ? 2 : 0) + (keepAlive ? 1 : 0)}. */
        private final byte[][] variants = new byte[4][];

        Answers(byte[] prefix, String path) {
            this.path = path;
            byte[] target = path.getBytes(StandardCharsets.US_ASCII);
            for (int v = 0; v < 4; v++) {
                boolean http10 = v >= 2;
                byte[] status = http10 ? STATUS_10 : STATUS_11;
                byte[] tail = tail(http10, (v & 1) != 0);
                byte[] all = new byte[status.length + prefix.length + target.length + tail.length];
                System.arraycopy(status, 0, all, 0, status.length);
                System.arraycopy(prefix, 0, all, status.length, prefix.length);
                System.arraycopy(target, 0, all, status.length + prefix.length, target.length);
                System.arraycopy(tail, 0, all, status.length + prefix.length + target.length, tail.length);
                variants[v] = all;
            }
        }

        byte[] of(boolean http10, boolean keepAlive) {
            return variants[(http10 ? 2 : 0) + (keepAlive ? 1 : 0)];
        }
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
        return connection instanceof ConnectionBase base && install(base.channel().pipeline(), true);
    }

    /**
     * Puts the lean path into a pipeline laid out as Vert.x's ({@code httpDecoder}, {@code httpEncoder}, ...,
     * {@code handler}); {@code fromBytes} false leaves out the raw reader (the decoded path alone, to compare with).
     */
    public boolean install(ChannelPipeline pipeline, boolean fromBytes) {
        if (pipeline.get(ENCODER) == null || pipeline.get(DECODER) == null || pipeline.get(VERTX_HANDLER) == null
                || pipeline.get(NAME) != null) {
            return false;
        }
        pipeline.addBefore(VERTX_HANDLER, NAME, new Connection());
        if (fromBytes) {
            pipeline.addBefore(DECODER, RAW_NAME, new Raw());
        }
        return true;
    }

    /** Redirects answered by the lean path since start. */
    public long answered() {
        return answered.sum();
    }

    /** Of those, the ones the raw reader answered from the request's bytes. */
    public long answeredFromBytes() {
        return fromBytes.sum();
    }

    /** The mount whose path is the bytes {@code from}..{@code to} of {@code buf} ({@code hash} their String hash), or null. */
    private Mount mountAt(ClusterSnapshot snapshot, byte[] buf, int from, int to, int hash) {
        MountIndex index = mountIndex;
        if (index == null || index.snapshot != snapshot) {
            index = MountIndex.of(snapshot);
            mountIndex = index;
        }
        int length = to - from;
        for (int slot = hash & index.mask; index.paths[slot] != null; slot = (slot + 1) & index.mask) {
            byte[] path = index.paths[slot];
            if (path.length == length && sameBytes(buf, from, path)) {
                return index.mounts[slot];
            }
        }
        return null;
    }

    private static boolean sameBytes(byte[] buf, int from, byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) {
            if (buf[from + i] != bytes[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * A snapshot's mounts by the bytes of their paths (open addressing on the path's String hash), so that the raw
     * reader finds the mount a request names without making a string of it. Paths that are not plain ASCII are left
     * out: a request for one has bytes the raw reader does not take.
     */
    private record MountIndex(ClusterSnapshot snapshot, byte[][] paths, Mount[] mounts, int mask) {
        static MountIndex of(ClusterSnapshot snapshot) {
            int size = 4;
            while (size < snapshot.mounts().size() * 2) {
                size <<= 1;
            }
            byte[][] paths = new byte[size][];
            Mount[] mounts = new Mount[size];
            for (Map.Entry<String, Mount> e : snapshot.mounts().entrySet()) {
                String path = e.getKey();
                if (!path.chars().allMatch(c -> c < 0x80)) {
                    continue;
                }
                int slot = path.hashCode() & (size - 1);
                while (paths[slot] != null) {
                    slot = (slot + 1) & (size - 1);
                }
                paths[slot] = path.getBytes(StandardCharsets.US_ASCII);
                mounts[slot] = e.getValue();
            }
            return new MountIndex(snapshot, paths, mounts, size - 1);
        }
    }

    /**
     * The chosen node's Location prefix, made once per status of that node. Making one also lets go of the answers
     * kept for nodes no longer in the cluster once more nodes are kept than it has: an elastic cluster's nodes come
     * and go for years, and what is kept stays bounded by its size.
     */
    private Prefix prefix(ClusterSnapshot snapshot, NodeStatus node) {
        Prefix p = prefixes.get(node.name());
        if (p == null || p.node != node) {
            byte[] bytes = (routes.locationBase(node, secure) + ListenerRoutes.STREAM_PREFIX).getBytes(StandardCharsets.US_ASCII);
            Rendered rendered = p != null && Arrays.equals(p.bytes, bytes) ? p.rendered : new Rendered();
            p = new Prefix(node, bytes, rendered);
            prefixes.put(node.name(), p);
            if (prefixes.size() > snapshot.nodes().size()) {
                prefixes.keySet().retainAll(snapshot.nodes().keySet());
            }
        }
        return p;
    }

    /** The nodes whose answers are kept now, by name. */
    public Set<String> nodesKept() {
        return Set.copyOf(prefixes.keySet());
    }

    /**
     * The whole answer for a request whose target is the mount's path (no query), made once per node and mount; null
     * past {@value #RENDERED_MOUNTS} mounts of a node still in the cluster. Counts the redirect when it answers.
     */
    private ByteBuf rendered(ChannelHandlerContext ctx, ClusterSnapshot snapshot, NodeStatus node, Mount mount,
                             boolean http10, boolean keepAlive) {
        Prefix p = prefix(snapshot, node);
        byte[] answer = p.rendered.answer(p.bytes, mount.path(), http10, keepAlive, snapshot.mounts());
        if (answer == null) {
            return null;
        }
        answered.increment();
        return ctx.alloc().ioBuffer(answer.length).writeBytes(answer);
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
            if (msg == ACTIVITY) {
                return;
            }
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
                sendAnswers(encoder, closing);
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
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            boolean http10 = version == HttpVersion.HTTP_1_0;
            ByteBuf out = q < 0 ? rendered(ctx, snapshot, node, mount, http10, keepAlive) : null;
            if (out == null) {
                out = redirect(ctx, snapshot, node, http10, keepAlive, uri.length());
                out.writeCharSequence(uri, StandardCharsets.US_ASCII);
                out.writeBytes(tail(http10, keepAlive));
            }
            closing = !keepAlive;
            // Past Vert.x's encoder, which takes only HTTP objects.
            encoder.write(out, encoder.voidPromise());
            unflushed = true;
            return true;
        }
    }

    /** Sends the answers written at {@code encoder}'s place; closes the connection after them if {@code closing}. */
    private static void sendAnswers(ChannelHandlerContext encoder, boolean closing) {
        if (closing) {
            encoder.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else {
            encoder.flush();
        }
    }

    /**
     * Counts one lean redirect and starts its answer: the bytes up to the request target, in a buffer with room for a
     * target of {@code targetLength} and the tail.
     */
    private ByteBuf redirect(ChannelHandlerContext ctx, ClusterSnapshot snapshot, NodeStatus node, boolean http10,
                             boolean keepAlive, int targetLength) {
        byte[] status = http10 ? STATUS_10 : STATUS_11;
        byte[] prefix = prefix(snapshot, node).bytes;
        ByteBuf out = ctx.alloc().ioBuffer(status.length + prefix.length + targetLength + tail(http10, keepAlive).length);
        out.writeBytes(status).writeBytes(prefix);
        answered.increment();
        return out;
    }

    /** What follows the Location: the connection header Vert.x writes only where the version's default is not what happens. */
    private static byte[] tail(boolean http10, boolean keepAlive) {
        return http10 ? (keepAlive ? TAIL_KEEP : TAIL) : (keepAlive ? TAIL : TAIL_CLOSE);
    }

    /**
     * The raw reader in front of Vert.x's decoder (see the class comment); runs on the connection's event loop only.
     * Until it hands bytes to the decoder, the decoder has seen none and Vert.x owes no answer on the connection.
     */
    private final class Raw extends ChannelInboundHandlerAdapter {
        /** Bytes went to the decoder: it, and the {@link Connection} behind it, take everything from here on. */
        private boolean passthrough;
        /** An answer here ended the connection: it closes once written, and nothing more is read. */
        private boolean closing;
        private boolean unflushed;
        /** Something went on past this handler in the current read: the read's end must follow it. */
        private boolean forwarded;
        private long touched;
        private ChannelHandlerContext encoder;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            encoder = ctx.pipeline().context(ENCODER);
            touched = System.nanoTime() - TOUCH_NANOS; // the first answer is told at once
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (passthrough || !(msg instanceof ByteBuf buf)) {
                forwarded = true;
                ctx.fireChannelRead(msg);
                return;
            }
            if (closing) {
                buf.release();
                return;
            }
            int from = buf.readerIndex();
            int end = buf.writerIndex();
            boolean any = false;
            while (from < end && !closing) {
                int next = answer(ctx, buf, from, end);
                if (next < 0) {
                    break;
                }
                from = next;
                any = true;
            }
            if (any) {
                touch(ctx);
            }
            if (closing || from == end) {
                buf.release();
                return;
            }
            passthrough = true;
            forwarded = true;
            buf.readerIndex(from);
            ctx.fireChannelRead(buf);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (unflushed) {
                unflushed = false;
                sendAnswers(encoder, closing);
            }
            // A read answered here in full is not Vert.x's business: its end goes no further either (the decoder and
            // Vert.x have nothing to finish, no answer of theirs to flush).
            if (forwarded || passthrough) {
                forwarded = false;
                ctx.fireChannelReadComplete();
            }
        }

        /** Lets Vert.x's idle timeout, behind the decoder, count the reads answered here (once a second at most). */
        private void touch(ChannelHandlerContext ctx) {
            long now = System.nanoTime();
            if (now - touched >= TOUCH_NANOS) {
                touched = now;
                forwarded = true;
                ctx.fireChannelRead(ACTIVITY);
            }
        }

        /**
         * Answers the request at {@code from} if it is whole in {@code buf} and takes the lean path; returns where the
         * next request starts, or -1 to leave this one (and the rest) to the decoder. Writes nothing when it returns -1.
         * Reads a copy of the head (a first window of {@value #FIRST_WINDOW} bytes, {@value #MAX_RAW_HEAD} if the head
         * is longer): plain array reads, where each {@code ByteBuf.getByte} checks its index and the buffer's life.
         */
        private int answer(ChannelHandlerContext ctx, ByteBuf buf, int from, int end) {
            int available = end - from;
            byte[] a = SCRATCH.get();
            int n = Math.min(available, FIRST_WINDOW);
            buf.getBytes(from, a, 0, n);
            int headLength = parse(a, n);
            if (headLength == MORE && available > n) {
                n = Math.min(available, MAX_RAW_HEAD);
                buf.getBytes(from, a, 0, n);
                headLength = parse(a, n);
            }
            if (headLength < 0) {
                return -1;
            }
            ClusterSnapshot snapshot = view.get();
            Mount mount = mountAt(snapshot, a, TARGET, pathEnd, pathHash);
            if (mount == null) {
                return -1;
            }
            NodeStatus node = routes.redirectTarget(snapshot, mount, agent);
            if (node == null) {
                return -1;
            }
            // The mount's path is the target's bytes when there is no query: its answer is made already.
            ByteBuf out = pathEnd == targetEnd ? rendered(ctx, snapshot, node, mount, http10, keepAlive) : null;
            if (out == null) {
                out = redirect(ctx, snapshot, node, http10, keepAlive, targetEnd - TARGET);
                out.writeBytes(a, TARGET, targetEnd - TARGET);
                out.writeBytes(tail(http10, keepAlive));
            }
            closing = !keepAlive;
            encoder.write(out, encoder.voidPromise());
            unflushed = true;
            fromBytes.increment();
            return from + headLength;
        }

        // What parse found in the last head it took.
        private int targetEnd;
        private int pathEnd;
        private int pathHash;
        private boolean http10;
        private boolean keepAlive;
        private String agent;

        /**
         * Reads the request head in {@code a[0..limit)}: its length if it is a plain GET the raw reader takes (the
         * target, version, agent and keep-alive left in the fields above), {@link #MORE} if it goes on past
         * {@code limit}, or -1.
         */
        private int parse(byte[] a, int limit) {
            if (limit < 16) {
                return -1;
            }
            if (a[0] != 'G' || a[1] != 'E' || a[2] != 'T' || a[3] != ' ' || a[TARGET] != '/') {
                return -1;
            }
            int p = TARGET;
            int query = -1;
            int hash = 0; // the path's String.hashCode(), for the mount index
            byte c;
            while (p < limit && (c = a[p]) != ' ') {
                if (c < 0x21 || c > 0x7e || c == '#') {
                    return -1;
                }
                if (query < 0) {
                    if (c == '?') {
                        query = p;
                    } else {
                        hash = 31 * hash + c;
                    }
                }
                p++;
            }
            // " HTTP/1.x" CRLF
            if (limit - p < 11) {
                return MORE;
            }
            targetEnd = p;
            pathEnd = query < 0 ? p : query;
            pathHash = hash;
            for (int i = 0; i < SP_HTTP_1_DOT.length; i++) {
                if (a[p + i] != SP_HTTP_1_DOT[i]) {
                    return -1;
                }
            }
            byte minor = a[p + 8];
            if (minor != '1' && minor != '0' || a[p + 9] != '\r' || a[p + 10] != '\n') {
                return -1;
            }
            http10 = minor == '0';
            p += 11;
            agent = null;
            boolean close = false;
            boolean keep = false;
            boolean length = false;
            while (true) {
                if (limit - p < 2) {
                    return MORE;
                }
                if (a[p] == '\r') {
                    if (a[p + 1] != '\n') {
                        return -1;
                    }
                    p += 2;
                    break;
                }
                int name = p;
                while (p < limit && TCHAR[a[p] & 0xff]) {
                    p++;
                }
                if (p >= limit) {
                    return MORE;
                }
                if (p == name || a[p] != ':') {
                    return -1;
                }
                int nameLength = p - name;
                p++;
                while (p < limit && ((c = a[p]) == ' ' || c == '\t')) {
                    p++;
                }
                int value = p;
                int valueEnd = p;
                while (p < limit && (c = a[p]) != '\r') {
                    if (c != ' ' && c != '\t') {
                        if (c < 0x21 || c > 0x7e) {
                            return -1;
                        }
                        valueEnd = p + 1;
                    }
                    p++;
                }
                if (limit - p < 2) {
                    return MORE;
                }
                if (a[p + 1] != '\n') {
                    return -1;
                }
                p += 2;
                switch (header(a, name, nameLength)) {
                    case H_LENGTH -> { // some clients send a 0 with every GET
                        if (length || valueEnd - value != 1 || a[value] != '0') {
                            return -1;
                        }
                        length = true;
                    }
                    case H_REFUSED -> {
                        return -1;
                    }
                    case H_AGENT -> {
                        if (agent == null) {
                            agent = new String(a, value, valueEnd - value, StandardCharsets.ISO_8859_1);
                        }
                    }
                    case H_CONNECTION -> {
                        int options = connectionOptions(a, value, valueEnd);
                        if (options < 0) {
                            return -1;
                        }
                        close |= (options & CLOSE) != 0;
                        keep |= (options & KEEP_ALIVE) != 0;
                    }
                    default -> {
                    }
                }
            }
            // As HttpUtil.isKeepAlive reads the decoded request.
            keepAlive = !close && (!http10 || keep);
            return p;
        }
    }

    /** Where the request target starts: after "GET ". */
    private static final int TARGET = 4;
    /** {@link Raw#parse}: the head goes on past the bytes it was given. */
    private static final int MORE = -2;
    /** The first part of a request the raw reader copies to read: most players' and browsers' heads fit. */
    private static final int FIRST_WINDOW = 512;
    private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[MAX_RAW_HEAD];
        }
    };
    private static final byte[] SP_HTTP_1_DOT = ascii(" HTTP/1.");
    private static final int H_OTHER = 0;
    private static final int H_LENGTH = 1;
    private static final int H_REFUSED = 2;
    private static final int H_AGENT = 3;
    private static final int H_CONNECTION = 4;
    private static final int CLOSE = 1;
    private static final int KEEP_ALIVE = 2;
    private static final byte[] CONTENT_LENGTH = ascii("content-length");
    private static final byte[] TRANSFER_ENCODING = ascii("transfer-encoding");
    private static final byte[] EXPECT = ascii("expect");
    private static final byte[] USER_AGENT = ascii("user-agent");
    private static final byte[] CONNECTION = ascii("connection");
    private static final byte[] CLOSE_TOKEN = ascii("close");
    private static final byte[] KEEP_ALIVE_TOKEN = ascii("keep-alive");
    /** RFC 9110's token characters, which a header name is made of. */
    private static final boolean[] TCHAR = new boolean[256];

    static {
        for (char ch = '0'; ch <= '9'; ch++) {
            TCHAR[ch] = true;
        }
        for (char ch = 'a'; ch <= 'z'; ch++) {
            TCHAR[ch] = true;
            TCHAR[ch - 32] = true;
        }
        for (char ch : "!#$%&'*+-.^_`|~".toCharArray()) {
            TCHAR[ch] = true;
        }
    }

    /** Which of the headers the raw reader looks at this is, by its name (case-insensitive). */
    private static int header(byte[] buf, int name, int length) {
        return switch (length) {
            case 14 -> named(buf, name, CONTENT_LENGTH) ? H_LENGTH : H_OTHER;
            case 17 -> named(buf, name, TRANSFER_ENCODING) ? H_REFUSED : H_OTHER;
            case 6 -> named(buf, name, EXPECT) ? H_REFUSED : H_OTHER;
            case 10 -> named(buf, name, USER_AGENT) ? H_AGENT : named(buf, name, CONNECTION) ? H_CONNECTION : H_OTHER;
            default -> H_OTHER;
        };
    }

    /** Whether the bytes at {@code at} are {@code lower} (lower-case ASCII letters and '-'), in any case. */
    private static boolean named(byte[] buf, int at, byte[] lower) {
        for (int i = 0; i < lower.length; i++) {
            if ((buf[at + i] | 0x20) != lower[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * A {@code Connection} header's options as {@link #CLOSE} and {@link #KEEP_ALIVE} bits; -1 for any other option
     * (an upgrade, a hop-by-hop header), which the raw reader leaves to the decoder.
     */
    private static int connectionOptions(byte[] buf, int from, int to) {
        int options = 0;
        int p = from;
        while (p <= to) {
            int comma = p;
            while (comma < to && buf[comma] != ',') {
                comma++;
            }
            int a = p;
            int b = comma;
            while (a < b && (buf[a] == ' ' || buf[a] == '\t')) {
                a++;
            }
            while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t')) {
                b--;
            }
            if (b - a == CLOSE_TOKEN.length && named(buf, a, CLOSE_TOKEN)) {
                options |= CLOSE;
            } else if (b - a == KEEP_ALIVE_TOKEN.length && named(buf, a, KEEP_ALIVE_TOKEN)) {
                options |= KEEP_ALIVE;
            } else if (b > a) {
                return -1;
            }
            p = comma + 1;
        }
        return options;
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
