package radiod.redirector.stream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import radiod.testkit.Icecast;

/**
 * Listeners through the passthrough from a real Icecast 2.4 fed by ffmpeg (an MP3 and an Ogg Vorbis mount): many
 * listeners are one Icecast listener, real players decode what they get (ICY metadata included, an Ogg listener
 * joining mid-stream too), titles change, a listener that stops reading is dropped while the others go on.
 */
class PassthroughIT {
    static final String HOST = "127.0.0.1";
    static final String MP3 = "/live.mp3";
    static final String OGG = "/live.ogg";

    static Path dir;
    static Icecast icecast;
    static List<Process> encoders = new ArrayList<>();
    static Vertx vertx;
    static SimpleMeterRegistry registry = new SimpleMeterRegistry();
    static Passthrough passthrough;
    static HttpServer server;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("radiod-passthrough-it-");
        icecast = Icecast.start(HOST, List.of(new Icecast.Source(MP3, "source", "pw-mp3"), new Icecast.Source(OGG, "source", "pw-ogg")));
        encoders.add(Audio.mp3(dir, icecast.port(), MP3, "pw-mp3"));
        encoders.add(Audio.vorbis(dir, icecast.port(), OGG, "pw-ogg"));
        vertx = Vertx.vertx();
        passthrough = new Passthrough(vertx, registry, HOST, icecast.port(),
                PassthroughSettings.DEFAULTS.withLinger(Duration.ofSeconds(1)));
        // A fixed, small socket send buffer, as the node's front has, so that a stalled listener fills the kernel's
        // share within seconds (loopback autotuning would take minutes).
        server = vertx.createHttpServer(new HttpServerOptions().setHost(HOST).setPort(0).setSendBufferSize(32 * 1024))
                .requestHandler(req -> passthrough.serve(req, req.path().substring("/_stream".length())));
        server.listen().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(15)).until(() -> {
            Audio.assertAlive(encoders, dir);
            return icecast.hasSource(MP3) && icecast.hasSource(OGG);
        });
    }

    @AfterAll
    static void stop() throws Exception {
        for (Process p : encoders) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        if (vertx != null) {
            passthrough.close();
            vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
        if (icecast != null) {
            icecast.close();
        }
        Audio.delete(dir);
    }

    static String url(String mount) {
        return "http://" + HOST + ":" + server.actualPort() + "/_stream" + mount;
    }

    static Listening listen(String mount, String version, String... headers) throws Exception {
        return Listening.open(server.actualPort(), Listening.get("/_stream" + mount, version, headers));
    }

    @Test
    void tenListenersOnOneEventLoopAreOneIcecastListenerAndDecodeCleanly() throws Exception {
        await().atMost(Duration.ofSeconds(10)).until(() -> passthrough.readers() == 0);
        List<Listening> ls = new ArrayList<>();
        try {
            for (int i = 0; i < 10; i++) {
                Listening l = listen(MP3, "HTTP/1.1");
                assertEquals(200, l.status());
                assertEquals("audio/mpeg", l.header("Content-Type"));
                ls.add(l);
            }
            for (Listening l : ls) {
                Audio.assertDecodes(dir, l.read(40_000), "mp3");
            }
            assertEquals(Map.of(MP3, 10), passthrough.listenersByMount());
            assertEquals(10, passthrough.listeners());
            await().atMost(Duration.ofSeconds(5)).until(() -> icecast.listeners(MP3).orElseThrow() == 1);
            assertEquals(1, passthrough.readers());
        } finally {
            for (Listening l : ls) {
                l.close();
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.listeners() == 0);
        // The read lingers a second for a player coming back, then Icecast has no listener at all.
        await().atMost(Duration.ofSeconds(10)).until(() -> icecast.listeners(MP3).orElseThrow() == 0);
        assertEquals(Map.of(), passthrough.listenersByMount());
    }

    @Test
    void playersDecodeTheStreamWithoutAnErrorIcyMetadataIncluded() throws Exception {
        // ffmpeg asks for ICY metadata (Icy-MetaData: 1) and parses it out; a misplaced block is a decoding error.
        Audio.assertPlays(url(MP3), 5);
        // mpg123 does not: plain audio.
        Audio.assertMpg123Plays(url(MP3), 150);
    }

    @Test
    void anOggListenerJoiningMidStreamGetsTheHeadersFirstAndDecodes() throws Exception {
        try (Listening early = listen(OGG, "HTTP/1.1")) {
            early.read(10_000);
            // Let the stream move on well past its headers (and past the first listener's burst).
            Thread.sleep(4000);
            try (Listening late = listen(OGG, "HTTP/1.0")) {
                byte[] got = late.read(24_000); // the headers (a few kB) and well over 10 frames of audio
                assertEquals("OggS", new String(got, 0, 4, StandardCharsets.ISO_8859_1));
                assertEquals(0x02, got[5] & 0x02, "the first page begins the logical stream (BOS)");
                Audio.assertDecodes(dir, got, "ogg");
            }
            Audio.assertPlays(url(OGG), 4);
            // ffmpeg has gone; its connection is let go on the event loop a moment later.
            await().atMost(Duration.ofSeconds(5)).until(() -> Integer.valueOf(1).equals(passthrough.listenersByMount().get(OGG)));
        }
    }

    @Test
    void anIcyListenerGetsBlocksEvery16000BytesAndTheNewTitle() throws Exception {
        icecast.setTitle(MP3, "first song");
        try (Listening l = listen(MP3, "HTTP/1.1", "Icy-MetaData: 1")) {
            assertEquals("16000", l.header("icy-metaint"));
            List<String> titles = new ArrayList<>();
            java.io.ByteArrayOutputStream audio = new java.io.ByteArrayOutputStream();
            boolean changed = false;
            for (int block = 0; block < 30 && !titles.contains("StreamTitle='second song';"); block++) {
                audio.writeBytes(l.read(16_000));
                int len = 16 * (l.read(1)[0] & 0xff);
                if (len > 0) {
                    String text = new String(l.read(len), StandardCharsets.UTF_8).replace("\0", "");
                    assertTrue(text.startsWith("StreamTitle='"), "block " + block + ": " + text);
                    titles.add(text);
                }
                if (!changed && titles.contains("StreamTitle='first song';")) {
                    icecast.setTitle(MP3, "second song");
                    changed = true;
                }
            }
            // The first block, inside the burst, names the title the mount had then (the one before, if the read of
            // the mount had not seen the change yet); each change comes once, in order.
            assertTrue(titles.get(0).startsWith("StreamTitle='"), "the first block has the current title: " + titles);
            assertTrue(titles.indexOf("StreamTitle='first song';") >= 0
                    && titles.indexOf("StreamTitle='first song';") < titles.indexOf("StreamTitle='second song';"),
                    "titles seen: " + titles);
            assertEquals(titles.size(), titles.stream().distinct().count(), "a title only when it changes: " + titles);
            Audio.assertDecodes(dir, audio.toByteArray(), "mp3");
        }
    }

    @Test
    void aListenerThatStopsReadingIsDroppedWhileAnotherGoesOn() throws Exception {
        long droppedBefore = passthrough.dropped();
        try (Listening reading = listen(MP3, "HTTP/1.1");
             Listening stopped = Listening.open(server.actualPort(), Listening.get("/_stream" + MP3, "HTTP/1.1"), 4096)) {
            stopped.read(1000);
            java.io.ByteArrayOutputStream heard = new java.io.ByteArrayOutputStream();
            long started = System.nanoTime();
            byte[] buf = new byte[16384];
            while (passthrough.dropped() == droppedBefore && System.nanoTime() - started < TimeUnit.SECONDS.toNanos(40)) {
                int n = reading.read(buf, 0, buf.length);
                assertTrue(n > 0, "the reading listener's stream ended");
                if (heard.size() < 400_000) {
                    heard.write(buf, 0, n);
                }
            }
            long ms = (System.nanoTime() - started) / 1_000_000;
            assertEquals(droppedBefore + 1, passthrough.dropped(), "not dropped within " + ms + " ms");
            System.out.printf("a listener that stopped reading was dropped after %d ms%n", ms);
            heard.writeBytes(reading.read(32_000));
            Audio.assertDecodes(dir, heard.toByteArray(), "mp3");
            stopped.socket.setSoTimeout(3000);
            byte[] rest = stopped.readToEnd();
            // Its socket buffers and the queue (64 KiB), after the 64 KiB burst: nothing grows with time.
            assertTrue(rest.length < 300_000, "the dropped listener had " + rest.length + " bytes waiting");
        }
    }

    @Test
    void headAndHttp10() throws Exception {
        try (Listening head = Listening.open(server.actualPort(), "HEAD /_stream" + MP3 + " HTTP/1.1\r\nHost: x\r\n\r\n")) {
            assertEquals(200, head.status());
            assertEquals("audio/mpeg", head.header("Content-Type"));
            assertNull(head.header("Transfer-Encoding"));
        }
        try (Listening l = listen(MP3, "HTTP/1.0", "User-Agent: WinampMPEG/2.9")) {
            assertTrue(l.head.startsWith("HTTP/1.0 200 OK\r\n"), l.head);
            assertFalse(l.chunked);
            byte[] first = l.read(40_000);
            long started = System.nanoTime();
            long bytes = 0;
            byte[] buf = new byte[16384];
            while (System.nanoTime() - started < TimeUnit.SECONDS.toNanos(8)) {
                int n = l.read(buf, 0, buf.length);
                assertTrue(n > 0, "the stream ended after " + bytes + " bytes");
                bytes += n;
            }
            // 128 kbit/s is 16,000 bytes a second: eight seconds of real-time audio, give or take a batch.
            assertTrue(bytes > 100_000 && bytes < 200_000, "bytes in 8 s: " + bytes);
            Audio.assertDecodes(dir, first, "mp3");
            assertTrue(passthrough.listeners() >= 1);
        }
    }
}
