package radiod.tests.traffic;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import radiod.cluster.model.Mount;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;
import radiod.testkit.encoder.Ices2;
import radiod.testkit.encoder.Tone;

/**
 * Encoders of every kind (ffmpeg with PUT and with SOURCE, ices2 with libshout) reach the master's Icecast through a
 * non-master node's source port, and are heard by listeners redirected from a third node; wrong credentials and
 * unknown mounts never reach Icecast.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TrafficIT {
    private static final int TTL = 3;

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    static RadiodCluster cluster;
    static final Mount LIVE = new Mount("/live.mp3", "source", "hackme-live", null, null, 0, 128, null);
    static final Mount OGG = new Mount("/ices.ogg", "source", "hackme-ogg", null, null, 0, 96, null);
    Process encoder;

    @BeforeAll
    static void startCluster() {
        cluster = new RadiodCluster(etcd, 3, TTL).start();
        cluster.awaitReady(Duration.ofSeconds(30));
        cluster.putMount(LIVE);
        cluster.putMount(OGG);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @AfterEach
    void stopEncoder() throws Exception {
        if (encoder != null) {
            encoder.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        await().atMost(Duration.ofSeconds(15)).until(() ->
                cluster.snapshot().node(cluster.master().orElseThrow().name()).map(n -> !n.hasMount("/live.mp3")).orElse(false));
    }

    static RadiodProcess nonMaster(int skip) {
        RadiodProcess master = cluster.master().orElseThrow();
        return cluster.nodes().stream().filter(n -> n != master).skip(skip).findFirst().orElseThrow();
    }

    static String sourceUrl(RadiodProcess via, Mount m) {
        return "icecast://" + m.sourceUser() + ":" + m.sourcePassword() + "@" + via.address() + ":" + cluster.sourcePort + m.path();
    }

    /** Follows the redirect from a node's HTTP port and checks the audio with ffprobe. */
    static void listenerGetsDecodableAudio(RadiodProcess via, String mount, String codec) throws Exception {
        Path file = Files.createTempFile("radiod-listen-", mount.endsWith(".ogg") ? ".ogg" : ".mp3");
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> {
            byte[] audio = Streams.read(via.httpUrl(mount), 48_000, 5000);
            if (audio.length < 32_000) {
                return false;
            }
            Files.write(file, audio);
            Process p = new ProcessBuilder("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                    file.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor(20, TimeUnit.SECONDS);
            return out.contains(codec);
        });
        Files.deleteIfExists(file);
    }

    /** Starts the encoder, and restarts it as a real encoder would, until the master's Icecast has the mount live. */
    void feedUntilLive(RadiodProcess via, Mount m, boolean legacy) {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> {
            if (encoder == null || !encoder.isAlive()) {
                encoder = (legacy ? Tone.mp3(sourceUrl(via, m)).legacySource() : Tone.mp3(sourceUrl(via, m))).start();
            }
            return cluster.snapshot().node(cluster.master().orElseThrow().name()).map(n -> n.hasMount(m.path())).orElse(false);
        });
    }

    static void awaitLiveOnMaster(String mount) {
        await().atMost(Duration.ofSeconds(15)).until(() ->
                cluster.snapshot().node(cluster.master().orElseThrow().name()).map(n -> n.hasMount(mount)).orElse(false));
    }

    @Test
    @Order(1)
    void ffmpegWithPutThroughANonMasterNodeIsHeardThroughARedirectFromAnotherNode() throws Exception {
        RadiodProcess feeder = nonMaster(0);
        feedUntilLive(feeder, LIVE, false);
        RadiodProcess listenerNode = nonMaster(1);
        HttpURLConnection c = (HttpURLConnection) URI.create(listenerNode.httpUrl("/live.mp3?src=test")).toURL().openConnection();
        c.setInstanceFollowRedirects(false);
        int status = c.getResponseCode();
        if (status == 302) {
            String location = c.getHeaderField("Location");
            assertTrue(location.matches("http://127\\.0\\.0\\.1[123]:" + cluster.httpPort + "/_stream/live\\.mp3\\?src=test"), location);
        } else {
            assertEquals(200, status, "either a redirect or served by this node");
        }
        c.disconnect();
        listenerGetsDecodableAudio(listenerNode, "/live.mp3", "mp3");
    }

    @Test
    @Order(2)
    void ffmpegWithLegacySourceWorksToo() throws Exception {
        feedUntilLive(nonMaster(1), LIVE, true);
        listenerGetsDecodableAudio(nonMaster(0), "/live.mp3", "mp3");
    }

    @Test
    @Order(3)
    void ices2WithLibshoutSendsOggVorbisThroughTheSourcePort() throws Exception {
        Path dir = Files.createTempDirectory("radiod-ices-");
        RadiodProcess feeder = nonMaster(0);
        // One chain for the whole test (ices2 plays the file once): no new header pages come after the start.
        encoder = Ices2.play(dir, Ices2.oggFile(dir, 40), feeder.address(), cluster.sourcePort, OGG.path(),
                OGG.sourcePassword());
        try {
            awaitLiveOnMaster("/ices.ogg");
            RadiodProcess relay = nonMaster(1);
            listenerGetsDecodableAudio(relay, "/ices.ogg", "vorbis");
            // The relay's Icecast dies and is started again. Its node feeds it the stream again, starting with the
            // chain's header pages: Icecast drops the pages of an Ogg stream whose headers it has not had, and a
            // listener could not decode them anyway. Its pull took the session from its first byte, before the hub
            // knew the headers.
            ProcessHandle before = relay.icecast().orElseThrow();
            before.destroyForcibly();
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).until(() ->
                    relay.icecast().map(h -> h.pid() != before.pid()).orElse(false)
                            && Streams.read(relay.icecastUrl("/ices.ogg"), 1, 1000).length > 0);
            byte[] heard = Streams.read(relay.icecastUrl("/ices.ogg"), 8_192, 5000);
            assertTrue(heard.length >= 58, "heard " + heard.length + " bytes from the restarted Icecast");
            assertEquals("OggS", new String(heard, 0, 4, StandardCharsets.ISO_8859_1));
            assertEquals(2, heard[5] & 0x02, "the first page begins the logical stream (BOS)");
            assertEquals("\u0001vorbis", new String(heard, 28, 7, StandardCharsets.ISO_8859_1),
                    "its first packet is the Vorbis identification header");
        } finally {
            encoder.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(15)).until(() ->
                    cluster.snapshot().node(cluster.master().orElseThrow().name()).map(n -> !n.hasMount("/ices.ogg")).orElse(false));
        }
    }

    static String rawRequest(String host, int port, String request) throws Exception {
        try (Socket s = new Socket(host, port)) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readNBytes(2048), StandardCharsets.ISO_8859_1);
        }
    }

    static String icecastErrorLog(RadiodProcess node) throws Exception {
        Path log = cluster.dir().resolve(node.name() + "-icecast").resolve("log").resolve("error.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    @Test
    @Order(4)
    void wrongCredentialsAndUnknownMountsNeverReachIcecast() throws Exception {
        RadiodProcess feeder = nonMaster(0);
        RadiodProcess master = cluster.master().orElseThrow();
        long loginsBefore = icecastErrorLog(master).lines().filter(l -> l.contains("Source logging in")).count();
        String basicWrong = Base64.getEncoder().encodeToString("source:wrong".getBytes(StandardCharsets.UTF_8));
        String wrong = rawRequest(feeder.address(), cluster.sourcePort, "SOURCE /live.mp3 HTTP/1.0\r\nAuthorization: Basic "
                + basicWrong + "\r\nContent-Type: audio/mpeg\r\n\r\n");
        assertTrue(wrong.startsWith("HTTP/1.0 401"), wrong);
        assertTrue(wrong.contains("WWW-Authenticate: Basic realm=\"Icecast2 Server\""), wrong);
        String none = rawRequest(feeder.address(), cluster.sourcePort, "SOURCE /live.mp3 ICE/1.0\r\ncontent-type: audio/mpeg\r\n\r\n");
        assertTrue(none.startsWith("HTTP/1.0 401"), none);
        String basicRight = Base64.getEncoder().encodeToString(("source:" + LIVE.sourcePassword()).getBytes(StandardCharsets.UTF_8));
        String unknown = rawRequest(feeder.address(), cluster.sourcePort, "PUT /nope.mp3 HTTP/1.1\r\nAuthorization: Basic "
                + basicRight + "\r\nExpect: 100-continue\r\n\r\n");
        assertTrue(unknown.startsWith("HTTP/1.0 404"), unknown);
        assertTrue(rawRequest(feeder.address(), cluster.sourcePort, "GET /admin/!POKE HTTP/1.1\r\n\r\n").startsWith("HTTP/1.0 400"));
        String get = rawRequest(feeder.address(), cluster.sourcePort, "GET /live.mp3 HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(get.startsWith("HTTP/1.0 302") && get.contains("Location: http://" + feeder.address() + ":" + cluster.httpPort
                + "/live.mp3"), get);
        String garbage = rawRequest(feeder.address(), cluster.sourcePort, "\u0000\u0001garbage\r\n\r\n");
        assertTrue(garbage.startsWith("HTTP/1.0 400"), garbage);
        // The master's Icecast saw none of it: no source login attempt at all for these.
        String log = icecastErrorLog(master);
        assertFalse(log.contains("/nope.mp3"), "unknown mount reached Icecast");
        assertEquals(loginsBefore, log.lines().filter(l -> l.contains("Source logging in")).count(), "a bad source reached Icecast");
        String metrics = new String(Streams.read(feeder.httpUrl("/metrics"), 1 << 20, 3000));
        assertTrue(metrics.contains("radiod_source_auth_failures_total{reason=\"wrong_credentials\"} 1.0"), metrics);
    }

    @Test
    @Order(5)
    void icecastInternalsAreNotReachableThroughTheHttpPort() throws Exception {
        RadiodProcess n = cluster.node(0);
        for (String path : List.of("/admin/stats", "/admin/listclients?mount=/live.mp3", "/status.xsl",
                "/server_version.xsl", "/_stream/admin/stats")) {
            HttpURLConnection c = (HttpURLConnection) URI.create(n.httpUrl(path)).toURL().openConnection();
            c.setInstanceFollowRedirects(false);
            assertEquals(404, c.getResponseCode(), path);
            assertFalse(c.getHeaderFields().toString().contains("Icecast"), path + " answered by Icecast");
            c.disconnect();
        }
        HttpURLConnection unknown = (HttpURLConnection) URI.create(n.httpUrl("/nope.mp3")).toURL().openConnection();
        assertEquals(404, unknown.getResponseCode());
        HttpURLConnection post = (HttpURLConnection) URI.create(n.httpUrl("/live.mp3")).toURL().openConnection();
        post.setRequestMethod("POST");
        assertEquals(405, post.getResponseCode());
    }

    @Test
    @Order(6)
    void playlistsPointAtTheClusterUrlAndMetricsCountRedirects() throws Exception {
        RadiodProcess n = cluster.node(0);
        String m3u = new String(Streams.read(n.httpUrl("/live.mp3.m3u"), 4096, 3000));
        assertTrue(m3u.contains("http://" + n.address() + ":" + cluster.httpPort + "/live.mp3"), m3u);
        String pls = new String(Streams.read(n.httpUrl("/live.mp3.pls"), 4096, 3000));
        assertTrue(pls.startsWith("[playlist]") && pls.contains("File1=http://"), pls);
        String metrics = new String(Streams.read(cluster.node(2).httpUrl("/metrics"), 1 << 20, 3000));
        int samples = 0;
        for (String line : metrics.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            assertTrue(line.matches("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{.*\\})? [-+0-9.eE]+|.* (NaN|[+-]Inf)"), "not Prometheus text: " + line);
            samples++;
        }
        assertTrue(samples > 20);
        Matcher redirects = Pattern.compile("radiod_(redirects|direct_streams)_total\\{node=\"node\\d\"(,via=\"local\")?} ([0-9.]+)")
                .matcher(metrics + new String(Streams.read(cluster.node(0).httpUrl("/metrics"), 1 << 20, 3000))
                        + new String(Streams.read(cluster.node(1).httpUrl("/metrics"), 1 << 20, 3000)));
        assertTrue(redirects.find(), "no redirect counted");
        assertTrue(metrics.contains("radiod_master "), "role gauge");
        assertTrue(metrics.contains("radiod_http_connections{port=\"http\"}"), "open connections of the HTTP front");
        assertFalse(metrics.contains("vertx_http_server_requests"), "Vert.x's per-request meters stay off (VertxMeters)");
    }

    @Test
    @Order(7)
    void whenTheMasterDiesAnEncoderOnASurvivingNodeKeepsStreamingAndReachesTheNewMaster() throws Exception {
        RadiodProcess old = cluster.master().orElseThrow();
        RadiodProcess feeder = nonMaster(0);
        // A plain ffmpeg: it never reconnects by itself, so it must never be dropped.
        encoder = Tone.mp3(sourceUrl(feeder, LIVE)).start();
        awaitLiveOnMaster("/live.mp3");
        old.kill();
        await().atMost(Duration.ofSeconds(TTL + 2)).until(() -> cluster.master().filter(m -> m != old).isPresent());
        RadiodProcess master = cluster.master().orElseThrow();
        assertNotEquals(old, master);
        await().atMost(Duration.ofSeconds(5)).until(() ->
                cluster.snapshot().node(master.name()).map(n -> n.hasMount("/live.mp3")).orElse(false));
        listenerGetsDecodableAudio(feeder, "/live.mp3", "mp3");
        assertTrue(encoder.isAlive(), "the encoder's connection was closed: it would have gone off the air");
        old.start();
        cluster.awaitReady(Duration.ofSeconds(30));
        assertTrue(encoder.isAlive(), "the encoder's connection was closed when the old master came back");
    }
}
