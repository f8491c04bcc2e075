package radiod.redirector.stream;

import java.util.function.Consumer;

import io.vertx.core.buffer.Buffer;

/**
 * Keeps a listener's ICY metadata cadence across upstream connections. An ICY stream inserts, after every
 * {@code metaint} audio bytes, one length byte L and 16·L bytes of metadata. When the proxy splices a second
 * upstream connection into the same listener response, the new upstream starts its own count from zero, so its
 * bytes cannot be forwarded as they are: this class splits each upstream into audio and metadata and writes them
 * out again on the listener's own count. While the upstream's cadence matches the listener's (the first
 * connection), the output is byte for byte the input.
 */
final class IcyFramer {
    private static final Buffer NO_METADATA = Buffer.buffer(new byte[] {0});
    private final int metaint;
    private final Consumer<Buffer> out;
    /** Output side: audio bytes still to write before the next metadata block is due. */
    private int outAudioLeft;
    private boolean metadataDue;
    private Buffer pending;
    /** Input side (the current upstream): its interval, or 0 for an upstream without metadata. */
    private int inMetaint;
    private int inAudioLeft;
    private int inMetaLeft = -1;
    private Buffer inMeta;

    IcyFramer(int metaint, Consumer<Buffer> out) {
        if (metaint < 1) {
            throw new IllegalArgumentException("metaint must be positive, got " + metaint);
        }
        this.metaint = metaint;
        this.out = out;
        this.outAudioLeft = metaint;
        upstream(metaint);
    }

    /** A new upstream connection starts, with its own interval (0 when it sends no metadata). */
    void upstream(int upstreamMetaint) {
        inMetaint = Math.max(0, upstreamMetaint);
        inAudioLeft = inMetaint;
        inMetaLeft = -1;
        inMeta = null;
    }

    /** Bytes from the current upstream. */
    void accept(Buffer chunk) {
        int pos = 0;
        int len = chunk.length();
        while (pos < len) {
            if (inMetaint == 0) {
                audio(pos == 0 ? chunk : chunk.slice(pos, len));
                return;
            }
            if (inMeta != null) {
                int n = Math.min(inMetaLeft, len - pos);
                inMeta.appendBuffer(chunk, pos, n);
                pos += n;
                inMetaLeft -= n;
                if (inMetaLeft == 0) {
                    metadata(inMeta);
                    inMeta = null;
                    inMetaLeft = -1;
                    inAudioLeft = inMetaint;
                }
            } else if (inAudioLeft == 0) {
                int blocks = chunk.getUnsignedByte(pos++);
                if (blocks == 0) {
                    metadata(null);
                    inAudioLeft = inMetaint;
                } else {
                    inMeta = Buffer.buffer(1 + 16 * blocks).appendByte((byte) blocks);
                    inMetaLeft = 16 * blocks;
                }
            } else {
                int n = Math.min(inAudioLeft, len - pos);
                audio(pos == 0 && n == len ? chunk : chunk.slice(pos, pos + n));
                pos += n;
                inAudioLeft -= n;
            }
        }
    }

    private void audio(Buffer data) {
        int pos = 0;
        int len = data.length();
        while (pos < len) {
            if (metadataDue) {
                // The upstream did not put a block here (a spliced stream): repeat what we have, or nothing.
                writeMetadata(pending);
            }
            int n = Math.min(outAudioLeft, len - pos);
            out.accept(pos == 0 && n == len ? data : data.slice(pos, pos + n));
            pos += n;
            outAudioLeft -= n;
            if (outAudioLeft == 0) {
                metadataDue = true;
            }
        }
    }

    private void metadata(Buffer block) {
        if (block != null) {
            pending = block;
        }
        if (metadataDue) {
            writeMetadata(block);
        }
    }

    private void writeMetadata(Buffer block) {
        out.accept(block == null ? NO_METADATA.copy() : block);
        if (block != null && block == pending) {
            pending = null;
        }
        metadataDue = false;
        outAudioLeft = metaint;
    }
}
