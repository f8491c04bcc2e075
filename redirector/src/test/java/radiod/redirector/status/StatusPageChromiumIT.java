package radiod.redirector.status;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.FrontFixture;

/** The status page as a real browser renders it: headless Chromium reads the DOM and takes a screenshot. */
class StatusPageChromiumIT {
    static final Path ARTIFACTS = Path.of("target", "artifacts");
    static FrontFixture front;

    @BeforeAll
    static void start() throws Exception {
        front = new FrontFixture(FrontFixture.snapshot(List.of(
                FrontFixture.node(1, true, 120, 500, Map.of("/live.mp3", 100, "/jazz/other.ogg", 20)),
                FrontFixture.node(2, true, 80, 500, Map.of("/live.mp3", 80)),
                FrontFixture.node(3, false, 0, 0, Map.of()))), null);
        front.master.set(true);
    }

    @AfterAll
    static void stop() throws Exception {
        front.close();
    }

    static String chromium() {
        for (String candidate : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser")) {
            if (new File(candidate).canExecute()) {
                return candidate;
            }
        }
        return fail("Chromium is not installed (looked for /usr/bin/chromium): install the Debian package with "
                + "`apt-get install chromium` — bin/test does this");
    }

    /** Runs headless Chromium on a fresh profile; returns its standard output. */
    static String run(String... args) throws Exception {
        Path profile = Files.createTempDirectory("radiod-chromium-");
        try {
            List<String> command = new ArrayList<>(List.of(chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile));
            command.addAll(List.of(args));
            Path err = Files.createTempFile("radiod-chromium-", ".log");
            Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("chromium did not finish within 60 s: " + command);
            }
            String log = Files.readString(err);
            Files.deleteIfExists(err);
            assertTrue(p.exitValue() == 0, "chromium exited with " + p.exitValue() + ": " + log);
            return new String(out, StandardCharsets.UTF_8);
        } finally {
            deleteTree(profile);
        }
    }

    static void deleteTree(Path dir) throws java.io.IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Test
    void theStatusPageShowsNodesRolesAndMountsInChromium() throws Exception {
        String dom = run("--dump-dom", front.url("/"));
        for (String expected : List.of("node1", "node2", "node3", "/live.mp3", "/jazz/other.ogg", "master", "relay", "down",
                "<td class=\"n\"><b>180</b></td>")) {
            assertTrue(dom.contains(expected), "the rendered page lacks " + expected + ":\n" + dom);
        }
    }

    @Test
    void aScreenshotOfTheStatusPageIsSavedAsAnArtifact() throws Exception {
        Files.createDirectories(ARTIFACTS);
        Path shot = ARTIFACTS.resolve("status-page.png").toAbsolutePath();
        Files.deleteIfExists(shot);
        run("--window-size=1200,900", "--hide-scrollbars", "--screenshot=" + shot, front.url("/"));
        assertTrue(Files.exists(shot), "no screenshot at " + shot);
        assertTrue(Files.size(shot) > 10_000, "screenshot too small to show anything: " + Files.size(shot) + " bytes");
        BufferedImage image = ImageIO.read(shot.toFile());
        assertTrue(image.getWidth() == 1200 && image.getHeight() == 900, image.getWidth() + "x" + image.getHeight());
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 3) {
            for (int x = 0; x < image.getWidth(); x += 3) {
                colours.add(image.getRGB(x, y));
            }
        }
        assertTrue(colours.size() > 20, "the screenshot is nearly blank: " + colours.size() + " colours");
    }

    /**
     * A station's website on another origin fetches the now-playing data in a real browser: both status documents
     * answer with {@code Access-Control-Allow-Origin: *}, or Chromium would refuse the page the bodies.
     */
    @Test
    void aPageOnAnotherOriginReadsNowPlayingFromBothStatusDocumentsInChromium() throws Exception {
        ClusterSnapshot v = front.view.get();
        front.view.set(new ClusterSnapshot(v.revision(), v.nodes(), v.master(), v.mounts(), v.transcoders(), v.drains(),
                Map.of("/live.mp3", new radiod.cluster.model.Title("Nina Simone – Sinnerman", "", "node2", 1)), Map.of()));
        String page = "<!doctype html><html><body><pre id=out>waiting</pre><script>"
                + "Promise.all([fetch('" + front.url("/status-json.xsl") + "').then(r => r.json()),"
                + " fetch('" + front.url("/status.json") + "').then(r => r.json())])"
                + ".then(([ice, own]) => { const s = [].concat(ice.icestats.source).find(x => x.listenurl.endsWith('/live.mp3'));"
                + " const m = own.mounts.find(x => x.path === '/live.mp3');"
                + " document.getElementById('out').textContent = 'icecast:' + s.title + '|' + s.listeners"
                + " + ' radiod:' + m.title + '|' + m.total; })"
                + ".catch(e => document.getElementById('out').textContent = 'failed: ' + e);"
                + "</script></body></html>";
        io.vertx.core.http.HttpServer site = front.vertx.createHttpServer()
                .requestHandler(r -> r.response().putHeader("Content-Type", "text/html; charset=utf-8").end(page));
        int port = site.listen(0, "127.0.0.2").toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS)
                .actualPort();
        try {
            String dom = run("--virtual-time-budget=10000", "--dump-dom", "http://127.0.0.2:" + port + "/");
            assertTrue(dom.contains("icecast:Nina Simone – Sinnerman|180 radiod:Nina Simone – Sinnerman|180"),
                    "the page on another origin could not read the status documents:\n" + dom);
        } finally {
            site.close();
            front.view.set(v);
        }
    }
}
