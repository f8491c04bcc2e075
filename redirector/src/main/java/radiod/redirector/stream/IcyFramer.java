package radiod.redirector.stream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Puts ICY metadata into one listener's audio on the listener's own count: after every {@value #METAINT} audio
 * bytes it has been sent, one metadata block. The block carries the mount's current metadata the first time the
 * listener reaches a block after it changed (so a new listener learns the title at its first block), and is empty
 * (a single 0) otherwise, as Icecast does. Whatever the upstream's own interval, and across upstream connections,
 * the listener's count is never broken.
 */
final class IcyFramer {
    /** The interval for a mount of unknown bitrate ({@code icy-metaint}), Icecast's default. */
    static final int METAINT = 16_000;
    /** A title reaches a listener at its next block: a block every half second of audio, within these bounds. */
    static final int MIN_METAINT = 2048;
    static final double SECONDS_PER_BLOCK = 0.5;
    /** The block of unchanged metadata: one zero byte, shared by every listener, never released. */
    static final ByteBuf EMPTY_BLOCK = Unpooled.unreleasableBuffer(Unpooled.directBuffer(1, 1).writeByte(0));

    /** Where the framed bytes go: a slice of a buffer that stays valid for the call only. */
    interface Out {
        void write(ByteBuf buf, int index, int length);
    }

    /** A mount's current metadata block (length byte included) and its version, from its reader. */
    interface Metadata {
        /** Null while the mount has sent none. */
        ByteBuf block();

        long version();
    }

    private final int metaint;
    private int audioLeft;
    private long sentVersion = -1;

    IcyFramer() {
        this(METAINT);
    }

    /**
     * The interval for a mount of {@code bitsPerSecond}: half a second of its audio (so a new title is heard within
     * about that), at least {@value #MIN_METAINT} bytes, at most Icecast's {@value #METAINT}; unknown bitrate
     * (0): {@value #METAINT}.
     */
    static int metaintFor(long bitsPerSecond) {
        if (bitsPerSecond <= 0) {
            return METAINT;
        }
        long bytes = (long) (bitsPerSecond / 8 * SECONDS_PER_BLOCK);
        return (int) Math.max(MIN_METAINT, Math.min(METAINT, bytes));
    }

    /** A block carrying {@code StreamTitle='title';} (length byte first, zero-padded to 16-byte units). */
    static byte[] titleBlock(String title) {
        byte[] text = ("StreamTitle='" + title + "';").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int units = Math.min(255, (text.length + 15) / 16);
        byte[] block = new byte[1 + units * 16];
        block[0] = (byte) units;
        System.arraycopy(text, 0, block, 1, Math.min(text.length, units * 16));
        return block;
    }

    IcyFramer(int metaint) {
        if (metaint < 1) {
            throw new IllegalArgumentException("metaint must be positive, got " + metaint);
        }
        this.metaint = metaint;
        this.audioLeft = metaint;
    }

    /**
     * Counts {@code length} audio bytes the caller writes itself, when no block falls among or right after them
     * (then it returns true); else it counts nothing and returns false, and {@link #audio} must place the block.
     */
    boolean passes(int length) {
        if (length < audioLeft) {
            audioLeft -= length;
            return true;
        }
        return false;
    }

    /** Writes {@code length} audio bytes of {@code audio} from {@code index}, with blocks where they are due. */
    void audio(ByteBuf audio, int index, int length, Metadata metadata, Out out) {
        int pos = index;
        int end = index + length;
        while (pos < end) {
            int n = Math.min(audioLeft, end - pos);
            out.write(audio, pos, n);
            pos += n;
            audioLeft -= n;
            if (audioLeft == 0) {
                // The version before the block: a title that changes between the two reads is then sent again at the
                // next interval (its version is newer than the one kept), never skipped for this listener.
                long version = metadata.version();
                ByteBuf block = metadata.block();
                if (block != null && version != sentVersion) {
                    sentVersion = version;
                    out.write(block, block.readerIndex(), block.readableBytes());
                } else {
                    out.write(EMPTY_BLOCK, 0, 1);
                }
                audioLeft = metaint;
            }
        }
    }
}
