package radiod.redirector.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URLEncoder;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.vertx.core.buffer.Buffer;
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
import radiod.cluster.model.MountPath;
import radiod.cluster.model.Title;
import radiod.redirector.carry.StreamHeaders;
import radiod.testkit.fuzz.FuzzBudget;
import radiod.testkit.fuzz.Mutations;

/**
 * The source port's request head, fuzzed through the steps the source front takes with it: the early request-line
 * check, the head's end (also found when the bytes come in pieces), the parse, the credentials, a metadata update's
 * mount and title, and the stream headers handed on to Icecast. Inputs are the heads real encoders send (ices2,
 * ffmpeg, legacy ICE/1.0, metadata updates with every parameter form), rebuilt with random parts, then mutated.
 * Only the documented refusals may come out: {@link IllegalArgumentException} for a head that is not a request, and
 * {@link MetadataUpdate.Refused} for an update; anything accepted keeps the invariants the front relies on.
 */
@AddLifecycleHook(FuzzBudget.class)
class SourceHeadFuzzTest {
    /** Real heads, as captured from encoders against Icecast (see the source clients note). */
    static final List<String> REAL = List.of(
            "OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: IceS 2.0.3\r\nConnection: Upgrade\r\n"
                    + "Upgrade: TLS/1.0, HTTP/1.1\r\n\r\n",
            "GET /admin/!POKE HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: IceS 2.0.3\r\n\r\n",
            "SOURCE /ices.ogg HTTP/1.0\r\nContent-Type: application/ogg\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n"
                    + "ice-public: 0\r\nice-name: radiod test\r\nice-audio-info: channels=2;samplerate=44100\r\n"
                    + "Prefer: return=minimal\r\n\r\n",
            "SOURCE /ices.ogg HTTP/1.0\r\nAuthorization: Basic c291cmNlOmhhY2ttZQ==\r\nContent-Type: application/ogg\r\n"
                    + "ice-public: 0\r\nice-name: radiod test\r\n\r\nOggS",
            "PUT /ff.mp3 HTTP/1.1\r\nUser-Agent: Lavf/59.27.100\r\nAccept: */*\r\nExpect: 100-continue\r\n"
                    + "Connection: close\r\nHost: 127.0.0.1:8000\r\nContent-Type: audio/mpeg\r\nIcy-MetaData: 1\r\n"
                    + "Ice-Public: 0\r\nAuthorization: Basic c291cmNlOnB3\r\n\r\n",
            "SOURCE /ff2.mp3 HTTP/1.1\r\nUser-Agent: Lavf/59.27.100\r\nContent-Type: audio/mpeg\r\n"
                    + "Authorization: Basic c291cmNlOnB3\r\n\r\n",
            "SOURCE /live.mp3 ICE/1.0\ncontent-type: audio/mpeg\nice-name: Old Encoder\nice-bitrate: 128\n\n\u00ff\u00fb",
            "GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=Artist%20-%20Title HTTP/1.0\r\n"
                    + "Authorization: Basic c291cmNlOnB3\r\nUser-Agent: butt/0.1.34\r\n\r\n",
            "GET /admin/metadata.xsl?mount=%2Flive.mp3&mode=updinfo&artist=Caf%C3%A9&title=Song+Two&charset=UTF-8 "
                    + "HTTP/1.1\r\nHost: radio.example.org:8000\r\nAuthorization: Basic c291cmNlOnB3\r\n\r\n",
            "GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=Caf%E9 HTTP/1.0\r\n"
                    + "Authorization: basic c291cmNlOnB3\r\n\r\n",
            "PULL /live.mp3 HTTP/1.0\r\nAuthorization: Basic cmFkaW9kOnNlY3JldA==\r\n\r\n",
            "INGEST /live.mp3 HTTP/1.0\r\nAuthorization: Basic cmFkaW9kOnNlY3JldA==\r\ncontent-type: audio/mpeg\r\n"
                    + "ice-name: relayed\r\n\r\n");

    static final List<byte[]> TOKENS = Mutations.tokens("\r\n", "\n", "\r\n\r\n", "\n\n", " ", ":", "%", "%00",
            "%ff", "%2F", "%C3%A9", "%E2%80%AE", "+", "?", "&", "=", "&song=", "&mount=/live.mp3", "mode=updinfo",
            "&charset=", "UTF-8", "ISO-8859-1", "Shift_JIS", "x-unknown", "&artist=", "&title=", "/admin/metadata",
            "Authorization: Basic ", "Authorization: Basic =", "c291cmNlOnB3", "Content-Type: ", "ice-", "icy-",
            "HTTP/1.0", "HTTP/1.1", "ICE/1.0", "SOURCE ", "PUT ", "GET ", "*", "/..", "\u0000", "\u00ff");

    static final List<String> MOUNTS = List.of("/live.mp3", "/jazz/other.ogg", "/a", "/x-y_z.9", "/admin/x", "/live.m3u",
            "/..", "/a//b", "", "live.mp3", "/" + "a".repeat(120), "/caf\u00e9.mp3", "/%2Flive");

    @Provide
    Arbitrary<byte[]> heads() {
        Arbitrary<byte[]> real = Arbitraries.of(REAL).map(s -> s.getBytes(StandardCharsets.ISO_8859_1));
        Arbitrary<byte[]> built = builtHeads().map(s -> s.getBytes(StandardCharsets.ISO_8859_1));
        return Mutations.mutated(Arbitraries.oneOf(real, built), TOKENS, 6);
    }

    /** Heads put together from random parts, most of them the parts encoders send. */
    static Arbitrary<String> builtHeads() {
        Arbitrary<String> method = Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.of("SOURCE", "PUT", "GET", "HEAD", "OPTIONS", "PULL", "INGEST")),
                Tuple.of(1, Arbitraries.strings().withCharRange('A', 'Z').ofMaxLength(18)),
                Tuple.of(1, Mutations.text(6)));
        Arbitrary<String> target = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.of(MOUNTS)),
                Tuple.of(4, metadataTargets()),
                Tuple.of(1, Arbitraries.of("*", "/admin/!POKE", "/admin/", "/?", "/a?b=c&d")),
                Tuple.of(1, Mutations.text(40).map(s -> "/" + s)));
        Arbitrary<String> version = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.of("HTTP/1.0", "HTTP/1.1", "ICE/1.0")),
                Tuple.of(1, Arbitraries.of("HTTP/2.0", "http/1.0", "ICE/1.1", "", "HTTP/1.")));
        Arbitrary<List<String>> headers = headerLines().list().ofMaxSize(12);
        Arbitrary<String> eol = Arbitraries.of("\r\n", "\r\n", "\n");
        Arbitrary<String> body = Arbitraries.of("", "", "OggS\u0000\u0002", "\u00ff\u00fb\u0090\u0064", "GET / HTTP/1.0\r\n\r\n");
        return Combinators.combine(method, target, version, headers, eol, body).as((m, t, v, hs, nl, b) -> {
            StringBuilder s = new StringBuilder(m).append(' ').append(t).append(' ').append(v).append(nl);
            for (String h : hs) {
                s.append(h).append(nl);
            }
            return s.append(nl).append(b).toString();
        });
    }

    static Arbitrary<String> headerLines() {
        Arbitrary<String> auth = Combinators.combine(
                Arbitraries.of("source", "radiod", "", "a:b", "us\u00e9r"),
                Mutations.text(20),
                Arbitraries.of("Basic ", "basic ", "BASIC  ", "Digest ", "Basic")).as((u, p, scheme) ->
                "Authorization: " + scheme + Base64.getEncoder().encodeToString((u + ":" + p).getBytes(StandardCharsets.UTF_8)));
        Arbitrary<String> badAuth = Arbitraries.strings().withChars("ABCabc019+/=!- ").ofMaxLength(24)
                .map(s -> "Authorization: Basic " + s);
        Arbitrary<String> stream = Combinators.combine(
                Arbitraries.of("Content-Type", "content-type", "ice-name", "ice-description", "ice-genre", "ice-url",
                        "ice-public", "ice-bitrate", "ice-audio-info", "icy-name", "icy-br", "icy-metadata", "ICE-NAME",
                        "ice-" + "n".repeat(50), "ice-na me", "ice-\u00e9"),
                Mutations.text(300)).as((n, v) -> n + ": " + v);
        Arbitrary<String> other = Arbitraries.of("Host: radio.example.org:8000", "User-Agent: Lavf/59.27.100",
                "Expect: 100-continue", "Connection: close", "Content-Length: 0", "Transfer-Encoding: chunked",
                ": no name", "no colon here", "  Folded: line", "X-Many::colons:", "");
        return Arbitraries.frequencyOf(
                Tuple.of(2, auth), Tuple.of(1, badAuth),
                Tuple.of(4, stream), Tuple.of(2, other));
    }

    /** Metadata update targets: the parameters in any order, each value percent-encoded or raw. */
    static Arbitrary<String> metadataTargets() {
        Arbitrary<String> path = Arbitraries.of("/admin/metadata", "/admin/metadata.xsl", "/admin/metadata2");
        Arbitrary<String> text = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.of("Artist - Title", "Caf\u00e9 \u2014 \u266b", "\u65e5\u672c\u8a9e",
                        "a&b=c", "100% fun", "")),
                Tuple.of(2, Mutations.text(60)),
                Tuple.of(1, Mutations.text(900, 1100)));
        Arbitrary<String> charset = Arbitraries.of("UTF-8", "utf8", "ISO-8859-1", "latin1", "Shift_JIS", "UTF-16",
                "UTF-32BE", "x-IBM300", "KOI8-R", "no-such", "", "a b", "-", "x".repeat(60));
        Arbitrary<Charset> encoding = Arbitraries.of(StandardCharsets.UTF_8, StandardCharsets.ISO_8859_1,
                StandardCharsets.UTF_16BE);
        Arbitrary<String> param = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.of("mode=updinfo")),
                Tuple.of(1, Arbitraries.of("mode=updinfo2", "mode=", "mode")),
                Tuple.of(3, Arbitraries.of(MOUNTS).map(m -> "mount=" + m)),
                Tuple.of(1, Arbitraries.of(MOUNTS).map(m -> "mount=" + URLEncoder.encode(m, StandardCharsets.UTF_8))),
                Tuple.of(3, Combinators.combine(Arbitraries.of("song", "artist", "title"), text, encoding,
                        Arbitraries.of(true, true, false)).as((n, t, enc, escape) ->
                        n + "=" + (escape ? URLEncoder.encode(t, enc) : t))),
                Tuple.of(1, charset.map(c -> "charset=" + c)),
                Tuple.of(1, Arbitraries.of("song", "=x", "%zz=1", "song=%4", "song=%", "&", "x=%C3")));
        return Combinators.combine(path, param.list().ofMaxSize(7)).as((p, ps) -> p + "?" + String.join("&", ps));
    }

    @Property(shrinking = ShrinkingMode.BOUNDED)
    @Label("source request head")
    void headsAreRefusedAsDocumentedOrKeepTheFrontsInvariants(@ForAll("heads") byte[] bytes) {
        Buffer head = Buffer.buffer(bytes);
        // Found in one piece, or in pieces scanning from just before each new one, the head ends at the same place.
        int end = RequestHead.end(head, 0);
        Buffer pieces = Buffer.buffer();
        int found = -1;
        for (int i = 0; i < bytes.length && found < 0; i += 7) {
            int scanFrom = pieces.length() - 3;
            pieces.appendBytes(bytes, i, Math.min(7, bytes.length - i));
            found = RequestHead.end(pieces, scanFrom);
        }
        assertEquals(end, found, "the head's end, found piecewise");
        assertTrue(end == -1 || end >= 2 && end <= bytes.length);

        boolean couldStart = RequestHead.couldStartRequestLine(head);
        int nl = RequestHead.firstLineEnd(head);
        assertTrue(nl == -1 || bytes[nl] == '\n');
        if (nl < 0) {
            return; // the front waits for the line, or refuses it at once when it cannot start a request line
        }
        String line = head.getString(0, nl, StandardCharsets.ISO_8859_1.name());
        String[] parts;
        try {
            parts = RequestHead.requestLine(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line);
        } catch (IllegalArgumentException e) {
            return;
        }
        assertTrue(couldStart, "a request line that was accepted could start one");
        assertEquals(3, parts.length);
        if (end < 0) {
            return;
        }
        RequestHead req = RequestHead.parse(head.getBuffer(0, end));
        assertTrue(req.method().matches("[A-Z]{1,16}"), req.method());
        assertTrue(req.target().equals("*") || req.target().startsWith("/"), req.target());
        assertTrue(req.path().equals("*") || req.path().startsWith("/"), req.path());
        assertTrue(req.target().length() <= RequestHead.MAX_TARGET);
        for (Map.Entry<String, String> h : req.headers().entrySet()) {
            assertFalse(h.getKey().isEmpty());
            assertEquals(h.getKey().trim(), h.getKey());
            assertEquals(h.getValue().trim(), h.getValue());
            assertFalse(h.getKey().contains("\n") || h.getValue().contains("\n"));
        }
        Optional<RequestHead.Credentials> credentials = req.credentials();
        credentials.ifPresent(c -> assertFalse(c.user().contains(":")));

        if (MetadataUpdate.isMetadataPath(req.path())) {
            metadata(req.target());
        }
        String lines = StreamHeaders.lines(req.headers());
        streamHeaders(lines);
    }

    /** A metadata update: refused with a status, or a valid mount and a title every node accepts. */
    static void metadata(String target) {
        String mount;
        try {
            mount = MetadataUpdate.mountOf(target);
        } catch (MetadataUpdate.Refused e) {
            assertRefusal(e);
            return;
        }
        assertTrue(MountPath.isValid(mount), mount);
        MetadataUpdate update;
        try {
            update = MetadataUpdate.parse(target);
        } catch (MetadataUpdate.Refused e) {
            assertRefusal(e);
            return;
        }
        assertEquals(mount, update.mount());
        assertNull(Title.problem(update.title()), update.title());
        new Title(update.title(), "session", "node1", 1); // what the title store writes
    }

    static void assertRefusal(MetadataUpdate.Refused e) {
        assertTrue(e.status().matches("[45]\\d\\d [A-Za-z ]+"), e.status());
        assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
        assertTrue(e.getMessage().chars().allMatch(c -> c >= 0x20 && c != 0x7f), "printable: " + e.getMessage());
    }

    /** What the front hands to Icecast: a few well-formed {@code name: value} lines, no other header. */
    static void streamHeaders(String lines) {
        assertTrue(lines.isEmpty() || lines.endsWith("\r\n"));
        List<String> each = lines.isEmpty() ? List.of() : List.of(lines.split("\r\n"));
        assertTrue(each.size() <= 24, "at most 24 lines");
        List<String> names = new ArrayList<>();
        for (String l : each) {
            assertTrue(l.matches("(content-type|ice-[a-z0-9-]*|icy-[a-z0-9-]*): [^\\r\\n\\u0000-\\u001f\\u007f]+"), l);
            assertFalse(l.startsWith("icy-metadata:"), l);
            names.add(l.substring(0, l.indexOf(':')));
        }
        assertEquals(names.size(), names.stream().distinct().count(), "each name once");
        assertEquals(names, List.copyOf(StreamHeaders.parse(lines).keySet()));
        StreamHeaders.contentType(lines);
    }

    @Property(shrinking = ShrinkingMode.BOUNDED)
    @Label("source request head, parse alone")
    void parseAloneOnlyRefusesWithIllegalArgument(@ForAll("heads") byte[] bytes) {
        RequestHead req;
        try {
            req = RequestHead.parse(Buffer.buffer(bytes));
        } catch (IllegalArgumentException e) {
            return;
        }
        assertTrue(req.path().equals("*") || req.path().startsWith("/"), req.path());
    }
}
