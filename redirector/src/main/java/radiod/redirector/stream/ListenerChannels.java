package radiod.redirector.stream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.timeout.IdleStateHandler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;

/**
 * Reaches below Vert.x to a listener's Netty channel, so that a batch of audio is queued for many listeners
 * without Vert.x's work per write (a promise, a flush, a chunk object, the HTTP encoder) and each channel is
 * flushed once per batch. Vert.x's public API cannot say that; this class is the passthrough's only use of a
 * Vert.x internal ({@code io.vertx.core.net.impl.ConnectionBase}) and the only code that knows how Vert.x lays
 * out an HTTP/1 connection's pipeline. Where the cast fails (HTTP/2, another Vert.x) {@link #of} answers null, and
 * the listener is written through Vert.x's public API instead; where the pipeline is not as expected,
 * {@link #bodyContext} answers null, and body bytes go through the whole pipeline.
 *
 * <p>Anything written to a listener's channel must come after the response head, which Vert.x writes.
 */
final class ListenerChannels {
    private ListenerChannels() {
    }

    /** The channel of the request's connection, or null to write through Vert.x. */
    static Channel of(HttpServerRequest req) {
        if (req.version() == HttpVersion.HTTP_2) {
            return null; // one channel carries many streams: writing to it directly would corrupt them
        }
        try {
            if (req.connection() instanceof io.vertx.core.net.impl.ConnectionBase connection) {
                return connection.channel();
            }
        } catch (LinkageError notThisVertx) {
            // a Vert.x without that class: the public API it is
        }
        return null;
    }

    /**
     * Closes a listener's connection at once, whatever is still queued for it (a graceful close would wait for a
     * socket that takes nothing); its close handler does the rest.
     *
     * @param channel the request's channel ({@link #of}); null: the response is reset instead
     */
    static void abort(HttpServerRequest req, Channel channel) {
        if (channel != null) {
            // From the head of the pipeline: Vert.x's own handler would wait for the queue to be written first.
            channel.pipeline().firstContext().close();
        } else {
            req.response().reset();
        }
    }

    /**
     * Makes the connection a stream: removes the HTTP server's idle timeout, which would otherwise count only
     * what passes it (so not what {@link #bodyContext} writes) and cut a listener held silent longer than it. A
     * stream's listener is never idle; one that stops taking it is dropped by its queue, not by a timer.
     */
    static void streaming(Channel channel) {
        ChannelPipeline pipeline = channel.pipeline();
        IdleStateHandler idle = pipeline.get(IdleStateHandler.class);
        if (idle != null) {
            pipeline.remove(idle);
        }
    }

    /**
     * Where to write body bytes of a response that is not chunked (its bytes go on the wire as they are) so that
     * they skip the HTTP encoder and every handler after it: the encoder's own context. Null when there is none
     * (write through the whole pipeline then).
     */
    static ChannelHandlerContext bodyContext(Channel channel) {
        return channel.pipeline().context(HttpResponseEncoder.class);
    }
}
