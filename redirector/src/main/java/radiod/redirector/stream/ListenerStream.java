package radiod.redirector.stream;

import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DateFormatter;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import radiod.redirector.access.ListenerSessions;
import radiod.redirector.listen.Responses;

/**
 * One listener's response, fed by its mount's reader on the listener's event loop: the reader queues a batch with
 * {@link #batch} (or a burst with {@link #audio}) and then calls {@link #flush}, once per batch. ICY metadata, when
 * the listener asked for it and the mount has some, is framed on the listener's own count ({@link IcyFramer}).
 *
 * <p>Bytes are queued as slices of the reader's shared buffers (no copies) on the listener's Netty channel when
 * {@link ListenerChannels} reaches it, else copied into one Vert.x write per batch.
 *
 * <p>A listener's session, when it has one, is finished with 200 when the connection of its started stream
 * closes (whatever closed it: the player, the reader, a drop), with the error it was answered instead, or with
 * 499 when the player left before any answer.
 */
final class ListenerStream implements IcyFramer.Out {
    private static final Buffer NOTHING = Buffer.buffer(new byte[0]);
    /** How long an ended stream's connection may take to write its last bytes before it is closed regardless. */
    static final long END_GRACE_MILLIS = 5_000;

    final HttpServerRequest req;
    final HttpServerResponse resp;
    private final Channel channel;
    /** Where to write body bytes that skip the HTTP encoder (never chunked: {@link #untilClose}), or null. */
    private ChannelHandlerContext framed;
    private final boolean wantsMetadata;
    /** The listener's session (the registry and the access log), or null when it is not a listener session. */
    private final ListenerSessions.Session session;
    private IcyFramer icy;
    /** Bytes queued since the last flush when written through Vert.x. */
    private Buffer unflushed;
    /** Bytes queued for this listener so far. */
    private long bytes;
    /** Where the reader keeps this listener in its array, or -1 when it is not one of its listeners. */
    int index = -1;
    /** Whether the last batch found bytes of earlier ones still waiting for the socket. */
    boolean stalled;
    boolean gone;

    /** The access log's status for a listener who left before it was answered (nginx's). */
    static final int LEFT_UNANSWERED = 499;

    /** Not a listener session: a HEAD, or a proxied listener's error answer. */
    ListenerStream(HttpServerRequest req) {
        this(req, null);
    }

    ListenerStream(HttpServerRequest req, ListenerSessions.Session session) {
        this.req = req;
        this.session = session;
        this.resp = req.response();
        this.channel = ListenerChannels.of(req);
        String icyHeader = req.getHeader("Icy-MetaData");
        this.wantsMetadata = icyHeader != null && icyHeader.trim().equals("1");
    }

    /**
     * Answers 200 with the mount's headers ({@code upstreamHeaders}, from the local Icecast, already filtered) and
     * writes the head, so that the body can follow. For a HEAD request the response is ended.
     *
     * @param metaint the ICY interval of the mount, 0 when its stream carries no ICY metadata
     */
    static void head(HttpServerRequest req, List<Map.Entry<String, String>> upstreamHeaders, int metaint,
                     boolean wantsMetadata) {
        HttpServerResponse resp = req.response();
        resp.setStatusCode(200);
        for (Map.Entry<String, String> h : upstreamHeaders) {
            resp.headers().add(h.getKey(), h.getValue());
        }
        resp.headers().set(HttpHeaders.DATE, now());
        if (metaint > 0 && wantsMetadata) {
            resp.putHeader("icy-metaint", Integer.toString(metaint));
        }
        // A web player on the station's site reads the stream and its titles across origins, as with a stock Icecast.
        resp.headers().set(Responses.ALLOW_ORIGIN, Responses.ANY_ORIGIN).set(Responses.EXPOSE_HEADERS, Responses.STREAM_HEADERS);
        if (req.method() == HttpMethod.HEAD) {
            resp.end();
            return;
        }
        untilClose(req);
    }

    /**
     * The {@code Date} of a listener's answer: now, not Icecast's (a reader keeps the head Icecast gave it when it
     * connected, maybe hours ago; the {@code Date} of a peer's answer is the moment it answered this node).
     */
    static String now() {
        return DateFormatter.format(new Date());
    }

    /**
     * An HTTP/1.x stream's body as Icecast sends it: the bytes as they are, no chunks, {@code Connection: close}, the
     * body's end the connection's close (every stream ends that way: {@link #end}, {@code RemoteStream}). Players on
     * small devices often read no chunked body, and Icecast never sends one.
     * <ul>
     * <li>Vert.x refuses an HTTP/1.1 body with neither a length nor chunks at its first write: a
     * {@code Transfer-Encoding} set here lets the head through, and is taken out just before the head is written
     * (Netty then passes the body on as it is).</li>
     * <li>Vert.x answers an HTTP/1.0 request that asked for keep-alive with {@code Connection: keep-alive}, set just
     * before that point too: {@code close} is put back there.</li>
     * <li>A response has one headers-end handler, and this takes it: nothing on a listener's stream (Vert.x Web's
     * {@code RoutingContext.addHeadersEndHandler} among them) may set another.</li>
     * </ul>
     */
    static void untilClose(HttpServerRequest req) {
        HttpServerResponse resp = req.response();
        if (req.version() != HttpVersion.HTTP_1_0 && req.version() != HttpVersion.HTTP_1_1) {
            return; // HTTP/2: a stream's end is its own frame
        }
        resp.putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
        if (req.version() == HttpVersion.HTTP_1_1) {
            resp.putHeader(HttpHeaders.TRANSFER_ENCODING, HttpHeaders.IDENTITY);
        }
        resp.headersEndHandler(v -> resp.headers().remove(HttpHeaders.TRANSFER_ENCODING)
                .set(HttpHeaders.CONNECTION, HttpHeaders.CLOSE));
    }

    boolean wantsMetadata() {
        return wantsMetadata;
    }

    /** Starts the response: the head now, the body from the next {@link #flush}. */
    void start(List<Map.Entry<String, String>> upstreamHeaders, int metaint, int queueBytes) {
        head(req, upstreamHeaders, metaint, wantsMetadata);
        if (metaint > 0 && wantsMetadata) {
            icy = new IcyFramer(metaint);
        }
        resp.setWriteQueueMaxSize(queueBytes);
        resp.write(NOTHING, null);
        if (channel != null) {
            ListenerChannels.streaming(channel);
            framed = ListenerChannels.bodyContext(channel);
        }
        if (session != null) {
            session.streaming();
            // A stream's connection is its own: it is closed when the stream ends, whoever ends it. Netty calls every
            // listener of its close on its event loop, where nothing is written to a closed channel any more.
            if (channel != null) {
                channel.closeFuture().addListener(f -> session.finished(200, bytes));
            } else {
                req.connection().closeHandler(v -> session.finished(200, bytes));
            }
        }
    }

    /**
     * Queues a batch: {@code length} stream bytes at {@code dataIndex} of {@code batch}, shared by every listener of
     * the batch. A listener gets a slice of it as it is, past the HTTP encoder (one buffer, no copy, no encoding),
     * unless one of its ICY metadata blocks falls in the batch (about one batch in four at 128 kbit/s): then the
     * bytes go through the encoder in pieces, the block in its place.
     */
    void batch(ByteBuf batch, int dataIndex, int length, IcyFramer.Metadata metadata) {
        if (framed == null || icy != null && !icy.passes(length)) {
            audio(batch, dataIndex, length, metadata);
            return;
        }
        bytes += length;
        framed.write(batch.retainedSlice(dataIndex, length), framed.voidPromise());
    }

    /** Queues stream bytes (audio, or Ogg header pages), with metadata blocks where this listener's count puts them. */
    void audio(ByteBuf data, int index, int length, IcyFramer.Metadata metadata) {
        if (icy != null) {
            icy.audio(data, index, length, metadata, this);
        } else {
            write(data, index, length);
        }
    }

    @Override
    public void write(ByteBuf buf, int index, int length) {
        if (length == 0) {
            return;
        }
        bytes += length;
        if (channel != null) {
            channel.write(buf.retainedSlice(index, length), channel.voidPromise());
        } else {
            if (unflushed == null) {
                unflushed = Buffer.buffer(length);
            }
            byte[] copy = new byte[length];
            buf.getBytes(index, copy);
            unflushed.appendBytes(copy);
        }
    }

    void flush() {
        if (session != null) {
            session.sent(bytes);
        }
        if (channel != null) {
            channel.flush();
        } else if (unflushed != null) {
            Buffer b = unflushed;
            unflushed = null;
            resp.write(b, null);
        }
    }

    /** The connection is still there (its close may not have been handled yet). */
    boolean open() {
        return channel != null ? channel.isActive() : !resp.closed();
    }

    /** More than the queue limit is waiting for the socket: the listener is not keeping up. */
    boolean full() {
        return channel != null ? !channel.isWritable() : resp.writeQueueFull();
    }

    /** Bytes of earlier batches are still waiting for the socket (whose kernel buffer is full). */
    boolean backlogged() {
        return channel != null && channel.bytesBeforeUnwritable() < channel.config().getWriteBufferHighWaterMark();
    }

    long bytes() {
        return bytes;
    }

    /**
     * Closes the listener's connection at once, whatever is still queued for it (it fell behind; a graceful close
     * would wait for a socket that takes nothing); its close handler does the rest.
     */
    void drop() {
        ListenerChannels.abort(req, channel);
    }

    /**
     * Ends the stream so that the player reconnects at once: the end of the body, then the connection closed. A
     * player that has stopped reading (paused, or gone without a word) never takes the end of the body: its
     * connection is closed anyway {@link #END_GRACE_MILLIS} later, whatever is still queued for it.
     */
    void end() {
        if (resp.ended() || resp.closed()) {
            return;
        }
        resp.end().onComplete(x -> {
            if (req.version() != HttpVersion.HTTP_2) {
                req.connection().close();
            }
        });
        if (channel != null) {
            channel.eventLoop().schedule(() -> {
                if (channel.isOpen()) {
                    drop();
                }
            }, END_GRACE_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * The listener left before its answer (its node still asking Icecast for the mount): its session ends with
     * {@link #LEFT_UNANSWERED}, no bytes, as nginx logs a client that closed its request.
     */
    void leftUnanswered() {
        if (session != null && !resp.headWritten()) {
            session.finished(LEFT_UNANSWERED, 0);
        }
    }

    void text(int status, String message) {
        if (resp.ended() || resp.closed() || resp.headWritten()) {
            return;
        }
        Responses.text(req, status, message);
        if (session != null) {
            session.finished(status, 0);
        }
    }
}
