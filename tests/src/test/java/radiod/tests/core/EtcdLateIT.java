package radiod.tests.core;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import radiod.cluster.model.Mount;
import radiod.tests.harness.PlainEncoder;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.testkit.EtcdCluster;
import radiod.testkit.Ports;

/**
 * A node that starts before etcd answers (a site powered up again, etcd slower than radiod) opens its ports but knows
 * nothing of the cluster yet. It must say so, not answer as if the cluster had no nodes and no mounts: SERVFAIL to DNS
 * (a resolver asks another nameserver and caches no NODATA for the negative TTL) and 503 with Retry-After to players
 * (a 404 stops many of them for good); an encoder is held, then gets 503, not 404. Once etcd answers it serves as
 * usual.
 */
class EtcdLateIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    @Test
    void aNodeStartedBeforeEtcdAnswersAsksResolversAndPlayersToComeBack() throws Exception {
        try (RadiodCluster cluster = new RadiodCluster(etcd, 1, 3)) {
            cluster.putMount(new Mount("/live.mp3", "source", "late-pw", null, null, 0, 128, null));
            RadiodProcess node = cluster.node(0);
            etcd.member(0).stop();
            try {
                node.start();
                // The first answer its DNS port gives, once it is open.
                Message first = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                        .until(() -> ask(cluster, node, "radio.test."), Optional::isPresent).orElseThrow();
                assertEquals(Rcode.SERVFAIL, first.getRcode(), first.toString());
                assertFalse(first.getHeader().getFlag(Flags.AA));
                Message ownName = ask(cluster, node, node.name() + ".radio.test.").orElseThrow();
                assertEquals(Rcode.SERVFAIL, ownName.getRcode(), ownName.toString());
                // Players, and widgets written for Icecast (whose shape cannot say "not known yet").
                for (String path : new String[] {"/live.mp3", "/nope.mp3", "/_stream/live.mp3", "/status-json.xsl"}) {
                    HttpURLConnection c = get(node.httpUrl(path));
                    assertEquals(503, c.getResponseCode(), path);
                    assertTrue(c.getHeaderField("Retry-After") != null, path);
                    c.disconnect();
                }
                // The node's own status answers, and says its empty cluster is not read yet.
                assertTrue(body(node.httpUrl("/status.json")).contains("\"read\":false"));
                // An encoder (a plain ffmpeg) is held as on a fenced node, then asked to come back: a 503, never
                // the 404 of a mount that does not exist.
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                        .until(() -> Ports.accepts(node.address(), cluster.sourcePort));
                PlainEncoder encoder = new PlainEncoder("icecast://source:late-pw@" + node.address() + ":"
                        + cluster.sourcePort + "/live.mp3");
                try {
                    await().atMost(Duration.ofSeconds(10)).until(() -> !encoder.alive());
                    String story = encoder.story();
                    assertTrue(story.contains("HTTP error 503") || story.contains("5XX Server Error"), story);
                    assertFalse(story.contains("404"), story);
                } finally {
                    encoder.close();
                }
                assertTrue(node.running(), "radiod waits for etcd, it does not exit");
            } finally {
                etcd.member(0).start();
            }
            cluster.awaitReady(Duration.ofSeconds(30));
            Message after = ask(cluster, node, "radio.test.").orElseThrow();
            assertEquals(Rcode.NOERROR, after.getRcode(), after.toString());
            assertTrue(after.getHeader().getFlag(Flags.AA));
            HttpURLConnection c = get(node.httpUrl("/nope.mp3"));
            assertEquals(404, c.getResponseCode());
            c.disconnect();
            assertTrue(body(node.httpUrl("/status.json")).contains("\"read\":true"));
        }
    }

    private static String body(String url) throws IOException {
        HttpURLConnection c = get(url);
        try (java.io.InputStream in = c.getInputStream()) {
            assertEquals(200, c.getResponseCode(), url);
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } finally {
            c.disconnect();
        }
    }

    /** One A query to the node's DNS port; empty when nothing answered within 300 ms. */
    private static Optional<Message> ask(RadiodCluster cluster, RadiodProcess node, String name) {
        try {
            SimpleResolver r = new SimpleResolver(node.address());
            r.setPort(cluster.dnsPort);
            r.setTimeout(Duration.ofMillis(300));
            return Optional.of(r.send(Message.newQuery(Record.newRecord(Name.fromString(name), Type.A, DClass.IN))));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static HttpURLConnection get(String url) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        c.setInstanceFollowRedirects(false);
        c.setConnectTimeout(3000);
        c.setReadTimeout(3000);
        return c;
    }
}
