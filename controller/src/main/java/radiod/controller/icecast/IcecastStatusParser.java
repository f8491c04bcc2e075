package radiod.controller.icecast;

import java.io.IOException;
import java.net.URI;
import java.util.HashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Reads Icecast 2.4's {@code status-json.xsl}, whose {@code icestats.source} is absent (no live mount),
 * an object (one) or an array (several).
 */
public final class IcecastStatusParser {
    private static final ObjectMapper JSON = new ObjectMapper();

    private IcecastStatusParser() {
    }

    /** @throws IllegalArgumentException when the text is not Icecast's status JSON */
    public static IcecastStats parse(byte[] body) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (IOException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
        }
        JsonNode stats = root == null ? null : root.get("icestats");
        if (stats == null || !stats.isObject()) {
            throw new IllegalArgumentException("no icestats object");
        }
        JsonNode source = stats.get("source");
        Map<String, Integer> byMount = new HashMap<>();
        int total = 0;
        if (source != null && source.isArray()) {
            for (JsonNode s : source) {
                total += add(byMount, s);
            }
        } else if (source != null && source.isObject()) {
            total += add(byMount, source);
        }
        return new IcecastStats(true, total, byMount);
    }

    private static int add(Map<String, Integer> byMount, JsonNode s) {
        String url = s.path("listenurl").asText("");
        String path;
        try {
            path = URI.create(url).getPath();
        } catch (IllegalArgumentException e) {
            return 0;
        }
        if (path == null || path.isEmpty()) {
            return 0;
        }
        int listeners = Math.max(0, s.path("listeners").asInt(0));
        byMount.merge(path, listeners, Integer::sum);
        return listeners;
    }
}
