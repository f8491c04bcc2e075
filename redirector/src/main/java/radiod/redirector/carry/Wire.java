package radiod.redirector.carry;

import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

import io.vertx.core.buffer.Buffer;

/**
 * The messages radiod nodes exchange on the source port after an {@code INGEST} or {@code PULL} head has been
 * answered {@code 200}: {@code type u8 | offset u64 | length u32 | payload}, big-endian. Offsets count bytes of one
 * encoder's stream (its session) from 0, so a receiver can drop what it already has and resume exactly where it
 * stopped, whichever node it hears it from.
 */
public final class Wire {
    /** Whole units of the session's stream, at {@code offset}. */
    public static final byte DATA = 1;
    /** The session's current Ogg header pages, which start at {@code offset} in its stream; sent out of band. */
    public static final byte HEADERS = 2;
    /** A session starts (or continues) at {@code offset}; the payload is its id, a line feed, and its header lines. */
    public static final byte SESSION = 3;
    /** The encoder left cleanly at {@code offset}: no more of this session will come. */
    public static final byte END = 4;

    static final int HEAD_BYTES = 13;
    /** Larger payloads are refused: a peer sending one is not radiod, or is broken. */
    public static final int MAX_PAYLOAD = 4 * 1024 * 1024;

    /** One decoded message. */
    public record Message(byte type, long offset, Buffer payload) {
    }

    private Wire() {
    }

    public static Buffer message(byte type, long offset, Buffer payload) {
        Buffer b = Buffer.buffer(HEAD_BYTES + payload.length());
        b.appendByte(type).appendLong(offset).appendInt(payload.length()).appendBuffer(payload);
        return b;
    }

    public static Buffer session(String id, long offset, String headerLines) {
        return message(SESSION, offset, Buffer.buffer(id + "\n" + headerLines, StandardCharsets.ISO_8859_1.name()));
    }

    /** A session message's id. */
    public static String sessionId(Message m) {
        String s = m.payload().toString(StandardCharsets.ISO_8859_1);
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** A session message's header lines ({@code Name: value\r\n}…). */
    public static String sessionHeaders(Message m) {
        String s = m.payload().toString(StandardCharsets.ISO_8859_1);
        int nl = s.indexOf('\n');
        return nl < 0 ? "" : s.substring(nl + 1);
    }

    /** Cuts a byte stream into messages; throws {@link IllegalArgumentException} on a malformed one. */
    public static final class Decoder {
        private final Consumer<Message> out;
        private Buffer pending = Buffer.buffer();
        private int at;

        public Decoder(Consumer<Message> out) {
            this.out = out;
        }

        public void accept(Buffer chunk) {
            if (at == pending.length()) {
                pending = chunk;
                at = 0;
            } else {
                pending = pending.getBuffer(at, pending.length()).appendBuffer(chunk);
                at = 0;
            }
            while (pending.length() - at >= HEAD_BYTES) {
                byte type = pending.getByte(at);
                long offset = pending.getLong(at + 1);
                int length = pending.getInt(at + 9);
                if (type < DATA || type > END || length < 0 || length > MAX_PAYLOAD || offset < 0) {
                    throw new IllegalArgumentException("malformed message (type " + type + ", length " + length + ")");
                }
                if (pending.length() - at - HEAD_BYTES < length) {
                    return;
                }
                Buffer payload = pending.getBuffer(at + HEAD_BYTES, at + HEAD_BYTES + length);
                at += HEAD_BYTES + length;
                out.accept(new Message(type, offset, payload));
            }
        }
    }
}
