package radiod.redirector.stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.vertx.core.buffer.Buffer;

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
        if (title == null) {
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
                titles.add(text.trim());
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

    static void feed(IcyFramer framer, byte[] stream, Random chunks) {
        for (int pos = 0; pos < stream.length; ) {
            int n = Math.min(stream.length - pos, 1 + chunks.nextInt(3000));
            framer.accept(Buffer.buffer().appendBytes(stream, pos, n));
            pos += n;
        }
    }

    @Test
    void anAlignedUpstreamPassesByteForByteWhateverTheChunking() {
        byte[] in = icy(audio(100_000, 1), 1000, List.of("a", "", "b"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        IcyFramer framer = new IcyFramer(1000, b -> out.writeBytes(b.getBytes()));
        feed(framer, in, new Random(2));
        assertArrayEquals(in, out.toByteArray());
    }

    @Test
    void aSplicedUpstreamIsReframedOnTheListenersCount() {
        byte[] first = audio(25_500, 3);   // ends mid-interval (and the upstream cut mid-block below)
        byte[] second = audio(40_000, 4);
        byte[] in1 = icy(first, 1000, List.of("first"));
        byte[] cut = java.util.Arrays.copyOf(in1, in1.length - 300 + 5); // a partial audio interval survives
        byte[] in2 = icy(second, 1000, List.of("second"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        IcyFramer framer = new IcyFramer(1000, b -> out.writeBytes(b.getBytes()));
        feed(framer, cut, new Random(5));
        framer.upstream(1000);
        feed(framer, in2, new Random(6));

        Parsed listener = parse(out.toByteArray(), 1000);
        Parsed cutParsed = parse(cut, 1000);
        ByteArrayOutputStream expectedAudio = new ByteArrayOutputStream();
        expectedAudio.writeBytes(cutParsed.audio());
        expectedAudio.writeBytes(second);
        assertArrayEquals(expectedAudio.toByteArray(), listener.audio(), "every audio byte, in order, none of it metadata");
        assertEquals("StreamTitle='second';", listener.titles().get(listener.titles().size() - 1));
    }

    @Test
    void anUpstreamWithADifferentIntervalOrNoneIsReframedToo() {
        byte[] first = audio(5_000, 7);
        byte[] second = audio(9_000, 8);
        byte[] third = audio(3_000, 9);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        IcyFramer framer = new IcyFramer(1000, b -> out.writeBytes(b.getBytes()));
        feed(framer, icy(first, 1000, List.of("one")), new Random(1));
        framer.upstream(700);
        feed(framer, icy(second, 700, List.of("two")), new Random(2));
        framer.upstream(0);
        feed(framer, third, new Random(3));
        Parsed listener = parse(out.toByteArray(), 1000);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.writeBytes(first);
        expected.writeBytes(second);
        expected.writeBytes(third);
        assertArrayEquals(expected.toByteArray(), listener.audio());
        assertEquals(List.of("StreamTitle='one';", "StreamTitle='two';"), listener.titles().stream().distinct().toList());
    }
}
