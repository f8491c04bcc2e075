package radiod.redirector.stream;

import io.vertx.core.buffer.Buffer;

/**
 * Splits an ICY stream, as Icecast sends it to a client that asked for metadata, into its audio and its metadata.
 * After every {@code metaint} audio bytes comes one length byte L and 16·L bytes of metadata; L is 0 unless the
 * metadata changed, so each non-empty block is news. An upstream without metadata ({@code metaint} 0, as for Ogg)
 * is all audio.
 */
final class IcySplitter {
    /** Where the parts go, in stream order. */
    interface Sink {
        void audio(Buffer data);

        /** A non-empty block, its length byte included. */
        void metadata(Buffer block);
    }

    private final int metaint;
    private final Sink sink;
    private int audioLeft;
    /** The block being read, or null between blocks. */
    private Buffer block;
    private int blockLeft;

    IcySplitter(int metaint, Sink sink) {
        if (metaint < 0) {
            throw new IllegalArgumentException("metaint must be 0 (no metadata) or positive, got " + metaint);
        }
        this.metaint = metaint;
        this.sink = sink;
        this.audioLeft = metaint;
    }

    void accept(Buffer chunk) {
        int len = chunk.length();
        if (metaint == 0) {
            sink.audio(chunk);
            return;
        }
        int pos = 0;
        while (pos < len) {
            if (block != null) {
                int n = Math.min(blockLeft, len - pos);
                block.appendBuffer(chunk, pos, n);
                pos += n;
                blockLeft -= n;
                if (blockLeft == 0) {
                    Buffer done = block;
                    block = null;
                    audioLeft = metaint;
                    sink.metadata(done);
                }
            } else if (audioLeft == 0) {
                int blocks = chunk.getUnsignedByte(pos++);
                if (blocks == 0) {
                    audioLeft = metaint;
                } else {
                    block = Buffer.buffer(1 + 16 * blocks).appendByte((byte) blocks);
                    blockLeft = 16 * blocks;
                }
            } else {
                int n = Math.min(audioLeft, len - pos);
                sink.audio(pos == 0 && n == len ? chunk : chunk.slice(pos, pos + n));
                pos += n;
                audioLeft -= n;
            }
        }
    }
}
