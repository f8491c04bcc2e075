package radiod.tests.ops;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.HttpURLConnection;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import radiod.cluster.model.Drain;
import radiod.cluster.model.Json;
import radiod.cluster.model.Mount;
import radiod.tests.harness.PlainEncoder;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;
import radiod.testkit.audio.Mp3Frames;

/**
 * Draining a node (the {@code drain/<node>} key radioctl writes): no mastership, no listeners, no DNS, and the
 * encoder streaming through it (a plain ffmpeg, which never reconnects) is not dropped; undrain restores it.
 */
class DrainIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    static RadiodCluster cluster;
    static PlainEncoder encoder;

    @BeforeAll
    static void start() {
        cluster = new RadiodCluster(etcd, 3, 3).start();
        cluster.awaitReady(Duration.ofSeconds(30));
        cluster.putMount(new Mount("/live.mp3", "source", "drain-pw", null, null, 0, 128, null));
    }

    @AfterAll
    static void stop() {
        if (encoder != null) {
            encoder.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    static Set<String> apex() throws Exception {
        SimpleResolver r = new SimpleResolver(cluster.node(0).address());
        r.setPort(cluster.dnsPort);
        r.setTimeout(Duration.ofSeconds(2));
        Message m = r.send(Message.newQuery(Record.newRecord(Name.fromString("radio.test."), Type.A, DClass.IN)));
        Set<String> out = new TreeSet<>();
        m.getSection(Section.ANSWER).forEach(rec -> out.add(rec.rdataToString()));
        return out;
    }

    @Test
    void aDrainedMasterHandsOverTakesNoListenersAndLeavesDnsUntilUndrained() throws Exception {
        RadiodProcess drained = cluster.master().orElseThrow();
        // Setting up: a brand-new mount may refuse its first source; knock until it is live everywhere.
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).until(() -> {
            if (encoder == null || !encoder.alive()) {
                if (encoder != null) {
                    encoder.close();
                }
                encoder = new PlainEncoder("icecast://source:drain-pw@" + drained.address() + ":" + cluster.sourcePort + "/live.mp3");
            }
            return cluster.snapshot().nodes().values().stream().allMatch(n -> n.hasMount("/live.mp3"));
        });

        cluster.putRaw("drain/" + drained.name(), Json.encodeString(new Drain("maintenance", System.currentTimeMillis())));
        await().atMost(Duration.ofSeconds(5)).until(() -> cluster.master().filter(m -> m != drained).isPresent());
        assertNotEquals(drained, cluster.master().orElseThrow());
        // A handover the operator asked for is no fault: the old master says so at INFO and warns of nothing about it.
        await().atMost(Duration.ofSeconds(5)).until(() -> drained.logText().lines()
                .anyMatch(l -> l.matches(".* INFO .*RadiodNode - this node is no longer the master: it is drained.*")));
        assertEquals(List.of(), drained.logText().lines().filter(l -> l.contains(" WARN ") && l.contains("master")).toList(),
                "the drained master warned about its handover");
        await().atMost(Duration.ofSeconds(5)).until(() -> cluster.snapshot().node(drained.name()).map(n -> n.drained()).orElse(false));
        await().atMost(Duration.ofSeconds(5)).until(() -> !apex().contains(drained.address()));
        assertEquals(2, apex().size());
        // The encoder came in through the drained node's source port: a plain ffmpeg, which never reconnects, must
        // not have been dropped (the node lives on, only its roles move), and the other nodes serve its audio.
        assertTrue(encoder.alive(), "draining its node dropped the encoder: " + encoder.story());
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() -> cluster.nodes().stream()
                .filter(n -> n != drained).allMatch(n -> Mp3Frames.isMp3(Streams.read(n.httpUrl("/_stream/live.mp3"), 8192, 2000))));
        assertTrue(encoder.alive(), "draining its node dropped the encoder: " + encoder.story());
        // The drained node's own Icecast still carries the mount, for the listeners it keeps.
        assertTrue(Mp3Frames.isMp3(Streams.read(drained.icecastUrl("/live.mp3"), 8192, 3000)));
        // A player coming back to the drained node's own stream URL is sent on to a node that is not drained, and hears
        // the mount there.
        HttpURLConnection back = (HttpURLConnection) URI.create(drained.httpUrl("/_stream/live.mp3")).toURL().openConnection();
        back.setInstanceFollowRedirects(false);
        assertEquals(302, back.getResponseCode());
        String onTo = back.getHeaderField("Location");
        back.disconnect();
        assertTrue(onTo.contains("/_stream/live.mp3") && !onTo.contains("//" + drained.address() + ":"), onTo);
        assertTrue(Mp3Frames.isMp3(Streams.read(drained.httpUrl("/live.mp3"), 8192, 3000)));
        assertTrue(Mp3Frames.isMp3(Streams.read(onTo, 8192, 3000)), onTo);

        // 60 listeners asking three nodes: none is sent to the drained node
        for (int i = 0; i < 60; i++) {
            RadiodProcess via = cluster.node(i % 3);
            HttpURLConnection c = (HttpURLConnection) URI.create(via.httpUrl("/live.mp3")).toURL().openConnection();
            c.setInstanceFollowRedirects(false);
            int status = c.getResponseCode();
            if (status == 302) {
                assertFalse(c.getHeaderField("Location").contains("//" + drained.address() + ":"), c.getHeaderField("Location"));
            } else {
                assertEquals(200, status);
                assertNotEquals(drained, via, "the drained node served a listener itself");
            }
            c.disconnect();
        }
        String page = new String(Streams.read(drained.httpUrl("/"), 1 << 20, 3000));
        assertTrue(page.contains("drained"), page);

        cluster.deleteRaw("drain/" + drained.name());
        await().atMost(Duration.ofSeconds(5)).until(() -> apex().contains(drained.address()));
        assertFalse(cluster.snapshot().node(drained.name()).orElseThrow().drained());
    }
}
