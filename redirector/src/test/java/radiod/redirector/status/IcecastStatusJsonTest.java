package radiod.redirector.status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.model.Title;
import radiod.cluster.view.ClusterSnapshot;

/**
 * {@code /status-json.xsl} has Icecast 2.4's shape: {@code source} absent with nothing on air, an object for one
 * mount, an array for several; each with Icecast's fields, the cluster's listener count and title, the encoder's
 * stream name and genre, and the cluster's listen URL.
 */
class IcecastStatusJsonTest {
    static final Mount LIVE = new Mount("/live.mp3", "source", "pw", null, null, 0, 128, null);
    static final Mount JAZZ = new Mount("/jazz.mp3", "source", "pw", null, null, 0, 64, null);

    static NodeStatus node(String name, Map<String, Integer> byMount) {
        return new NodeStatus(name, List.of("127.0.0.1"), 8080, 8000, 8100, 5353, true, false, false,
                byMount.values().stream().mapToInt(Integer::intValue).sum(), byMount, 0, 0, 0, List.of(), "1", 1);
    }

    static JsonNode render(Map<String, NodeStatus> nodes, Map<String, Title> titles) {
        ClusterSnapshot s = new ClusterSnapshot(3, nodes, Optional.empty(), Map.of(LIVE.path(), LIVE, JAZZ.path(), JAZZ),
                Map.of(), Map.of(), titles, Map.of());
        ClusterStatus status = ClusterStatus.of(s, "node1", false);
        return readTree(IcecastStatusJson.render(status, s, m -> m.equals("/live.mp3") ? Optional.of(new IcecastStatusJson.Stream(
                Map.of("content-type", "audio/mpeg", "ice-name", "Radio Test", "ice-genre", "Jazz"), 1_700_000_000_000L))
                : Optional.empty(), "http://radio.example.org", "node1", "1.0", 1_700_000_000_000L));
    }

    private static JsonNode readTree(String json) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(json, e);
        }
    }

    @Test
    void oneMountOnAirIsOneObjectWithTheClustersCountsAndTitle() {
        JsonNode root = render(Map.of("node1", node("node1", Map.of("/live.mp3", 2)),
                        "node2", node("node2", Map.of("/live.mp3", 3))),
                Map.of("/live.mp3", new Title("Nina Simone - Sinnerman", "s1", "node2", 1)));
        JsonNode icestats = root.get("icestats");
        for (String f : List.of("admin", "host", "location", "server_id", "server_start", "server_start_iso8601")) {
            assertTrue(icestats.has(f), f);
        }
        JsonNode source = icestats.get("source");
        assertTrue(source.isObject(), "one source is an object, as Icecast 2.4 gives it: " + source);
        assertEquals(5, source.get("listeners").asInt());
        assertEquals(5, source.get("listener_peak").asInt());
        assertEquals("Nina Simone - Sinnerman", source.get("title").asText());
        assertEquals("http://radio.example.org/live.mp3", source.get("listenurl").asText());
        assertEquals("Radio Test", source.get("server_name").asText());
        assertEquals("Jazz", source.get("genre").asText());
        assertEquals("audio/mpeg", source.get("server_type").asText());
        assertEquals(128, source.get("bitrate").asInt());
        assertEquals("2023-11-14T22:13:20+0000", source.get("stream_start_iso8601").asText());
        assertTrue(source.has("dummy") && source.get("dummy").isNull());
    }

    @Test
    void severalMountsOnAirAreAnArrayAndNoneIsNoSourceKey() {
        JsonNode two = render(Map.of("node1", node("node1", Map.of("/live.mp3", 1, "/jazz.mp3", 0))), Map.of());
        assertTrue(two.get("icestats").get("source").isArray());
        assertEquals(2, two.get("icestats").get("source").size());
        assertFalse(two.get("icestats").get("source").get(0).has("title"), "no title, no field (as Icecast)");
        JsonNode none = render(Map.of("node1", node("node1", Map.of())), Map.of());
        assertFalse(none.get("icestats").has("source"));
    }
}
