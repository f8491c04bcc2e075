package radiod.dns.server;

import java.util.function.Function;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import radiod.dns.zone.ZoneAnswerer.Answer;

/**
 * One DNS-over-TCP connection: splits the byte stream into length-prefixed queries and writes each answer back
 * the same way, in order. At most one incomplete frame (2 + 65535 bytes) is ever held. A frame too short to be a
 * DNS message, or a query not to be answered, closes the connection. Reading pauses while the socket's write
 * queue is full, so a client that sends without reading cannot make the server buffer without bound.
 */
final class TcpFrames {
    private static final int HEADER = 12;

    private final NetSocket socket;
    private final Function<byte[], Answer> answerer;
    private Buffer pending;
    private boolean closed;

    TcpFrames(NetSocket socket, Function<byte[], Answer> answerer) {
        this.socket = socket;
        this.answerer = answerer;
    }

    void start() {
        socket.handler(this::onData);
    }

    private void onData(Buffer chunk) {
        if (closed) {
            return;
        }
        Buffer buf;
        if (pending == null) {
            buf = chunk;
        } else {
            buf = pending.appendBuffer(chunk);
            pending = null;
        }
        int pos = 0;
        int length = buf.length();
        while (length - pos >= 2) {
            int size = buf.getUnsignedShort(pos);
            if (size < HEADER) {
                close();
                return;
            }
            if (length - pos - 2 < size) {
                break;
            }
            byte[] query = buf.getBytes(pos + 2, pos + 2 + size);
            pos += 2 + size;
            Answer a = answerer.apply(query);
            if (a == null) {
                close();
                return;
            }
            byte[] wire = a.wire();
            socket.write(Buffer.buffer(2 + wire.length).appendUnsignedShort(wire.length).appendBytes(wire));
        }
        if (pos < length) {
            // Copy: the chunk's memory belongs to the socket and may be reused after this handler returns.
            pending = Buffer.buffer(length - pos + 512).appendBuffer(buf, pos, length - pos);
        }
        if (socket.writeQueueFull()) {
            socket.pause();
            socket.drainHandler(v -> socket.resume());
        }
    }

    private void close() {
        closed = true;
        pending = null;
        socket.close();
    }
}
