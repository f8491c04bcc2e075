package radiod.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.StringReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.stream.Stream;

import javax.xml.parsers.DocumentBuilderFactory;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/**
 * A real Icecast 2.4 (Debian's {@code icecast2}) for tests: a generated icecast.xml in a temp directory, bound to
 * one loopback address and port, with the given source mounts (or relaying mounts from another Icecast).
 *
 * <pre>
 * try (Icecast ice = Icecast.start("127.0.0.1", Ports.free("127.0.0.1"),
 *         List.of(new Icecast.Source("/live.mp3", "source", "secret")))) {
 *     ice.listeners("/live.mp3");   // empty until a source is connected
 * }
 * </pre>
 *
 * As root it drops to Debian's {@code icecast2:icecast} ({@code <changeowner>}) and hands it its directory.
 * Only the listed mounts accept a source: the global source password is random.
 */
public final class Icecast implements AutoCloseable {
    /** A mount that takes a source with these credentials. */
    public record Source(String mount, String user, String password) {
        public Source {
            if (mount == null || !mount.startsWith("/")) {
                throw new IllegalArgumentException("mount must start with '/', got " + mount);
            }
            if (user == null || user.isEmpty() || password == null || password.isEmpty()) {
                throw new IllegalArgumentException("mount " + mount + " needs a user and a password");
            }
        }
    }

    private static final String RUN_AS_USER = "icecast2";
    private static final String RUN_AS_GROUP = "icecast";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final String host;
    private final int port;
    private final Path dir;
    private final String adminPassword = UUID.randomUUID().toString();
    /** The global source (and relay) password: takes a source for any mount not listed with its own credentials. */
    private final String sourcePassword = UUID.randomUUID().toString();
    /** Shown in status-json, so that readiness is judged on this Icecast, not on another one holding the port. */
    private final String location = "radiod tests " + UUID.randomUUID();
    private final Process process;
    private final Thread reaper;

    private Icecast(String host, int port, String body) {
        this(host, port, body, 1000);
    }

    private Icecast(String host, int port, String body, int clients) {
        this.host = host;
        this.port = port;
        try {
            dir = Files.createTempDirectory("radiod-icecast-");
            Files.createDirectories(dir.resolve("log"));
            Path config = dir.resolve("icecast.xml");
            Files.writeString(config, render(body, clients));
            boolean root = "root".equals(System.getProperty("user.name"));
            if (root) {
                handOver(dir);
            }
            process = new ProcessBuilder("icecast2", "-c", config.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("icecast.out").toFile())
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start icecast2 (install Debian's icecast2): " + e.getMessage(), e);
        }
        reaper = new Thread(process::destroyForcibly, "icecast-reaper-" + port);
        Runtime.getRuntime().addShutdownHook(reaper);
        awaitReady(Duration.ofSeconds(15));
    }

    /** An Icecast on host:port taking sources for the given mounts, for up to 1,000 clients. */
    public static Icecast start(String host, int port, List<Source> mounts) {
        return start(host, port, mounts, 1000);
    }

    /** An Icecast on host:port taking sources for the given mounts, for up to {@code clients} clients (load tests). */
    public static Icecast start(String host, int port, List<Source> mounts, int clients) {
        StringBuilder x = new StringBuilder();
        for (Source s : mounts) {
            x.append("  <mount type=\"normal\">\n")
                    .append("    <mount-name>").append(escape(s.mount())).append("</mount-name>\n")
                    .append("    <username>").append(escape(s.user())).append("</username>\n")
                    .append("    <password>").append(escape(s.password())).append("</password>\n")
                    .append("  </mount>\n");
        }
        return new Icecast(host, port, x.toString(), clients);
    }

    /**
     * An Icecast on a free port of host taking sources for the given mounts; tries other ports if the one picked
     * is taken meanwhile (other tests draw from the same range).
     */
    public static Icecast start(String host, List<Source> mounts) {
        IllegalStateException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                return start(host, Ports.free(host), mounts);
            } catch (IllegalStateException e) {
                last = e;
            }
        }
        throw last;
    }

    /** An Icecast on host:port relaying each mount from the Icecast at masterHost:masterPort. */
    public static Icecast relayOf(String host, int port, String masterHost, int masterPort, List<String> mounts) {
        StringBuilder x = new StringBuilder("  <master-update-interval>1</master-update-interval>\n");
        for (String m : mounts) {
            x.append("  <relay>\n")
                    .append("    <server>").append(escape(masterHost)).append("</server>\n")
                    .append("    <port>").append(masterPort).append("</port>\n")
                    .append("    <mount>").append(escape(m)).append("</mount>\n")
                    .append("    <local-mount>").append(escape(m)).append("</local-mount>\n")
                    .append("    <on-demand>0</on-demand>\n")
                    .append("    <relay-shoutcast-metadata>1</relay-shoutcast-metadata>\n")
                    .append("  </relay>\n");
        }
        return new Icecast(host, port, x.toString());
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public long pid() {
        return process.pid();
    }

    public boolean running() {
        return process.isAlive();
    }

    /** The listener URL of a mount on this Icecast. */
    public String url(String mount) {
        return "http://" + host + ":" + port + mount;
    }

    public String adminPassword() {
        return adminPassword;
    }

    /** The global source password (user {@code source}), as radiod's feed to its node's Icecast uses it. */
    public String sourcePassword() {
        return sourcePassword;
    }

    /** Icecast's own error log (connections, sources logging in, listeners leaving). */
    public String errorLog() {
        try {
            Path log = dir.resolve("log").resolve("error.log");
            return Files.exists(log) ? Files.readString(log, StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The body of {@code /status-json.xsl}. */
    public String statusJson() {
        return get("/status-json.xsl", false);
    }

    /**
     * Live sources and their current listener counts, from {@code /admin/stats} (which, unlike status-json, is
     * not cached).
     */
    public Map<String, Integer> sources() {
        Document doc = parse(get("/admin/stats", true));
        Map<String, Integer> out = new LinkedHashMap<>();
        NodeList sources = doc.getDocumentElement().getElementsByTagName("source");
        for (int i = 0; i < sources.getLength(); i++) {
            Element source = (Element) sources.item(i);
            int listeners = 0;
            for (Node c = source.getFirstChild(); c != null; c = c.getNextSibling()) {
                if (c instanceof Element e && e.getTagName().equals("listeners")) {
                    listeners = Integer.parseInt(e.getTextContent().trim());
                }
            }
            out.put(source.getAttribute("mount"), listeners);
        }
        return out;
    }

    /** Listeners of a mount, or empty when the mount has no source here. */
    public OptionalInt listeners(String mount) {
        Integer n = sources().get(mount);
        return n == null ? OptionalInt.empty() : OptionalInt.of(n);
    }

    public boolean hasSource(String mount) {
        return sources().containsKey(mount);
    }

    /** Sets the song title of a live mount, which listeners asking for ICY metadata then see inline. */
    public void setTitle(String mount, String song) {
        get("/admin/metadata?mount=" + URLEncoder.encode(mount, StandardCharsets.UTF_8) + "&mode=updinfo&song="
                + URLEncoder.encode(song, StandardCharsets.UTF_8), true);
    }

    private String get(String path, boolean admin) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + host + ":" + port + path))
                .timeout(Duration.ofSeconds(5));
        if (admin) {
            b.header("Authorization", "Basic " + Base64.getEncoder()
                    .encodeToString(("admin:" + adminPassword).getBytes(StandardCharsets.UTF_8)));
        }
        try {
            HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("Icecast on " + host + ":" + port + " answered " + r.statusCode()
                        + " to " + path + ": " + r.body());
            }
            return r.body();
        } catch (IOException e) {
            throw new UncheckedIOException("Icecast on " + host + ":" + port + " did not answer " + path, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static Document parse(String xml) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            return f.newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
        } catch (Exception e) {
            throw new IllegalStateException("Icecast's /admin/stats is not XML: " + e.getMessage(), e);
        }
    }

    private void awaitReady(Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                String out = read(dir.resolve("icecast.out")) + errorLog();
                close();
                throw new IllegalStateException("icecast2 on " + host + ":" + port + " exited with "
                        + process.exitValue() + ": " + out);
            }
            // Icecast fills its stats a moment after it answers; another process on the port never shows ours.
            if (Ports.answersHttp(host, port, "/status-json.xsl") && statusJson().contains(location)) {
                return;
            }
            Ports.pause(50);
        }
        String log = errorLog();
        close();
        throw new IllegalStateException("icecast2 on " + host + ":" + port + " not answering within " + timeout
                + " (or another server holds that port): " + log);
    }

    private String render(String body, int clients) {
        boolean root = "root".equals(System.getProperty("user.name"));
        return """
                <icecast>
                  <location>%9$s</location>
                  <admin>tests@localhost</admin>
                  <hostname>%1$s</hostname>
                  <limits>
                    <clients>%10$d</clients>
                    <sources>20</sources>
                    <queue-size>524288</queue-size>
                    <client-timeout>30</client-timeout>
                    <header-timeout>15</header-timeout>
                    <source-timeout>10</source-timeout>
                    <burst-on-connect>1</burst-on-connect>
                    <burst-size>65536</burst-size>
                  </limits>
                  <authentication>
                    <source-password>%2$s</source-password>
                    <relay-password>%2$s</relay-password>
                    <admin-user>admin</admin-user>
                    <admin-password>%3$s</admin-password>
                  </authentication>
                  <listen-socket>
                    <port>%4$d</port>
                    <bind-address>%1$s</bind-address>
                  </listen-socket>
                %5$s  <fileserve>1</fileserve>
                  <paths>
                    <basedir>/usr/share/icecast2</basedir>
                    <logdir>%6$s</logdir>
                    <webroot>/usr/share/icecast2/web</webroot>
                    <adminroot>/usr/share/icecast2/admin</adminroot>
                    <pidfile>%7$s</pidfile>
                  </paths>
                  <logging>
                    <accesslog>access.log</accesslog>
                    <errorlog>error.log</errorlog>
                    <loglevel>3</loglevel>
                  </logging>
                  <security>
                    <chroot>0</chroot>
                %8$s  </security>
                </icecast>
                """.formatted(escape(host), escape(sourcePassword), adminPassword, port, body, dir.resolve("log"),
                dir.resolve("icecast.pid"), root ? "    <changeowner><user>" + RUN_AS_USER + "</user><group>"
                        + RUN_AS_GROUP + "</group></changeowner>\n" : "", escape(location), clients);
    }

    /** Icecast drops to icecast2:icecast after reading its config; its logs and pid file are written as that user. */
    private static void handOver(Path dir) throws IOException {
        UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal user;
        GroupPrincipal group;
        try {
            user = users.lookupPrincipalByName(RUN_AS_USER);
            group = users.lookupPrincipalByGroupName(RUN_AS_GROUP);
        } catch (IOException e) {
            throw new IOException("user " + RUN_AS_USER + " or group " + RUN_AS_GROUP
                    + " missing (Debian's icecast2 package creates them)", e);
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.toList()) {
                PosixFileAttributeView v = Files.getFileAttributeView(p, PosixFileAttributeView.class);
                v.setOwner(user);
                v.setGroup(group);
            }
        }
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /** SIGTERM, then SIGKILL if it lingers; removes the directory. */
    @Override
    public void close() {
        Processes.stop(process, Duration.ofSeconds(5));
        try {
            Runtime.getRuntime().removeShutdownHook(reaper);
        } catch (IllegalStateException | NullPointerException e) {
            // already shutting down, or closed while starting: the hook has nothing left to do
        }
        Files2.deleteRecursively(dir);
    }
}
