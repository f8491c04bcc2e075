package radiod.redirector.stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;

/** ICY metadata: split off what Icecast sends, and framed again on each listener's own count. */
class IcyFramerTest {
    /** An ICY stream: {@code audio} with a metadata block after every {@code metaint} bytes ({@code titles} cycled). */
    static byte[] icy(byte[] audio, int metaint, List<String> titles) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int block = 0;
        for (int pos = 0; pos < audio.length; pos += metaint) {
            int n = Math.min(metaint, audio.length - pos);
            out.write(audio, pos, n);
            if (n == metaint) {
                String title = titles.isEmpty() ? null : titles.get(block++ % titles.size());
                out.writeBytes(metadataBlock(title));
            }
        }
        return out.toByteArray();
    }

    static byte[] metadataBlock(String title) {
        if (title == null || title.isEmpty()) {
            return new byte[] {0};
        }
        byte[] text = ("StreamTitle='" + title + "';").getBytes(StandardCharsets.UTF_8);
        int blocks = (text.length + 15) / 16;
        byte[] b = new byte[1 + 16 * blocks];
        b[0] = (byte) blocks;
        System.arraycopy(text, 0, b, 1, text.length);
        return b;
    }

    /** Splits an ICY stream into its audio and its non-empty metadata texts; fails on a malformed block. */
    record Parsed(byte[] audio, List<String> titles) {
    }

    static Parsed parse(byte[] stream, int metaint) {
        ByteArrayOutputStream audio = new ByteArrayOutputStream();
        List<String> titles = new ArrayList<>();
        int pos = 0;
        while (pos < stream.length) {
            int n = Math.min(metaint, stream.length - pos);
            audio.write(stream, pos, n);
            pos += n;
            if (pos >= stream.length) {
                break;
            }
            int len = 16 * (stream[pos++] & 0xff);
            if (len > 0) {
                String text = new String(stream, pos, Math.min(len, stream.length - pos), StandardCharsets.UTF_8);
                if (!text.startsWith("StreamTitle='")) {
                    throw new AssertionError("metadata block at " + pos + " is not metadata: " + text);
                }
                titles.add(text.replace("\0", ""));
                pos += len;
            }
        }
        return new Parsed(audio.toByteArray(), titles);
    }

    static byte[] audio(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** What a splitter gives: the audio, and the blocks as texts. */
    static final class Split implements IcySplitter.Sink {
        final ByteArrayOutputStream audio = new ByteArrayOutputStream();
        final List<String> blocks = new ArrayList<>();

        @Override
        public void audio(Buffer data) {
            audio.writeBytes(data.getBytes());
        }

        @Override
        public void metadata(Buffer block) {
            assertEquals(16 * block.getUnsignedByte(0) + 1, block.length(), "a whole block, its length byte first");
            blocks.add(block.getString(1, block.length(), "UTF-8").replace("\0", ""));
        }
    }

    static void feed(IcySplitter splitter, byte[] stream, Random chunks) {
        for (int pos = 0; pos < stream.length; ) {
            int n = Math.min(stream.length - pos, 1 + chunks.nextInt(3000));
            splitter.accept(Buffer.buffer().appendBytes(stream, pos, n));
            pos += n;
        }
    }

    /** A mount's metadata as a reader holds it. */
    static class Current implements IcyFramer.Metadata {
        ByteBuf block;
        long version;

        void set(String title) {
            block = Unpooled.wrappedBuffer(metadataBlock(title));
            version++;
        }

        @Override
        public ByteBuf block() {
            return block;
        }

        @Override
        public long version() {
            return version;
        }
    }

    static final class Collect implements IcyFramer.Out {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public void write(ByteBuf buf, int index, int length) {
            byte[] b = new byte[length];
            buf.getBytes(index, b);
            bytes.writeBytes(b);
        }
    }

    @Test
    void theSplitterSeparatesAudioFromMetadataWhateverTheChunking() {
        byte[] sound = audio(100_000, 1);
        byte[] in = icy(sound, 1000, List.of("a", "", "", "b"));
        Split split = new Split();
        feed(new IcySplitter(1000, split), in, new Random(2));
        assertArrayEquals(sound, split.audio.toByteArray());
        // 100 blocks, every fourth one empty-titled "a" / "b" alternately, the others empty (not reported)
        assertEquals(50, split.blocks.size());
        assertEquals("StreamTitle='a';", split.blocks.get(0));
        assertEquals("StreamTitle='b';", split.blocks.get(1));
    }

    @Test
    void anUpstreamWithoutMetadataIsAllAudio() {
        byte[] sound = audio(10_000, 3);
        Split split = new Split();
        feed(new IcySplitter(0, split), sound, new Random(4));
        assertArrayEquals(sound, split.audio.toByteArray());
        assertEquals(List.of(), split.blocks);
    }

    @Test
    void eachListenerGetsBlocksOnItsOwnCountTheTitleFirstThenOnlyChanges() {
        Current current = new Current();
        current.set("first");
        IcyFramer framer = new IcyFramer(1000);
        Collect out = new Collect();
        byte[] sound = audio(10_500, 5);
        ByteBuf in = Unpooled.wrappedBuffer(sound);
        Random chunks = new Random(6);
        int pos = 0;
        while (pos < sound.length) {
            int n = Math.min(sound.length - pos, 1 + chunks.nextInt(1500));
            framer.audio(in, pos, n, current, out);
            pos += n;
            if (pos > 5000 && current.version == 1) {
                current.set("second");
            }
        }
        Parsed parsed = parse(out.bytes.toByteArray(), 1000);
        assertArrayEquals(sound, parsed.audio(), "every audio byte, in order, a block after every 1000");
        assertEquals(List.of("StreamTitle='first';", "StreamTitle='second';"), parsed.titles());
        // ten blocks: two with titles, eight empty (one byte each)
        assertEquals(sound.length + 8 + 2 * metadataBlock("first").length, out.bytes.size());
    }

    /**
     * A title that changes while a listener's block is being chosen (another thread wrote the cluster's title between
     * the framer's reads of the version and the block): the listener gets the new title at the latest one interval
     * later, never keeps the old one until the next change.
     */
    @Test
    void aTitleChangingWhileABlockIsChosenIsNotLostForTheListener() {
        Current racing = new Current() {
            int reads;

            @Override
            public long version() {
                long v = super.version();
                if (++reads == 1) {
                    set("Song B"); // lands right after the first interval's first read
                }
                return v;
            }
        };
        racing.set("Song A");
        IcyFramer framer = new IcyFramer(1000);
        Collect out = new Collect();
        byte[] audio = audio(4000, 5);
        framer.audio(Unpooled.wrappedBuffer(audio), 0, audio.length, racing, out);
        List<String> titles = parse(out.bytes.toByteArray(), 1000).titles();
        assertEquals("StreamTitle='Song B';", titles.get(titles.size() - 1), "the last title the listener got: " + titles);
    }

    @Test
    void twoListenersJoiningAtDifferentTimesHaveTheirOwnCounts() {
        Current current = new Current();
        current.set("now playing");
        byte[] sound = audio(40_000, 7);
        ByteBuf in = Unpooled.wrappedBuffer(sound);
        IcyFramer early = new IcyFramer(16_000);
        IcyFramer late = new IcyFramer(16_000);
        Collect a = new Collect();
        Collect b = new Collect();
        early.audio(in, 0, 40_000, current, a);
        late.audio(in, 7_000, 33_000, current, b);
        Parsed pa = parse(a.bytes.toByteArray(), 16_000);
        Parsed pb = parse(b.bytes.toByteArray(), 16_000);
        assertArrayEquals(sound, pa.audio());
        assertArrayEquals(java.util.Arrays.copyOfRange(sound, 7_000, 40_000), pb.audio());
        assertEquals(List.of("StreamTitle='now playing';"), pa.titles());
        assertEquals(List.of("StreamTitle='now playing';"), pb.titles());
    }

    @Test
    void batchesWithoutABlockCanBeWrittenAsTheyAreTheCountGoesOn() {
        Current current = new Current();
        current.set("title");
        IcyFramer framer = new IcyFramer(16_000);
        Collect out = new Collect();
        byte[] sound = audio(100_000, 8);
        ByteBuf in = Unpooled.wrappedBuffer(sound);
        Random batches = new Random(9);
        int pos = 0;
        int passed = 0;
        while (pos < sound.length) {
            int n = Math.min(sound.length - pos, 3000 + batches.nextInt(3000));
            if (framer.passes(n)) {
                out.write(in, pos, n); // as a shared batch is written
                passed++;
            } else {
                framer.audio(in, pos, n, current, out);
            }
            pos += n;
        }
        IcyFramerTest.Parsed parsed = parse(out.bytes.toByteArray(), 16_000);
        assertArrayEquals(sound, parsed.audio());
        assertEquals(List.of("StreamTitle='title';"), parsed.titles());
        assertTrue(passed > 10, passed + " batches passed as they were");
    }

    @Test
    void theIntervalIsHalfASecondOfTheMountsAudioWithinIcecastsBounds() {
        assertEquals(8000, IcyFramer.metaintFor(128_000), "128 kbit/s: 16000 bytes a second, a block every 0.5 s");
        assertEquals(4000, IcyFramer.metaintFor(64_000));
        assertEquals(IcyFramer.MIN_METAINT, IcyFramer.metaintFor(16_000));
        assertEquals(IcyFramer.METAINT, IcyFramer.metaintFor(320_000));
        assertEquals(IcyFramer.METAINT, IcyFramer.metaintFor(0), "unknown bitrate: Icecast's default");
    }

    @Test
    void aTitleBlockIsStreamTitleInUtf8PaddedTo16ByteUnits() {
        byte[] block = IcyFramer.titleBlock("Café – 'Live'");
        String text = "StreamTitle='Café – 'Live'';";
        int length = text.getBytes(StandardCharsets.UTF_8).length;
        assertEquals((length + 15) / 16, block[0]);
        assertEquals(1 + 16 * block[0], block.length);
        assertEquals(text, new String(block, 1, length, StandardCharsets.UTF_8));
        for (int i = 1 + length; i < block.length; i++) {
            assertEquals(0, block[i], "zero padding");
        }
    }
}
