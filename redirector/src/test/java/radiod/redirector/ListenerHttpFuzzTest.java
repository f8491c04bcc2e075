package radiod.redirector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.regex.Matcher;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.listen.PlayerAgents;
import radiod.testkit.fuzz.FuzzBudget;
import radiod.testkit.fuzz.Mutations;

/**
 * The listener HTTP front, fuzzed over loopback with raw bytes: a real {@link HttpFront} (the one a node runs, with a
 * fake passthrough) gets request heads built from what players send (mount, stream, playlist, status and admin
 * paths, absolute URLs, query strings, Host and User-Agent headers of players that follow redirects and of those
 * that are proxied), mutated. Every request gets an HTTP answer, never a 500, never an exception that escapes a
 * handler nor a logged warning; a redirect points at a node's passthrough, a playlist at the cluster.
 */
@AddLifecycleHook(FuzzBudget.class)
class ListenerHttpFuzzTest {
    static final List<ClusterSnapshot> VIEWS = List.of(FrontFixture.cluster(true, true, true),
            FrontFixture.cluster(true, false, false), FrontFixture.cluster(false, true, true),
            FrontFixture.cluster(false, false, false));
    static final List<byte[]> TOKENS = Mutations.tokens("\r\n", "\n", ": ", " ", "/", "%", "%2e", "%2F", "%00", "%5c",
            "..", "//", "?", "&", "#", ".m3u", ".pls", "/_stream", "/live.mp3", "Host: ", "User-Agent: ", "WinampMPEG/",
            "HTTP/1.1", "HTTP/1.0", "http://", "[", "]", "@", "\u0000", "\u00ff", "\t", "Content-Length: 9",
            "Transfer-Encoding: chunked", "Connection: close");
    /** A status line; a request in another protocol's name (ITTP/1.1, @TTP/1.1) has Vert.x answer 501 in that name. */
    static final Pattern STATUS = Pattern.compile("\\S+/\\d+\\.\\d+ (\\d{3})( .*)?");

    static FrontFixture front;
    static final ConcurrentLinkedQueue<Throwable> unhandled = new ConcurrentLinkedQueue<>();
    static final AtomicInteger slow = new AtomicInteger();

    /** Warnings and errors logged while the front answers: a client's request must not be able to write them. */
    static final class Logged extends AppenderBase<ILoggingEvent> {
        final AtomicInteger count = new AtomicInteger();
        volatile String last;

        @Override
        protected void append(ILoggingEvent event) {
            // Micrometer warns once a process about a gauge Vert.x registers per event loop: no client writes that.
            if (event.getLevel().isGreaterOrEqual(Level.WARN) && !event.getLoggerName().startsWith("io.micrometer.")) {
                last = event.getLoggerName() + ": " + event.getFormattedMessage();
                count.incrementAndGet();
            }
        }
    }

    static final Logged LOGGED = new Logged();

    @BeforeContainer
    static void start() throws Exception {
        front = new FrontFixture(VIEWS.get(0), null);
        front.vertx.exceptionHandler(unhandled::add);
        LOGGED.start();
        ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).addAppender(LOGGED);
    }

    @AfterContainer
    static void stop() throws Exception {
        System.out.println("fuzz: listener HTTP: " + slow.get() + " answers took over a second");
        ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).detachAppender(LOGGED);
        front.close();
    }

    /** A request head as players and probes send them, perhaps mutated, and the view the front answers from. */
    record Input(byte[] request, int view) {
        @Override
        public String toString() {
            return "view " + view + ": " + new String(request, StandardCharsets.ISO_8859_1)
                    .replace("\r", "\\r").replace("\n", "\\n\n");
        }
    }

    static Arbitrary<String> heads() {
        Arbitrary<String> method = Arbitraries.frequencyOf(
                Tuple.of(10, Arbitraries.of("GET", "HEAD")),
                Tuple.of(2, Arbitraries.of("POST", "PUT", "OPTIONS", "DELETE", "SOURCE", "CONNECT", "TRACE", "get")),
                Tuple.of(1, Mutations.text(8)));
        Arbitrary<String> path = Arbitraries.of("/live.mp3", "/jazz/other.ogg", "/_stream/live.mp3", "/_stream/jazz/other.ogg",
                "/_stream/nope.mp3", "/_stream/", "/live.mp3.m3u", "/jazz/other.ogg.pls", "/LIVE.MP3.M3U", "/live.mp3.PLS",
                "/nope.mp3", "/nope.m3u", "/.m3u", "/", "/status.json", "/status-json.xsl", "/metrics", "/admin/stats",
                "/admin/metadata?mode=updinfo&mount=/live.mp3&song=x", "/..%2f", "/%2e%2e/etc/passwd", "//live.mp3",
                "/live.mp3/", "/live%2Emp3", "/a\\b", "/_stream/../live.mp3", "/favicon.ico", "/" + "a".repeat(5000));
        Arbitrary<String> query = Arbitraries.of("", "", "?", "?token=a%20b&x=1", "?x=%zz", "?%00", "?a=" + "b".repeat(300),
                "#frag", "?x=1#y");
        Arbitrary<String> target = Arbitraries.frequencyOf(
                Tuple.of(8, Combinators.combine(path, query).as(String::concat)),
                Tuple.of(2, Combinators.combine(Arbitraries.of("http://radio.example.org", "https://radio.example.org:8443",
                        "http://[2001:db8::1]:8080", "http://user:pw@x", "ftp://x", "http://", "HTTP://X"), path, query)
                        .as((a, p, q) -> a + p + q)),
                Tuple.of(1, Arbitraries.of("*", "live.mp3", "", "%2Flive.mp3")),
                Tuple.of(1, Mutations.text(60).map(t -> "/" + t)));
        Arbitrary<String> version = Arbitraries.frequencyOf(
                Tuple.of(10, Arbitraries.of("HTTP/1.1", "HTTP/1.0")),
                Tuple.of(1, Arbitraries.of("HTTP/2.0", "HTTP/0.9", "ICE/1.0", "HTTP/1.2", "http/1.1", "")));
        Arbitrary<String> host = Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.of("radio.example.org", "radio.example.org:8080", "127.0.0.1", "[2001:db8::1]:80",
                        "[::1]", "RADIO.example.org.", "x:99999", "a b", "", "radio.example.org:", "[bad", "x/y",
                        "ex\u00e4mple.org", "h".repeat(300))),
                Tuple.of(1, Mutations.text(30)));
        Arbitrary<String> agent = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.of("WinampMPEG/5.66", "NSPlayer/12.00.19041", "Roku SoundBridge/3.0",
                        "iTunes/9.2", "iTunes/12.1", "Reciva", "FSL IR/0.1", "xmms/1.2.11", "VLC/3.0.20 LibVLC/3.0.20",
                        "Lavf/59.27.100", "mpv 0.35.1", "Mozilla/5.0 (X11; Linux x86_64)", "")),
                Tuple.of(1, Mutations.text(40)));
        Arbitrary<String> header = Arbitraries.frequencyOf(
                Tuple.of(3, host.map(h -> "Host: " + h)),
                Tuple.of(3, agent.map(a -> "User-Agent: " + a)),
                Tuple.of(2, Arbitraries.of("Icy-MetaData: 1", "Range: bytes=0-", "Accept: */*", "Connection: keep-alive",
                        "Expect: 100-continue", "Content-Length: 5", "Content-Length: -1", "Content-Length: 99999999999999",
                        "Transfer-Encoding: chunked", "Transfer-Encoding: gzip, chunked", "Upgrade: h2c",
                        "Connection: Upgrade, HTTP2-Settings", "X-Forwarded-For: 203.0.113.9", "Cookie: a=b",
                        " folded", "No-Colon", ": empty name", "Host: a", "Host: b")),
                Tuple.of(1, Combinators.combine(Mutations.text(12), Mutations.text(40)).as((n, v) -> n + ": " + v)));
        Arbitrary<String> eol = Arbitraries.of("\r\n", "\r\n", "\r\n", "\n");
        return Combinators.combine(method, target, version, header.list().ofMaxSize(8), eol).as((m, t, v, hs, nl) -> {
            StringBuilder s = new StringBuilder(m).append(' ').append(t).append(' ').append(v).append(nl);
            for (String h : hs) {
                s.append(h).append(nl);
            }
            return s.append("Connection: close").append(nl).toString();
        });
    }

    @Provide
    Arbitrary<Input> requests() {
        Arbitrary<byte[]> heads = heads().map(s -> s.getBytes(StandardCharsets.ISO_8859_1));
        Arbitrary<byte[]> mutated = Mutations.mutated(heads, TOKENS, 5);
        // The blank line that ends a head, so the front has a whole request to answer (or to refuse).
        return Combinators.combine(mutated, Arbitraries.integers().between(0, VIEWS.size() - 1)).as((head, view) -> {
            byte[] request = java.util.Arrays.copyOf(head, head.length + 4);
            System.arraycopy("\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), 0, request, head.length, 4);
            return new Input(request, view);
        });
    }

    @Property(shrinking = ShrinkingMode.BOUNDED)
    @Label("listener HTTP request head")
    void everyRequestGetsAnAnswerThatIsNoServerError(@ForAll("requests") Input input) throws IOException {
        front.view.set(VIEWS.get(input.view()));
        byte[] request = input.request();
        String text = new String(request, StandardCharsets.ISO_8859_1);
        // Blank lines, spaces and control characters before a request line are skipped (RFC 9112 2.2; Netty skips
        // ISO control characters, C1 too): with nothing else the front waits for a request line, so one is sent.
        int start = 0;
        while (start < text.length() && skipped(text.charAt(start))) {
            start++;
        }
        if (start == text.length()) {
            text += "GET /live.mp3 HTTP/1.1\r\nConnection: close\r\n\r\n";
            request = text.getBytes(StandardCharsets.ISO_8859_1);
        }
        String method = text.substring(start).split(" ", 2)[0];
        long t0 = System.nanoTime();
        int logged = LOGGED.count.get();
        String answer = exchange(request, method.equals("HEAD"));
        if (System.nanoTime() - t0 > 1_000_000_000L) {
            slow.incrementAndGet();
        }
        assertTrue(unhandled.isEmpty(), () -> "an exception escaped: " + unhandled.peek());
        assertEquals(logged, LOGGED.count.get(), () -> "a client's request logged a warning: " + LOGGED.last);
        if (answer.isEmpty() && text.toLowerCase(java.util.Locale.ROOT).contains("\ntransfer-encoding")) {
            // A body framed in chunks that are not chunks: Vert.x closes the connection, the answer unsent.
            return;
        }
        String statusLine = answer.lines().findFirst().orElse("");
        Matcher m = STATUS.matcher(statusLine);
        assertTrue(m.matches(), "an HTTP answer, got '" + statusLine + "'");
        int status = Integer.parseInt(m.group(1));
        assertNotEquals(500, status, answer);
        assertTrue(status >= 200 && status < 600, statusLine);
        String type = header(answer, "Content-Type");
        if (status == 200 && !method.equals("HEAD") && type != null
                && (type.equals("audio/x-mpegurl") || type.equals("audio/x-scpls"))) {
            // A playlist's one entry: the cluster URL as the listener reached it (a Host we accept) or this node's.
            String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
            String url = body.lines().filter(l -> l.startsWith("http://") || l.startsWith("File1="))
                    .map(l -> l.startsWith("File1=") ? l.substring(6) : l).findFirst().orElse(null);
            assertNotNull(url, answer);
            assertTrue(url.matches("http://([A-Za-z0-9][A-Za-z0-9.-]*|\\[[0-9A-Fa-f:.]+\\])(:\\d{1,5})?"
                    + "/(live\\.mp3|jazz/other\\.ogg)(\\?[^\\s]*)?"), url);
        }
        if (status == 302) {
            String location = header(answer, "Location");
            assertNotNull(location, answer);
            assertTrue(location.matches("http://(192\\.0\\.2\\.1[123]):8080/_stream/[A-Za-z0-9/._-]+(\\?[^\\s]*)?"), location);
        }
    }

    static boolean skipped(char c) {
        return Character.isISOControl(c) || Character.isWhitespace(c);
    }

    /** The value of a header in an answer's head, or null. */
    static String header(String answer, String name) {
        for (String line : answer.split("\r\n")) {
            if (line.isEmpty()) {
                break;
            }
            if (line.regionMatches(true, 0, name + ":", 0, name.length() + 1)) {
                return line.substring(name.length() + 1).trim();
            }
        }
        return null;
    }

    /** Sends the bytes on a new connection; reads the answer's head and its body (by Content-Length) or up to EOF. */
    static String exchange(byte[] request, boolean head) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(FrontFixture.HOST, front.port), 2000);
            s.setSoTimeout(5000);
            s.setTcpNoDelay(true);
            s.getOutputStream().write(request);
            InputStream in = s.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            try {
                int n;
                while ((n = in.read(buf)) > 0) {
                    all.write(buf, 0, n);
                    if (complete(all.toString(StandardCharsets.ISO_8859_1), head)) {
                        break;
                    }
                }
            } catch (SocketTimeoutException e) {
                // what arrived is the answer
            } catch (IOException e) {
                // reset after the answer: a refused request's connection is closed at once
            }
            return all.toString(StandardCharsets.ISO_8859_1);
        }
    }

    static boolean complete(String soFar, boolean head) {
        int end = soFar.indexOf("\r\n\r\n");
        if (end < 0) {
            return false;
        }
        if (head) {
            return true;
        }
        String length = header(soFar, "Content-Length");
        return length != null && length.matches("\\d{1,9}") && soFar.length() - end - 4 >= Integer.parseInt(length);
    }

    @Property(shrinking = ShrinkingMode.BOUNDED)
    @Label("listener User-Agent patterns")
    void playerAgentPatternsCombineAsTheyMatchAlone(@ForAll("agentPatterns") List<String> patterns,
            @ForAll("agents") String agent) {
        PlayerAgents agents;
        try {
            agents = PlayerAgents.of(patterns);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().startsWith("proxy user agent pattern '"), e.getMessage());
            return;
        }
        boolean alone = false;
        for (String p : patterns) {
            java.util.regex.Matcher matcher = Pattern.compile(p, Pattern.CASE_INSENSITIVE).matcher(agent);
            alone |= p.startsWith("^") ? matcher.lookingAt() : matcher.find();
        }
        assertEquals(alone && !agent.isEmpty(), agents.needsProxy(agent),
                "the combined patterns match as each one alone does: " + patterns + " on '" + agent + "'");
    }

    @Provide
    Arbitrary<List<String>> agentPatterns() {
        Arbitrary<String> pattern = Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.of(PlayerAgents.DEFAULTS)),
                Tuple.of(2, Arbitraries.of("NSPlayer", "(?i)roku", "a|^b", "^(a|b)c", "^x$", "Lavf/\\d+", "\\Qa.b\\E", "\\Qab",
                        "(?x)a#", "(?x) a b # c", "[", "(", ")", "a{2", "^", "$", "", "|", "(?-i)VLC", "^VLC|mpv", "\\",
                        "(?<n>x)", "\\k<n>", "\\1", "(a)\\1", "^^a", "a\\", "[^\\]]", "(?s).", "\\p{L}+")),
                Tuple.of(1, Mutations.text(10)));
        return pattern.list().ofMaxSize(5);
    }

    @Provide
    Arbitrary<String> agents() {
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.of("WinampMPEG/5.66", "winampmpeg/2.8", "NSPlayer/12.0", "Roku SoundBridge/3.0",
                        "VLC/3.0.20 LibVLC/3.0.20", "mpv 0.35", "Lavf/59.27.100", "a.b", "ab", "aab", "bc", "x", "c",
                        "iTunes/9.1", "iTunes/10.0", "", "#", " a b ")),
                Tuple.of(1, Mutations.text(20)));
    }
}
