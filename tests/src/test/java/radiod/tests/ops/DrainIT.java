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
import java.util.concurrent.CopyOnWriteArrayList;

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

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.model.Drain;
import radiod.cluster.model.Json;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
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

        int logMark = drained.logText().length();
        cluster.putRaw("drain/" + drained.name(), Json.encodeString(new Drain("maintenance", System.currentTimeMillis())));
        await().atMost(Duration.ofSeconds(5)).until(() -> cluster.master().filter(m -> m != drained).isPresent());
        assertNotEquals(drained, cluster.master().orElseThrow());
        // A handover the operator asked for is no fault: the old master says so at INFO and warns of nothing about it.
        await().atMost(Duration.ofSeconds(5)).until(() -> drained.logText().substring(logMark).lines()
                .anyMatch(l -> l.matches(".* INFO .*RadiodNode - this node is no longer the master: it is drained.*")));
        assertEquals(List.of(), drained.logText().substring(logMark).lines()
                        .filter(l -> l.contains(" WARN ") && l.contains("master")).toList(),
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

    /**
     * A node drained while it was down never campaigns when it starts, even alone: it used to run for master before it
     * had read the view that says it is drained, and a node starting first at a whole-cluster start could win and hand
     * over a moment later (two elections, and a master that is not eligible).
     */
    @Test
    void aNodeDrainedBeforeItStartsNeverRunsForMaster() throws Exception {
        RadiodProcess master = cluster.awaitReady(Duration.ofSeconds(30));
        int logMark = master.logText().length();
        cluster.nodes().forEach(RadiodProcess::stop);
        await().atMost(Duration.ofSeconds(10)).until(() -> cluster.snapshot().master().isEmpty());
        // A master stopped by its operator hands over at INFO, as a drained one does, and warns of nothing.
        List<String> said = master.logText().substring(logMark).lines().filter(l -> l.contains("no longer the master")).toList();
        assertEquals(1, said.size(), said.toString());
        assertTrue(said.get(0).matches(".* INFO .*RadiodNode - this node is no longer the master: it is stopping.*"), said.get(0));
        RadiodProcess drained = cluster.node(0);
        RadiodProcess other = cluster.node(1);
        cluster.putRaw("drain/" + drained.name(), Json.encodeString(new Drain("maintenance", System.currentTimeMillis())));
        Client client = cluster.etcdClient();
        ByteSequence masterKey = cluster.etcdOptions().keys().master();
        long from = EtcdClients.await(client.getKVClient().get(masterKey), cluster.etcdOptions(), "get the master key")
                .getHeader().getRevision() + 1;
        // Every write to the master key from here on, in revision order.
        List<String> holders = new CopyOnWriteArrayList<>();
        try (Watch.Watcher history = client.getWatchClient().watch(masterKey, WatchOption.builder().withRevision(from).build(),
                Watch.listener(response -> response.getEvents().forEach(e -> holders.add(
                        e.getEventType() == WatchEvent.EventType.PUT
                                ? Json.decodeStrict(e.getKeyValue().getValue().getBytes(), MasterInfo.class).name()
                                : "(deleted)"))))) {
            drained.start();
            // Up, with the view read: it publishes itself as drained.
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> cluster.snapshot().node(drained.name()).map(NodeStatus::drained).orElse(false));
            other.start();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> holders.contains(other.name()));
            assertEquals(List.of(other.name()), holders, "the master key's writes since the drained node started");
            assertEquals(other.name(), cluster.snapshot().master().orElseThrow().name());
        } finally {
            cluster.deleteRaw("drain/" + drained.name());
            cluster.start();
        }
        cluster.awaitReady(Duration.ofSeconds(30));
        await().atMost(Duration.ofSeconds(10)).until(() -> cluster.nodes().stream()
                .allMatch(n -> cluster.snapshot().node(n.name()).map(st -> !st.drained()).orElse(false)));
    }
}
