package radiod.redirector.status;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import com.fasterxml.jackson.jr.ob.JSON;

import radiod.cluster.model.Json;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;

/**
 * {@code /status-json.xsl} in the shape Icecast 2.4 gives it, so that "now playing" widgets written for Icecast work
 * unchanged: {@code {"icestats": {admin, host, location, server_id, server_start, server_start_iso8601, source}}},
 * where {@code source} is absent when no mount is on air, one object for one, an array for several (Icecast's own
 * quirk), each with Icecast's fields (and its trailing {@code "dummy": null}). Listener counts are the cluster's;
 * {@code listenurl} is the cluster's URL of the mount (the redirecting one); the stream's name, genre, description
 * and type are its encoder's.
 */
public final class IcecastStatusJson {
    /** radiod's JSON, but with null values written: Icecast ends each source with {@code "dummy": null}. */
    private static final JSON WITH_NULLS = Json.JR.with(JSON.Feature.WRITE_NULL_PROPERTIES);

    static final DateTimeFormatter RFC_822 = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss Z", Locale.ROOT)
            .withZone(ZoneOffset.UTC);
    static final DateTimeFormatter ISO = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssZ", Locale.ROOT)
            .withZone(ZoneOffset.UTC);

    /**
     * A mount's stream as this node carries it.
     *
     * @param headers the encoder's stream headers ({@code content-type}, {@code ice-name}, …), lower-case names
     * @param since   when the stream started, epoch milliseconds
     */
    public record Stream(Map<String, String> headers, long since) {
    }

    private IcecastStatusJson() {
    }

    /**
     * @param status  the cluster as this node sees it
     * @param view    the snapshot it was made from
     * @param streams the stream of each mount this node carries
     * @param baseUrl the cluster's base URL, e.g. {@code http://radio.example.org}
     * @param host    the host name to report
     * @param started when this radiod started, epoch milliseconds
     */
    public static String render(ClusterStatus status, ClusterSnapshot view, Function<String, Optional<Stream>> streams,
                                String baseUrl, String host, String version, long started) {
        Map<String, Object> stats = new LinkedHashMap<>();
        stats.put("admin", "");
        stats.put("host", host);
        stats.put("location", "");
        stats.put("server_id", "radiod " + version);
        stats.put("server_start", RFC_822.format(Instant.ofEpochMilli(started)));
        stats.put("server_start_iso8601", ISO.format(Instant.ofEpochMilli(started)));
        List<Map<String, Object>> sources = new ArrayList<>();
        for (ClusterStatus.MountRow row : status.mounts()) {
            if (!row.live()) {
                continue;
            }
            Optional<Mount> mount = view.mount(row.path());
            Optional<Stream> stream = streams.apply(row.path());
            Map<String, String> h = stream.map(Stream::headers).orElse(Map.of());
            Map<String, Object> s = new LinkedHashMap<>();
            String audioInfo = h.get("ice-audio-info");
            if (audioInfo != null) {
                s.put("audio_info", audioInfo);
            }
            s.put("bitrate", row.bitrateKbps());
            s.put("genre", h.getOrDefault("ice-genre", h.getOrDefault("icy-genre", "various")));
            s.put("listener_peak", row.peak());
            s.put("listeners", row.total());
            s.put("listenurl", baseUrl + row.path());
            s.put("server_description", h.getOrDefault("ice-description", h.getOrDefault("icy-description",
                    "Unspecified description")));
            s.put("server_name", h.getOrDefault("ice-name", h.getOrDefault("icy-name",
                    mount.map(Mount::path).orElse(row.path()))));
            s.put("server_type", h.getOrDefault("content-type", "audio/mpeg"));
            String url = h.getOrDefault("ice-url", h.get("icy-url"));
            if (url != null) {
                s.put("server_url", url);
            }
            long since = stream.map(Stream::since).orElse(0L);
            if (since > 0) {
                s.put("stream_start", RFC_822.format(Instant.ofEpochMilli(since)));
                s.put("stream_start_iso8601", ISO.format(Instant.ofEpochMilli(since)));
            }
            if (row.title() != null) {
                s.put("title", row.title());
            }
            s.put("dummy", null);
            sources.add(s);
        }
        if (sources.size() == 1) {
            stats.put("source", sources.get(0));
        } else if (!sources.isEmpty()) {
            stats.put("source", sources);
        }
        try {
            return WITH_NULLS.asString(Map.of("icestats", stats));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
