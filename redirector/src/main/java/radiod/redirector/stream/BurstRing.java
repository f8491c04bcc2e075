package radiod.redirector.stream;

import java.util.ArrayDeque;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;

/**
 * A mount's recent past, for the burst a new listener starts with: whole units (MP3 frames, Ogg pages), at most
 * {@code capacity} bytes of them, oldest first, so that the burst starts on a unit boundary and a decoder starts
 * clean; and, for Ogg, the current logical stream's header pages, without which a mid-stream page cannot be decoded
 * (a new header set, a chained stream starting, empties the ring: what came before belongs to the old stream).
 *
 * <p>Holds retained slices of the reader's batches; {@link #release} gives them back. Used on one event loop.
 */
final class BurstRing {
    private final int capacity;
    private final ArrayDeque<ByteBuf> units = new ArrayDeque<>();
    private int bytes;
    private ByteBuf headers;
    /** The last thing added was a header page, so the next one belongs to the same set. */
    private boolean inHeaders;

    BurstRing(int capacity) {
        this.capacity = capacity;
    }

    /** Header pages, in order; the first after a data unit starts a new set. */
    void header(ByteBuf batch, int index, int length) {
        if (!inHeaders) {
            clear();
            headers = Unpooled.buffer(length);
        }
        headers.writeBytes(batch, index, length);
        inHeaders = true;
    }

    /**
     * Data from a unit boundary ({@code framed}: the stream is cut into units) or bytes the framer could not place
     * (resynchronising after garbage), which a burst must not start with nor skip: the ring starts over after them.
     */
    void data(ByteBuf batch, int index, int length, boolean framed) {
        inHeaders = false;
        if (length > capacity || framed && !startsUnit(batch, index, length)) {
            clearUnits();
            return;
        }
        units.addLast(batch.retainedSlice(index, length));
        bytes += length;
        while (bytes > capacity) {
            ByteBuf oldest = units.removeFirst();
            bytes -= oldest.readableBytes();
            oldest.release();
        }
    }

    /** The current header pages (empty for streams without), then the units, to a new listener. */
    void writeTo(ListenerStream listener, IcyFramer.Metadata metadata) {
        if (headers != null) {
            listener.audio(headers, headers.readerIndex(), headers.readableBytes(), metadata);
        }
        for (ByteBuf unit : units) {
            listener.audio(unit, unit.readerIndex(), unit.readableBytes(), metadata);
        }
    }

    /**
     * Whether bytes start with what a framer's unit starts with: an MPEG audio or ADTS frame header, an ID3v2 tag, an
     * Ogg page. (The framer also hands on, as data, bytes it could not place; those do not.)
     */
    static boolean startsUnit(ByteBuf b, int index, int length) {
        return length >= 4 && startsUnit(b.getUnsignedByte(index), b.getUnsignedByte(index + 1),
                b.getUnsignedByte(index + 2), b.getUnsignedByte(index + 3));
    }

    static boolean startsUnit(Buffer b) {
        return b.length() >= 4 && startsUnit(b.getUnsignedByte(0), b.getUnsignedByte(1), b.getUnsignedByte(2),
                b.getUnsignedByte(3));
    }

    private static boolean startsUnit(int b0, int b1, int b2, int b3) {
        return b0 == 0xFF && (b1 & 0xE0) == 0xE0
                || b0 == 'I' && b1 == 'D' && b2 == '3'
                || b0 == 'O' && b1 == 'g' && b2 == 'g' && b3 == 'S';
    }

    int bytes() {
        return bytes;
    }

    boolean hasHeaders() {
        return headers != null;
    }

    /** Forgets everything: a new upstream stream starts (its headers come again first). */
    void clear() {
        clearUnits();
        if (headers != null) {
            headers.release();
            headers = null;
        }
        inHeaders = false;
    }

    private void clearUnits() {
        for (ByteBuf unit : units) {
            unit.release();
        }
        units.clear();
        bytes = 0;
    }

    void release() {
        clear();
    }
}
