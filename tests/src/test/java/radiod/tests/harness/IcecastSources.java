package radiod.tests.harness;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a node's Icecast itself says it serves, read from its {@code /admin/stats} with the admin password radiod
 * wrote into that node's {@code icecast.xml}: per mount, where its source connected from ({@code source_ip}; for a
 * {@code <relay>} Icecast puts the upstream server there) and how many listeners Icecast counts.
 */
public final class IcecastSources {
    private static final Pattern SOURCE = Pattern.compile("<source mount=\"([^\"]+)\">(.*?)</source>", Pattern.DOTALL);
    private static final Pattern SOURCE_IP = Pattern.compile("<source_ip>([^<]*)</source_ip>");
    private static final Pattern LISTENERS = Pattern.compile("<listeners>(\\d+)</listeners>");
    private static final Pattern PASSWORD = Pattern.compile("<admin-password>([^<]*)</admin-password>");
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofMillis(300)).build();

    /** One mount on one Icecast: its source's address ("" when Icecast does not say) and Icecast's listener count. */
    public record Mount(String path, String sourceIp, int listeners) {
    }

    private IcecastSources() {
    }

    /** The node's Icecast's mounts that have a source, or null when it cannot be asked (down, restarting). */
    public static Map<String, Mount> of(RadiodProcess node, Path clusterDir, Duration timeout) {
        try {
            Path xml = clusterDir.resolve(node.name() + "-icecast").resolve("icecast.xml");
            Matcher pw = PASSWORD.matcher(Files.readString(xml));
            if (!pw.find()) {
                return null;
            }
            String auth = Base64.getEncoder().encodeToString(("admin:" + pw.group(1)).getBytes(StandardCharsets.UTF_8));
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(node.icecastUrl("/admin/stats")))
                    .header("Authorization", "Basic " + auth).timeout(timeout).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return null;
            }
            Map<String, Mount> mounts = new TreeMap<>();
            Matcher m = SOURCE.matcher(r.body());
            while (m.find()) {
                Matcher ip = SOURCE_IP.matcher(m.group(2));
                Matcher listeners = LISTENERS.matcher(m.group(2));
                mounts.put(m.group(1), new Mount(m.group(1), ip.find() ? ip.group(1) : "",
                        listeners.find() ? Integer.parseInt(listeners.group(1)) : 0));
            }
            return mounts;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
