package radiod.cluster.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

/**
 * The model records refuse what radiod could not use, naming the field and what is allowed (mount paths, codecs and
 * bitrates, addresses), and round-trip through JSON, tolerating unknown fields and skipping corrupt values.
 */
class ModelTest {
    @Test
    void mountPathsAreValidatedWithTheReasonAndWhatIsAllowed() {
        assertEquals("/live.mp3", MountPath.validate("/live.mp3"));
        assertEquals("/a/b-c_d.ogg", MountPath.validate("/a/b-c_d.ogg"));
        for (String bad : List.of("live.mp3", "/", "//x", "/../x", "/x/../y", "/a b", "/.hidden", "/admin/stats",
                "/x.m3u", "/ü.mp3", "/" + "a".repeat(100), "/metrics")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MountPath.validate(bad), bad);
            assertTrue(e.getMessage().contains("mount path"), e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MountPath.validate("x")).getMessage()
                .contains("leading '/'"));
    }

    @Test
    void transcodingRejectsUnknownCodecsAndImpossibleBitrates() {
        var t = new Transcoding("/live.mp3", "MP3", 64, 0, 0, null);
        assertEquals("mp3", t.codec());
        assertEquals(44100, t.sampleRate());
        assertEquals(2, t.channels());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Transcoding("/live.mp3", "flac", 64, 0, 0, null))
                .getMessage().contains("mp3, opus, vorbis"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Transcoding("/live.mp3", "mp3", 999, 0, 0, null))
                .getMessage().contains("8 to 320"));
        assertThrows(IllegalArgumentException.class, () -> new Transcoding("/live.mp3", "opus", 64, 44100, 2, null));
        assertThrows(IllegalArgumentException.class, () -> new Transcoding("/live.mp3", "mp3", 64, 44100, 3, null));
        assertThrows(IllegalArgumentException.class, () -> new Transcoding("/live.mp3", "mp3", 64, 44100, 2, 0.5));
        assertEquals(48000, new Transcoding("/live.mp3", "opus", 64, 0, 1, null).sampleRate());
    }

    @Test
    void mountsValidateTheirFields() {
        Mount m = new Mount("/live.mp3", null, "secret", null, null, 0, 0, null);
        assertEquals("source", m.sourceUser());
        assertEquals(128_000, m.bitsPerSecond());
        assertThrows(IllegalArgumentException.class, () -> new Mount("/live.mp3", null, "", null, null, 0, 0, null));
        assertThrows(IllegalArgumentException.class, () -> new Mount("/live.mp3", null, "a b", null, null, 0, 0, null));
        assertThrows(IllegalArgumentException.class, () -> new Mount("/live.mp3", null, "pw", "ftp://x/y", null, 0, 0, null));
        assertThrows(IllegalArgumentException.class, () -> new Mount("/live.mp3", null, "pw", null, "/live.mp3", 0, 0, null));
        assertThrows(IllegalArgumentException.class, () -> new Mount("/live.mp3", null, "pw", null, null, -1, 0, null));
        Mount t = new Mount("/live-64.mp3", null, "pw", null, null, 0, 0, new Transcoding("/live.mp3", "mp3", 64, 0, 0, null));
        assertEquals(64, t.bitrateKbps());
        assertTrue(t.isTranscoded());
    }

    @Test
    void jsonToleratesUnknownFieldsAndSkipsCorruptValues() {
        String json = "{\"path\":\"/live.mp3\",\"sourcePassword\":\"pw\",\"someFutureField\":42,\"maxListeners\":0,\"bitrateKbps\":0}";
        Mount m = Json.decode("mounts/live.mp3", json.getBytes(StandardCharsets.UTF_8), Mount.class).orElseThrow();
        assertEquals("/live.mp3", m.path());
        assertNull(m.upstreamUrl());
        assertTrue(Json.decode("k", "{broken".getBytes(StandardCharsets.UTF_8), Mount.class).isEmpty());
        assertTrue(Json.decode("k", "null".getBytes(StandardCharsets.UTF_8), Mount.class).isEmpty());
        assertTrue(Json.decode("k", "{\"path\":\"nope\",\"sourcePassword\":\"pw\"}".getBytes(StandardCharsets.UTF_8), Mount.class).isEmpty());
    }

    @Test
    void aVorbisQualityOfNaNIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Transcoding("/live.mp3", "vorbis", 64, 0, 0, Double.NaN));
        String json = "{\"path\":\"/x.ogg\",\"sourcePassword\":\"pw\",\"transcoding\":{\"sourceMount\":\"/live.mp3\","
                + "\"codec\":\"vorbis\",\"bitrateKbps\":64,\"quality\":\"NaN\"}}";
        assertTrue(Json.decode("mounts/x.ogg", json.getBytes(StandardCharsets.UTF_8), Mount.class).isEmpty());
    }

    @Test
    void publishedAddressesAreIpLiteralsOnly() {
        for (List<String> good : List.of(List.of("192.0.2.1"), List.of("2001:db8::1", "::1"), List.of("::ffff:192.0.2.1"))) {
            assertEquals(good, new MasterInfo("node1", good, 8100, 8000, 8080, 1).addresses());
        }
        for (String bad : List.of("true", "radio.example.org", "localhost", "192.0.2.256", "1:2", "192.0.2.1\r\nX: y", "",
                "[::1]", "::1%eth0")) {
            assertThrows(IllegalArgumentException.class, () -> new MasterInfo("node1", List.of(bad), 8100, 8000, 8080, 1), bad);
            assertThrows(IllegalArgumentException.class, () -> new NodeStatus("node1", List.of("192.0.2.1", bad), 8080, 8000,
                    8100, 53, true, false, false, 0, Map.of(), 0, 0, 0, List.of(), "", 0), bad);
        }
        // Jackson turns a scalar into a string: a corrupt status with `true` among its addresses is skipped.
        String json = "{\"name\":\"node1\",\"addresses\":[\"192.0.2.11\",true],\"httpPort\":80,\"sourcePort\":8000,"
                + "\"icecastPort\":8100,\"dnsPort\":53}";
        assertTrue(Json.decode("nodes/node1", json.getBytes(StandardCharsets.UTF_8), NodeStatus.class).isEmpty());
    }

    @Test
    void nodeStatusRoundTripsThroughJson() {
        NodeStatus s = new NodeStatus("node1", List.of("127.0.0.11"), 8080, 8000, 8100, 5353, true, false, true, 3,
                Map.of("/live.mp3", 3), 384_000, 0, 0, List.of("/live-64.mp3"), "0.1", 1234);
        NodeStatus back = Json.decodeStrict(Json.encode(s), NodeStatus.class);
        assertEquals(s, back);
        assertTrue(back.hasMount("/live.mp3"));
        assertThrows(IllegalArgumentException.class, () -> new NodeStatus("Node_1", List.of("127.0.0.1"), 8080, 8000,
                8100, 53, true, false, false, 0, Map.of(), 0, 0, 0, List.of(), "", 0));
    }

    @Test
    void nodeStatusCarriesItsHttpEndpointAndInstanceAndReadsStatusesWithout() {
        NodeStatus s = new NodeStatus("node1", List.of("192.0.2.1"), 8080, 8000, 8100, 5353, true, false, false, 0,
                Map.of(), 0, 0, 0, List.of(), "0.2", 1234, Map.of(), "[2001:db8::1]:8080", "abc");
        NodeStatus back = Json.decodeStrict(Json.encode(s), NodeStatus.class);
        assertEquals(s, back);
        assertEquals(Optional.of(new Endpoint("2001:db8::1", 8080)), back.http());
        assertEquals("abc", back.instance());
        // A status from a node older than these fields: nothing to probe, no instance.
        String old = "{\"name\":\"node2\",\"addresses\":[\"192.0.2.2\"],\"httpPort\":8080,\"sourcePort\":8000,"
                + "\"icecastPort\":8100,\"dnsPort\":53,\"updatedAt\":5}";
        NodeStatus older = Json.decodeStrict(old.getBytes(StandardCharsets.UTF_8), NodeStatus.class);
        assertEquals("", older.httpEndpoint());
        assertEquals("", older.instance());
        assertTrue(older.http().isEmpty());
    }

    @Test
    void endpointsParseAndPrintAndAWildcardBindNamesACoveredAddress() {
        assertEquals(Optional.of(new Endpoint("192.0.2.1", 80)), Endpoint.parse("192.0.2.1:80"));
        assertEquals(Optional.of(new Endpoint("::1", 8080)), Endpoint.parse("[::1]:8080"));
        assertEquals("[::1]:8080", new Endpoint("::1", 8080).toString());
        assertEquals("192.0.2.1:80", new Endpoint("192.0.2.1", 80).toString());
        for (String bad : List.of("", "192.0.2.1", "::1:80", "[::1]", ":80", "x:0", "x:65536", "x:port", "a b:80")) {
            assertTrue(Endpoint.parse(bad).isEmpty(), bad);
        }
        List<String> both = List.of("2001:db8::1", "192.0.2.1", "192.0.2.2");
        assertEquals("10.0.0.1:8080", Endpoint.listening("10.0.0.1", both, 8080).orElseThrow().toString());
        assertEquals("192.0.2.1:8080", Endpoint.listening("0.0.0.0", both, 8080).orElseThrow().toString());
        assertEquals("[2001:db8::1]:8080", Endpoint.listening("::", both, 8080).orElseThrow().toString());
        assertEquals("192.0.2.1:8080", Endpoint.listening("::", List.of("192.0.2.1"), 8080).orElseThrow().toString());
        assertTrue(Endpoint.listening("0.0.0.0", List.of("2001:db8::1"), 8080).isEmpty());
    }

    @Test
    void aMasterIsDialedAtItsPublishedAddressExceptByItself() {
        MasterInfo m = new MasterInfo("node1", List.of("203.0.113.10", "2001:db8::10"), 8100, 8000, 8080, 7);
        MasterInfo own = m.dialedBy("node1", "10.0.0.5");
        assertEquals(new MasterInfo("node1", List.of("10.0.0.5"), 8100, 8000, 8080, 7), own);
        assertEquals("10.0.0.5", own.address());
        assertSame(m, m.dialedBy("node2", "10.0.0.6"), "a peer dials the published address");
        assertSame(m, m.dialedBy("node1", "203.0.113.10"), "a node bound to its published address");
        assertSame(m, m.dialedBy(null, null), "a node that has not said who it is");
    }
}
