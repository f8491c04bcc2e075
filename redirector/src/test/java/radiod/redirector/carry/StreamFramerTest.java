package radiod.redirector.carry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.vertx.core.buffer.Buffer;
import radiod.redirector.carry.StreamFramer.Kind;
import radiod.redirector.carry.StreamFramer.Piece;

/**
 * StreamFramer against real encoder output: MP3, AAC/ADTS, Ogg Vorbis and Opus made by ffmpeg, with frame
 * boundaries from ffprobe and Ogg pages checked by their CRC, and decoding checked by ffmpeg itself.
 */
class StreamFramerTest {
    private static byte[] mp3;
    private static byte[] mp3Other;
    private static byte[] aac;
    private static byte[] aacOther;
    private static byte[] vorbis;
    private static byte[] vorbisOther;
    private static byte[] opus;
    private static byte[] muxed;

    @BeforeAll
    static void encode() throws Exception {
        mp3 = ffmpegFile(440, 3, "-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3"); // with an Info frame
        mp3Other = ffmpeg(660, 3, "-c:a", "libmp3lame", "-b:a", "96k", "-f", "mp3");
        aac = ffmpeg(440, 3, "-c:a", "aac", "-f", "adts");
        aacOther = ffmpeg(660, 3, "-c:a", "aac", "-b:a", "64k", "-f", "adts");
        vorbis = ffmpeg(440, 4, "-c:a", "libvorbis", "-page_duration", "200000", "-f", "ogg");
        vorbisOther = ffmpeg(660, 4, "-c:a", "libvorbis", "-page_duration", "200000", "-f", "ogg");
        opus = ffmpeg(880, 4, "-c:a", "libopus", "-page_duration", "200000", "-f", "ogg");
        muxed = run(null, "ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
                "-f", "lavfi", "-i", "sine=frequency=880:duration=3", "-map", "0", "-map", "1", "-c:a:0", "libvorbis",
                "-c:a:1", "libopus", "-page_duration", "200000", "-f", "ogg", "-");
    }

    // ---------------------------------------------------------------- MPEG audio

    @Test
    void mp3UnitsAreTheId3TagTheInfoFrameAndEveryFrameFfprobeSees() throws Exception {
        assertEquals("ID3", new String(mp3, 0, 3, StandardCharsets.ISO_8859_1), "ffmpeg's MP3 starts with an ID3v2 tag");
        List<byte[]> units = unitsOneByteAtATime("audio/mpeg", mp3);
        int id3 = 10 + syncsafe(mp3, 6);
        assertArrayEquals(Arrays.copyOf(mp3, id3), units.get(0), "the ID3v2 tag is one unit");
        List<int[]> packets = ffprobePackets(mp3);
        String info = new String(units.get(1), StandardCharsets.ISO_8859_1);
        assertTrue(info.contains("Info") || info.contains("Xing"), "the second unit is the Info frame");
        assertArrayEquals(Arrays.copyOfRange(mp3, id3, packets.get(0)[0]), units.get(1),
                "the Info frame (which ffprobe does not count as a packet) is one frame");
        assertEquals(packets.size(), units.size() - 2, "one unit per MP3 frame");
        for (int i = 0; i < packets.size(); i++) {
            int[] p = packets.get(i);
            assertArrayEquals(Arrays.copyOfRange(mp3, p[0], p[0] + p[1]), units.get(i + 2), "frame " + i);
        }
    }

    @Test
    void mp3InRandomChunksComesOutWholeAndSplicesDecodeCleanly() throws Exception {
        TreeSet<Integer> boundaries = mp3Boundaries(mp3);
        for (int seed = 1; seed <= 6; seed++) {
            Fed fed = feed("audio/mpeg", mp3, new Random(seed), seed % 2 == 0 ? 64 : 3000);
            fed.assertLossless(mp3);
            assertEquals(0, fed.pending, "the last frame is complete, nothing held");
            for (int i = 0; i < fed.pieces.size(); i++) {
                assertEquals(Kind.DATA, fed.pieces.get(i).kind());
                assertTrue(boundaries.contains(fed.starts.get(i)), "piece " + i + " starts on a frame, seed " + seed
                        + " at " + fed.starts.get(i));
            }
        }
        Fed a = feed("audio/mpeg", mp3, new Random(7), 2000);
        Fed b = feed("audio/mpeg", mp3Other, new Random(8), 2000);
        byte[] splice = concat(a.bytes(0, a.pieces.size() / 2), b.bytes(b.pieces.size() / 3, b.pieces.size()));
        assertEquals("", decodeErrors(splice), "a splice of two MP3 streams at piece boundaries decodes cleanly");
        assertEquals("", decodeErrors(b.bytes(b.pieces.size() / 2, b.pieces.size())), "a cut from the middle");
        // The check can see a bad splice: the same splice 100 bytes off a boundary is a decoding error.
        int cutA = a.starts.get(a.pieces.size() / 2) + 100;
        int cutB = b.starts.get(b.pieces.size() / 3) + 100;
        byte[] raw = concat(Arrays.copyOf(mp3, cutA), Arrays.copyOfRange(mp3Other, cutB, mp3Other.length));
        assertNotEquals("", decodeErrors(raw), "ffmpeg reports a splice inside a frame");
    }

    @Test
    void chunkOfWholeFramesIsHandedOnAsItCame() {
        List<int[]> packets = mp3Packets();
        StreamFramer f = StreamFramer.forContentType("audio/mpeg");
        int end = packets.get(10)[0];
        Buffer chunk = Buffer.buffer(Arrays.copyOf(mp3, end));
        List<Piece> pieces = f.accept(chunk);
        assertEquals(1, pieces.size());
        assertSame(chunk, pieces.get(0).bytes(), "no copy when the chunk is whole frames");
        assertEquals(0, f.pending());
        Buffer next = Buffer.buffer(Arrays.copyOfRange(mp3, end, packets.get(12)[0] + 5));
        pieces = f.accept(next);
        assertEquals(1, pieces.size());
        assertEquals(Buffer.buffer(Arrays.copyOfRange(mp3, end, packets.get(12)[0])), pieces.get(0).bytes());
        assertEquals(5, f.pending(), "the next frame's first bytes are held");
        assertTrue(f.accept(Buffer.buffer(new byte[0])).isEmpty());
        assertEquals(0, f.headers().length(), "no headers for MP3");
        assertTrue(f.framed());
    }

    @Test
    void id3TagSpanningManyChunksIsOneUnit() throws Exception {
        byte[] tagged = ffmpeg(440, 3, "-c:a", "libmp3lame", "-b:a", "128k", "-metadata", "comment=" + "x".repeat(20000),
                "-f", "mp3");
        int id3 = 10 + syncsafe(tagged, 6);
        assertTrue(id3 > 20000, "a 20 kB tag");
        TreeSet<Integer> boundaries = mp3Boundaries(tagged);
        for (int seed = 1; seed <= 3; seed++) {
            Fed fed = feed("audio/mpeg", tagged, new Random(seed), 1500);
            fed.assertLossless(tagged);
            assertEquals(0, fed.starts.get(0));
            fed.starts.forEach(s -> assertTrue(boundaries.contains(s), "on a unit, not inside the tag: " + s));
        }
        List<byte[]> units = unitsOneByteAtATime("audio/mpeg", tagged);
        assertArrayEquals(Arrays.copyOf(tagged, id3), units.get(0), "the tag is one unit");
    }

    @Test
    void id3TagWithFooterIsOneUnit() {
        byte[] tag = id3Tag(30000, true);
        byte[] input = concat(tag, mp3);
        List<byte[]> units = unitsOneByteAtATime("audio/mpeg", input);
        assertArrayEquals(tag, units.get(0), "header, body and footer are one unit");
        assertArrayEquals(Arrays.copyOf(mp3, 10 + syncsafe(mp3, 6)), units.get(1), "then ffmpeg's own tag");
        assertEquals(mp3Packets().size() + 3, units.size(), "two tags, the Info frame, the frames");
    }

    @Test
    void id3TagLongerThanTheHoldBoundIsLetThroughAndFramesFollowOnBoundaries() throws Exception {
        byte[] tagged = concat(id3Tag(100_000, false), mp3);
        int id3 = 100_010;
        TreeSet<Integer> boundaries = new TreeSet<>();
        mp3Boundaries(mp3).forEach(b -> boundaries.add(id3 + b));
        Fed fed = feed("audio/mpeg", tagged, new Random(3), 1500);
        fed.assertLossless(tagged);
        assertTrue(fed.maxPending <= StreamFramer.MAX_HOLD, "held at most 64 KiB, held " + fed.maxPending);
        assertTrue(fed.starts.contains(id3), "a piece starts at the first frame after the tag");
        fed.starts.stream().filter(s -> s >= id3).forEach(s -> assertTrue(boundaries.contains(s), "on a frame: " + s));
    }

    @Test
    void garbageBeforeAndInsideAnMp3IsPassedOnAndTheFramerResyncs() throws Exception {
        List<int[]> packets = mp3Packets();
        byte[] front = garbage(new Random(11), 3000, new byte[] {(byte) 0xFF, (byte) 0xFB, (byte) 0x90, 0x64}, 2850);
        int middleAt = packets.get(40)[0];
        byte[] middle = garbage(new Random(12), 1777, new byte[] {(byte) 0xFF, (byte) 0xFB, (byte) 0x90, 0x64}, 1700);
        byte[] input = concat(front, Arrays.copyOf(mp3, middleAt), middle, Arrays.copyOfRange(mp3, middleAt, mp3.length));
        TreeSet<Integer> real = new TreeSet<>();
        for (int b : mp3Boundaries(mp3)) {
            real.add(front.length + (b < middleAt ? b : b + middle.length));
        }
        int midStart = front.length + middleAt;
        int midEnd = midStart + middle.length;
        for (int seed = 1; seed <= 4; seed++) {
            Fed fed = feed("audio/mpeg", input, new Random(seed), seed == 1 ? 1 : 900);
            fed.assertLossless(input);
            assertTrue(fed.starts.contains(front.length), "resynced at the ID3 tag after the front garbage");
            assertTrue(fed.starts.contains(midStart), "the garbage in the middle is a piece of its own");
            assertTrue(fed.starts.contains(midEnd), "resynced at the first frame after the garbage");
            for (int s : fed.starts) {
                boolean inGarbage = s < front.length || (s >= midStart && s < midEnd);
                assertTrue(inGarbage || real.contains(s), "piece at " + s + " starts on a frame, seed " + seed);
            }
            // The pieces from the frame after the garbage on decode without an error.
            int from = fed.starts.indexOf(midEnd);
            assertEquals("", decodeErrors(fed.bytes(from, fed.pieces.size())));
        }
    }

    @Test
    void garbageIsNeverHeldBeyondTheBound() {
        Random random = new Random(5);
        byte[] junk = new byte[300_000];
        random.nextBytes(junk);
        // Fake headers all over: an Ogg page claiming 255 full segments, MPEG and ADTS sync words.
        for (int at = 0; at + 400 < junk.length; at += 20_000) {
            byte[] fake = {'O', 'g', 'g', 'S', 0, 0};
            System.arraycopy(fake, 0, junk, at, fake.length);
            junk[at + 26] = (byte) 255;
            Arrays.fill(junk, at + 27, at + 27 + 255, (byte) 255);
            junk[at + 300] = (byte) 0xFF;
            junk[at + 301] = (byte) 0xFB;
            junk[at + 302] = (byte) 0x90;
            junk[at + 310] = (byte) 0xFF;
            junk[at + 311] = (byte) 0xF1;
        }
        for (String type : List.of("audio/mpeg", "audio/aac", "audio/ogg")) {
            Fed fed = feed(type, junk, new Random(6), 4000);
            fed.assertLossless(junk);
            assertTrue(fed.maxPending <= StreamFramer.MAX_HOLD, type + " held " + fed.maxPending);
            fed.pieces.forEach(p -> assertEquals(Kind.DATA, p.kind()));
        }
    }

    // ---------------------------------------------------------------- AAC / ADTS

    @Test
    void adtsUnitsAreTheFramesFfprobeSees() throws Exception {
        List<byte[]> units = unitsOneByteAtATime("audio/aac", aac);
        List<int[]> packets = ffprobePackets(aac);
        assertEquals(packets.size(), units.size());
        for (int i = 0; i < packets.size(); i++) {
            int[] p = packets.get(i);
            assertArrayEquals(Arrays.copyOfRange(aac, p[0], p[0] + p[1]), units.get(i), "frame " + i);
        }
    }

    @Test
    void adtsInRandomChunksComesOutWholeAndSplicesDecodeCleanly() throws Exception {
        TreeSet<Integer> boundaries = new TreeSet<>();
        ffprobePackets(aac).forEach(p -> boundaries.add(p[0]));
        for (int seed = 1; seed <= 4; seed++) {
            Fed fed = feed("audio/aacp", aac, new Random(seed), seed % 2 == 0 ? 50 : 2500);
            fed.assertLossless(aac);
            assertEquals(0, fed.pending);
            fed.starts.forEach(s -> assertTrue(boundaries.contains(s), "on a frame: " + s));
        }
        Fed a = feed("audio/aac", aac, new Random(9), 1500);
        Fed b = feed("audio/aac", aacOther, new Random(10), 1500);
        byte[] splice = concat(a.bytes(0, a.pieces.size() / 2), b.bytes(b.pieces.size() / 2, b.pieces.size()));
        assertEquals("", decodeErrors(splice), "a splice of two AAC streams at piece boundaries decodes cleanly");
        int cutA = a.starts.get(a.pieces.size() / 2) + 100;
        int cutB = b.starts.get(b.pieces.size() / 2) + 60;
        byte[] raw = concat(Arrays.copyOf(aac, cutA), Arrays.copyOfRange(aacOther, cutB, aacOther.length));
        assertNotEquals("", decodeErrors(raw), "ffmpeg reports a splice inside a frame");
    }

    @Test
    void garbageInsideAdtsIsPassedOnAndTheFramerResyncs() throws Exception {
        List<int[]> packets = ffprobePackets(aac);
        int at = packets.get(30)[0];
        byte[] junk = garbage(new Random(21), 999, new byte[] {(byte) 0xFF, (byte) 0xF1, 0x50, (byte) 0x80, 0x40}, 950);
        byte[] input = concat(Arrays.copyOf(aac, at), junk, Arrays.copyOfRange(aac, at, aac.length));
        Fed fed = feed("audio/aac", input, new Random(22), 700);
        fed.assertLossless(input);
        assertTrue(fed.starts.contains(at), "garbage is a piece of its own");
        assertTrue(fed.starts.contains(at + junk.length), "resynced at the next frame");
        for (int s : fed.starts) {
            if (s < at || s >= at + junk.length) {
                int inAac = s < at ? s : s - junk.length;
                assertTrue(packets.stream().anyMatch(p -> p[0] == inAac), "on a frame: " + s);
            }
        }
        assertEquals("", decodeErrors(fed.bytes(fed.starts.indexOf(at + junk.length), fed.pieces.size())));
    }

    // ---------------------------------------------------------------- Ogg

    @Test
    void oggVorbisHeadersArePrependableToAnyPieceFromTheMiddle() throws Exception {
        oggStream(vorbis, "audio/ogg");
    }

    @Test
    void oggOpusHeadersArePrependableToAnyPieceFromTheMiddle() throws Exception {
        oggStream(opus, "audio/opus");
    }

    @Test
    void multiplexedOggHeadersHoldEveryLogicalStreamsHeaderPages() throws Exception {
        List<Page> pages = pages(muxed);
        assertEquals(2, pages.stream().filter(p -> (p.flags & 2) != 0).count(), "two logical streams");
        oggStream(muxed, "application/ogg");
    }

    private void oggStream(byte[] ogg, String type) throws Exception {
        List<Page> pages = pages(ogg);
        byte[] expectedHeaders = headerPages(pages);
        assertTrue(expectedHeaders.length > 0);
        TreeSet<Integer> pageStarts = new TreeSet<>();
        pages.forEach(p -> pageStarts.add(p.offset));
        for (int seed = 1; seed <= 5; seed++) {
            Fed fed = feed(type, ogg, new Random(seed), seed % 2 == 0 ? 100 : 5000);
            fed.assertLossless(ogg);
            assertEquals(0, fed.pending);
            assertArrayEquals(expectedHeaders, fed.framer.headers().getBytes(), "headers() are the header pages");
            ByteArrayOutputStream headerPieces = new ByteArrayOutputStream();
            boolean dataSeen = false;
            for (int i = 0; i < fed.pieces.size(); i++) {
                Piece piece = fed.pieces.get(i);
                assertTrue(pageStarts.contains(fed.starts.get(i)), "piece starts on a page");
                List<Page> inPiece = pages(piece.bytes().getBytes()); // whole pages, every CRC right
                assertFalse(inPiece.isEmpty());
                if (piece.kind() == Kind.HEADERS) {
                    assertFalse(dataSeen, "header pages come first");
                    headerPieces.writeBytes(piece.bytes().getBytes());
                } else {
                    dataSeen = true;
                }
            }
            assertArrayEquals(expectedHeaders, headerPieces.toByteArray(), "HEADERS pieces are exactly the headers");
        }
        Fed fed = feed(type, ogg, new Random(42), 1200);
        byte[] headers = fed.framer.headers().getBytes();
        int mid = firstDataPieceAtOrAfter(fed, fed.pieces.size() / 2);
        byte[] middle = fed.bytes(mid, fed.pieces.size());
        assertEquals("", decodeErrors(concat(headers, middle)), "headers() + pages from the middle decode cleanly");
        assertNotEquals("", decodeErrors(middle), "the check can tell: without the headers it is an error");
    }

    @Test
    void chainedOggSwitchesHeadersAtTheNextBos() throws Exception {
        byte[] h1 = headerPages(pages(vorbis));
        byte[] h2 = headerPages(pages(opus));
        byte[] h3 = headerPages(pages(vorbisOther));
        byte[] chain = concat(vorbis, opus, vorbisOther);
        for (int seed = 1; seed <= 4; seed++) {
            StreamFramer framer = StreamFramer.forContentType("Audio/Ogg; codecs=vorbis");
            Random random = new Random(seed);
            int[] ends = {vorbis.length, vorbis.length + opus.length, chain.length};
            byte[][] expected = {h1, h2, h3};
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            ByteArrayOutputStream headerPieces = new ByteArrayOutputStream();
            int pos = 0;
            for (int link = 0; link < 3; link++) {
                while (pos < ends[link]) { // feed the link in random chunks, never across its end
                    int n = Math.min(1 + random.nextInt(3000), ends[link] - pos);
                    for (Piece p : framer.accept(Buffer.buffer(Arrays.copyOfRange(chain, pos, pos + n)))) {
                        all.writeBytes(p.bytes().getBytes());
                        if (p.kind() == Kind.HEADERS) {
                            headerPieces.writeBytes(p.bytes().getBytes());
                        }
                    }
                    pos += n;
                }
                assertEquals(0, framer.pending(), "a link ends on a page");
                assertArrayEquals(expected[link], framer.headers().getBytes(), "headers() of link " + link);
            }
            assertArrayEquals(chain, all.toByteArray());
            assertArrayEquals(concat(h1, h2, h3), headerPieces.toByteArray(), "each link's header pages are HEADERS");
        }
        // A reader joining in the middle of the second link gets its headers and decodes cleanly.
        StreamFramer framer = StreamFramer.forContentType("audio/vorbis");
        framer.accept(Buffer.buffer(vorbis));
        Fed second = feed(framer, opus, new Random(3), 900);
        assertArrayEquals(h2, framer.headers().getBytes());
        int mid = firstDataPieceAtOrAfter(second, second.pieces.size() / 2);
        assertEquals("", decodeErrors(concat(framer.headers().getBytes(), second.bytes(mid, second.pieces.size()))));
    }

    @Test
    void garbageInsideOggIsPassedOnAndTheFramerResyncs() throws Exception {
        List<Page> pages = pages(vorbis);
        int at = pages.get(6).offset;
        byte[] fakePage = new byte[40];
        System.arraycopy("OggS".getBytes(StandardCharsets.ISO_8859_1), 0, fakePage, 0, 4);
        fakePage[26] = 3;
        fakePage[27] = (byte) 200;
        fakePage[28] = (byte) 200;
        fakePage[29] = (byte) 200;
        byte[] junk = garbage(new Random(31), 1234, fakePage, 1190);
        byte[] input = concat(garbage(new Random(32), 500, new byte[0], 0), Arrays.copyOf(vorbis, at), junk,
                Arrays.copyOfRange(vorbis, at, vorbis.length));
        int junkAt = 500 + at;
        for (int seed = 1; seed <= 3; seed++) {
            Fed fed = feed("audio/ogg", input, new Random(seed), seed == 1 ? 1 : 800);
            fed.assertLossless(input);
            assertEquals(0, fed.pending);
            assertArrayEquals(headerPages(pages), fed.framer.headers().getBytes());
            assertTrue(fed.starts.contains(500), "resynced at the first page after the front garbage");
            assertTrue(fed.starts.contains(junkAt), "garbage is a piece of its own");
            assertTrue(fed.starts.contains(junkAt + junk.length), "resynced at the next page");
            for (int i = 0; i < fed.pieces.size(); i++) {
                int s = fed.starts.get(i);
                if (s >= 500 && (s < junkAt || s >= junkAt + junk.length)) {
                    pages(fed.pieces.get(i).bytes().getBytes()); // whole pages with good CRCs
                }
            }
        }
    }

    // ---------------------------------------------------------------- content types, pass-through

    @Test
    void contentTypesChooseTheFormat() {
        byte[] firstPage = Arrays.copyOf(vorbis, pages(vorbis).get(1).offset);
        int firstAdts = ((aac[3] & 3) << 11) | ((aac[4] & 0xFF) << 3) | ((aac[5] & 0xFF) >> 5);
        for (String type : List.of("audio/mpeg", "audio/mp3", "AUDIO/MPEG3", "audio/mpeg; charset=binary")) {
            assertArrayEquals(Arrays.copyOf(mp3, 10 + syncsafe(mp3, 6)), unitsOneByteAtATime(type, mp3).get(0), type);
        }
        for (String type : List.of("audio/aac", "audio/aacp", "audio/x-aac", " Audio/AACP ;rate=44100")) {
            assertArrayEquals(Arrays.copyOf(aac, firstAdts), unitsOneByteAtATime(type, aac).get(0), type);
        }
        for (String type : List.of("application/ogg", "audio/ogg", "video/ogg", "audio/opus", "audio/vorbis",
                "application/OGG; charset=x")) {
            StreamFramer f = StreamFramer.forContentType(type);
            assertTrue(f.framed(), type);
            Piece first = feed(f, vorbis, new Random(1), 1).pieces.get(0);
            assertEquals(Kind.HEADERS, first.kind(), type);
            assertArrayEquals(firstPage, first.bytes().getBytes(), type);
        }
    }

    @Test
    void unknownTypesPassEachChunkThroughAsItCame() {
        for (String type : Arrays.asList(null, "", "audio/flac", "text/plain", "audio/mpegurl", "application/octet-stream")) {
            StreamFramer f = StreamFramer.forContentType(type);
            assertFalse(f.framed(), String.valueOf(type));
            Random random = new Random(2);
            for (int pos = 0; pos < 20000;) {
                int n = 1 + random.nextInt(700);
                Buffer chunk = Buffer.buffer(Arrays.copyOfRange(mp3, pos, pos + n));
                List<Piece> out = f.accept(chunk);
                assertEquals(1, out.size());
                assertEquals(Kind.DATA, out.get(0).kind());
                assertSame(chunk, out.get(0).bytes());
                assertEquals(0, f.pending());
                pos += n;
            }
            assertEquals(0, f.headers().length());
        }
    }

    // ---------------------------------------------------------------- feeding

    /** What a framer made of an input fed in random chunks. */
    static final class Fed {
        final StreamFramer framer;
        final List<Piece> pieces = new ArrayList<>();
        /** Offset in the input of each piece. */
        final List<Integer> starts = new ArrayList<>();
        int emitted;
        int pending;
        int maxPending;

        Fed(StreamFramer framer) {
            this.framer = framer;
        }

        void assertLossless(byte[] input) {
            assertEquals(input.length, emitted + pending, "every byte is out or pending");
            assertArrayEquals(Arrays.copyOf(input, emitted), bytes(0, pieces.size()), "pieces are the input, in order");
        }

        byte[] bytes(int from, int to) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (int i = from; i < to; i++) {
                out.writeBytes(pieces.get(i).bytes().getBytes());
            }
            return out.toByteArray();
        }
    }

    static Fed feed(String type, byte[] input, Random random, int maxChunk) {
        return feed(StreamFramer.forContentType(type), input, random, maxChunk);
    }

    static Fed feed(StreamFramer framer, byte[] input, Random random, int maxChunk) {
        Fed fed = new Fed(framer);
        for (int pos = 0; pos < input.length;) {
            int n = Math.min(input.length - pos, 1 + random.nextInt(maxChunk));
            for (Piece p : framer.accept(Buffer.buffer(Arrays.copyOfRange(input, pos, pos + n)))) {
                assertTrue(p.bytes().length() > 0, "no empty piece");
                fed.pieces.add(p);
                fed.starts.add(fed.emitted);
                fed.emitted += p.bytes().length();
            }
            pos += n;
            fed.maxPending = Math.max(fed.maxPending, framer.pending());
            assertEquals(pos, fed.emitted + framer.pending(), "out + pending = in");
        }
        fed.pending = framer.pending();
        return fed;
    }

    /** Fed one byte at a time, each call returns at most one unit: the units themselves. */
    static List<byte[]> unitsOneByteAtATime(String type, byte[] input) {
        Fed fed = feed(type, input, new Random(0), 1);
        List<byte[]> units = new ArrayList<>();
        fed.pieces.forEach(p -> units.add(p.bytes().getBytes()));
        return units;
    }

    static int firstDataPieceAtOrAfter(Fed fed, int i) {
        while (fed.pieces.get(i).kind() != Kind.DATA) {
            i++;
        }
        return i;
    }

    // ---------------------------------------------------------------- ground truth

    /** An ID3v2.4 tag of {@code size} bytes after its header (a TXXX frame, then padding), with or without footer. */
    static byte[] id3Tag(int size, boolean footer) {
        byte[] tag = new byte[10 + size + (footer ? 10 : 0)];
        byte[] head = {'I', 'D', '3', 4, 0, (byte) (footer ? 0x10 : 0), (byte) (size >> 21 & 0x7F),
            (byte) (size >> 14 & 0x7F), (byte) (size >> 7 & 0x7F), (byte) (size & 0x7F)};
        System.arraycopy(head, 0, tag, 0, 10);
        byte[] text = "\u0003comment\u0000radiod".getBytes(StandardCharsets.ISO_8859_1);
        byte[] frame = concat(new byte[] {'T', 'X', 'X', 'X', 0, 0, 0, (byte) text.length, 0, 0}, text);
        System.arraycopy(frame, 0, tag, 10, frame.length);
        // Stray sync words in the tag's body: the tag is one unit all the same.
        tag[200] = (byte) 0xFF;
        tag[201] = (byte) 0xFB;
        tag[202] = (byte) 0x90;
        tag[203] = 0x64;
        if (footer) {
            System.arraycopy(head, 0, tag, 10 + size, 10);
            tag[10 + size] = '3';
            tag[12 + size] = 'I';
        }
        return tag;
    }

    static int syncsafe(byte[] b, int at) {
        return (b[at] & 0x7F) << 21 | (b[at + 1] & 0x7F) << 14 | (b[at + 2] & 0x7F) << 7 | (b[at + 3] & 0x7F);
    }

    /** ffprobe's packets of an MP3 or ADTS stream as {pos, size}; contiguous. */
    static List<int[]> ffprobePackets(byte[] media) throws Exception {
        String csv = new String(run(media, "ffprobe", "-v", "error", "-show_entries", "packet=pos,size", "-of",
                "csv=p=0", "-i", "-"), StandardCharsets.US_ASCII);
        List<int[]> packets = new ArrayList<>();
        for (String line : csv.split("\n")) { // size,pos (ffprobe's own field order)
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.trim().split(",");
            int size = Integer.parseInt(f[0]);
            int pos = Integer.parseInt(f[1]);
            packets.add(new int[] {pos, size});
        }
        for (int i = 1; i < packets.size(); i++) {
            assertEquals(packets.get(i - 1)[0] + packets.get(i - 1)[1], packets.get(i)[0], "contiguous packets");
        }
        int[] last = packets.get(packets.size() - 1);
        assertEquals(media.length, last[0] + last[1], "the last packet ends the stream");
        assertTrue(packets.size() > 50);
        return packets;
    }

    private static List<int[]> mp3Packets;

    static synchronized List<int[]> mp3Packets() {
        if (mp3Packets == null) {
            try {
                mp3Packets = ffprobePackets(mp3);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
        return mp3Packets;
    }

    /** Unit starts of an ffmpeg MP3: the ID3 tag, the Info frame after it, every frame ffprobe reads; and the end. */
    static TreeSet<Integer> mp3Boundaries(byte[] media) throws Exception {
        TreeSet<Integer> set = new TreeSet<>();
        set.add(0);
        set.add(10 + syncsafe(media, 6));
        ffprobePackets(media).forEach(p -> set.add(p[0]));
        set.add(media.length);
        return set;
    }

    record Page(int offset, byte[] bytes, int flags, long granule, int serial, int packetsEnded) {
    }

    /** The Ogg pages of {@code b}, which must be nothing but whole pages with right CRCs. */
    static List<Page> pages(byte[] b) {
        List<Page> pages = new ArrayList<>();
        int pos = 0;
        while (pos < b.length) {
            if (b.length - pos < 27 || b[pos] != 'O' || b[pos + 1] != 'g' || b[pos + 2] != 'g' || b[pos + 3] != 'S') {
                fail("no Ogg page at " + pos);
            }
            int segments = b[pos + 26] & 0xFF;
            int body = 0;
            int ended = 0;
            for (int i = 0; i < segments; i++) {
                int lace = b[pos + 27 + i] & 0xFF;
                body += lace;
                if (lace < 255) {
                    ended++;
                }
            }
            int length = 27 + segments + body;
            assertTrue(pos + length <= b.length, "a whole page at " + pos);
            byte[] page = Arrays.copyOfRange(b, pos, pos + length);
            int crc = (page[22] & 0xFF) | (page[23] & 0xFF) << 8 | (page[24] & 0xFF) << 16 | (page[25] & 0xFF) << 24;
            Arrays.fill(page, 22, 26, (byte) 0);
            assertEquals(crc, oggCrc(page), "CRC of the page at " + pos);
            long granule = 0;
            for (int i = 13; i >= 6; i--) {
                granule = granule << 8 | (b[pos + i] & 0xFF);
            }
            int serial = (b[pos + 14] & 0xFF) | (b[pos + 15] & 0xFF) << 8 | (b[pos + 16] & 0xFF) << 16
                    | (b[pos + 17] & 0xFF) << 24;
            pages.add(new Page(pos, Arrays.copyOfRange(b, pos, pos + length), b[pos + 5] & 0xFF, granule, serial, ended));
            pos += length;
        }
        return pages;
    }

    /** The pages that carry the header packets of each logical stream (Vorbis: 3, Opus: 2), concatenated. */
    static byte[] headerPages(List<Page> pages) {
        Map<Integer, Integer> missing = new HashMap<>();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Page p : pages) {
            if ((p.flags & 2) != 0) {
                String body = new String(p.bytes, 27 + (p.bytes[26] & 0xFF), 8, StandardCharsets.ISO_8859_1);
                if (body.startsWith("\u0001vorbis")) {
                    missing.put(p.serial, 3);
                } else if (body.equals("OpusHead")) {
                    missing.put(p.serial, 2);
                } else {
                    fail("unknown codec: " + body);
                }
            }
            int left = missing.getOrDefault(p.serial, 0);
            if (left > 0) {
                out.writeBytes(p.bytes);
                missing.put(p.serial, left - p.packetsEnded);
            }
        }
        return out.toByteArray();
    }

    static int oggCrc(byte[] page) {
        int crc = 0;
        for (byte value : page) {
            crc ^= (value & 0xFF) << 24;
            for (int i = 0; i < 8; i++) {
                crc = (crc & 0x80000000) != 0 ? (crc << 1) ^ 0x04C11DB7 : crc << 1;
            }
        }
        return crc;
    }

    static byte[] garbage(Random random, int length, byte[] fake, int fakeAt) {
        byte[] b = new byte[length];
        random.nextBytes(b);
        System.arraycopy(fake, 0, b, fakeAt, fake.length);
        return b;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    // ---------------------------------------------------------------- ffmpeg

    /** ffmpeg's encoding of a sine tone, to stdout. */
    static byte[] ffmpeg(int frequency, int seconds, String... output) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                "sine=frequency=" + frequency + ":duration=" + seconds));
        cmd.addAll(List.of(output));
        cmd.add("-");
        return run(null, cmd.toArray(String[]::new));
    }

    /** The same, written to a file (seekable: ffmpeg then writes an MP3's Xing/Info frame). */
    static byte[] ffmpegFile(int frequency, int seconds, String... output) throws Exception {
        Path file = Files.createTempFile("framer-encode", ".bin");
        try {
            List<String> cmd = new ArrayList<>(List.of("ffmpeg", "-y", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "sine=frequency=" + frequency + ":duration=" + seconds));
            cmd.addAll(List.of(output));
            cmd.add(file.toString());
            run(null, cmd.toArray(String[]::new));
            return Files.readAllBytes(file);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** What ffmpeg says (at level error) decoding {@code media} from stdin; empty when it decodes cleanly. */
    static String decodeErrors(byte[] media) throws Exception {
        Path err = Files.createTempFile("framer-decode", ".txt");
        try {
            Process p = new ProcessBuilder("ffmpeg", "-nostdin", "-v", "error", "-i", "-", "-f", "null", "-")
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
            writeAndClose(p.getOutputStream(), media);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("ffmpeg did not finish decoding");
            }
            String text = Files.readString(err).trim();
            return p.exitValue() == 0 ? text : ("exit " + p.exitValue() + " " + text).trim();
        } finally {
            Files.deleteIfExists(err);
        }
    }

    /** Runs a command with {@code stdin} (or none) and returns its stdout; it must exit 0. */
    static byte[] run(byte[] stdin, String... cmd) throws Exception {
        Path err = Files.createTempFile("framer-run", ".txt");
        try {
            Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    writeAndClose(p.getOutputStream(), stdin == null ? new byte[0] : stdin);
                } catch (IOException e) {
                    // the command may not read its stdin
                }
            });
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail(String.join(" ", cmd) + " did not finish");
            }
            writer.join();
            assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + Files.readString(err));
            return out;
        } finally {
            Files.deleteIfExists(err);
        }
    }

    private static void writeAndClose(OutputStream in, byte[] bytes) throws IOException {
        try (in) {
            in.write(bytes);
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("Broken pipe")) {
                throw e;
            }
        }
    }
}
