package radiod.radioctl.output;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;

import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/**
 * The URLs of a mount: where broadcasters send it (any node's source port) and where listeners get it.
 * With a cluster URL ({@code http://radio.example.org}) those are the cluster's name; without one, the
 * addresses of the live nodes that are not drained.
 *
 * @param source    source URLs without credentials, e.g. {@code http://radio.example.org:8000/live.mp3}
 * @param listen    listener URLs, e.g. {@code http://radio.example.org/live.mp3}
 * @param playlists M3U and PLS playlists of the first listener URL
 */
public record MountUrls(List<String> source, List<String> listen, List<String> playlists) {
    public static final int DEFAULT_SOURCE_PORT = 8000;
    public static final MountUrls NONE = new MountUrls(List.of(), List.of(), List.of());

    public MountUrls {
        source = List.copyOf(source);
        listen = List.copyOf(listen);
        playlists = List.copyOf(playlists);
    }

    public static MountUrls of(String path, String clusterUrl, ClusterSnapshot snapshot) {
        List<NodeStatus> nodes = new ArrayList<>(snapshot.nodes().values().stream()
                .filter(n -> !snapshot.isDrained(n.name())).toList());
        if (nodes.isEmpty()) {
            nodes.addAll(snapshot.nodes().values());
        }
        nodes.sort(Comparator.comparing(NodeStatus::name));
        List<String> source = new ArrayList<>();
        List<String> listen = new ArrayList<>();
        if (clusterUrl != null) {
            URI uri = URI.create(clusterUrl);
            int sourcePort = nodes.isEmpty() ? DEFAULT_SOURCE_PORT : nodes.get(0).sourcePort();
            source.add("http://" + uri.getRawAuthority().replaceFirst(":\\d+$", "") + ":" + sourcePort + path);
            listen.add(clusterUrl + path);
        } else {
            for (NodeStatus n : nodes) {
                String host = n.address().contains(":") ? "[" + n.address() + "]" : n.address();
                source.add("http://" + host + ":" + n.sourcePort() + path);
                listen.add("http://" + host + (n.httpPort() == 80 ? "" : ":" + n.httpPort()) + path);
            }
        }
        List<String> playlists = listen.isEmpty() ? List.of() : List.of(listen.get(0) + ".m3u", listen.get(0) + ".pls");
        return new MountUrls(source, listen, playlists);
    }

    @JsonIgnore
    public boolean isEmpty() {
        return listen.isEmpty();
    }

    /**
     * {@code http://host:8000/live.mp3} → {@code icecast://user:password@host:8000/live.mp3}, the form
     * ffmpeg and liquidsoap take; user and password are percent-encoded.
     */
    public static String icecastUrl(String sourceUrl, String user, String password) {
        return "icecast://" + encodeUserInfo(user) + ":" + encodeUserInfo(password) + "@"
                + sourceUrl.substring("http://".length());
    }

    private static String encodeUserInfo(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if (Character.isLetterOrDigit(c) && c < 128 || "-._~".indexOf(c) >= 0) {
                sb.append(c);
            } else {
                sb.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return sb.toString();
    }
}
