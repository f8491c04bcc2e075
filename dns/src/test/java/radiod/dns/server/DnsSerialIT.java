package radiod.dns.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.dns.zone.DnsSettings;
import radiod.dns.zone.Snapshots;

/**
 * Two nodes' DNS servers, whose views are at different etcd revisions (presence rewrites every
 * node's status each second, so they nearly always are), give the same SOA serial as long as their answers are the
 * same, and both change it when an answer changes.
 */
class DnsSerialIT {
    static final AtomicReference<ClusterSnapshot> viewA = new AtomicReference<>();
    static final AtomicReference<ClusterSnapshot> viewB = new AtomicReference<>();
    @RegisterExtension
    static final DnsOnLoopback a = DnsOnLoopback.serving(DnsSettings.defaults("radio.test").withAlias("stream"), viewA::get);
    @RegisterExtension
    static final DnsOnLoopback b = DnsOnLoopback.serving(DnsSettings.defaults("radio.test").withAlias("stream"), viewB::get);

    static long serial(DnsOnLoopback server) throws IOException {
        Message m = server.resolver(false).send(Message.newQuery(Record.newRecord(Name.fromString("radio.test."), Type.SOA, DClass.IN)));
        return ((SOARecord) m.getSection(Section.ANSWER).get(0)).getSerial();
    }

    /** A node's status as presence publishes it at second {@code tick}: only what DNS does not answer moves. */
    static NodeStatus status(String name, String address, boolean icecastUp, int tick) {
        return new NodeStatus(name, List.of(address), 8080, 8000, 8100, 53, icecastUp, false, name.equals("node1"),
                tick * 3, Map.of("/live.mp3", tick), 128_000L * tick, 0, 0, List.of(), "test", 1_700_000_000_000L + 1000L * tick);
    }

    static ClusterSnapshot view(long revision, int tick, boolean node3Up) {
        return Snapshots.of(revision, status("node1", "127.0.0.11", true, tick), status("node2", "127.0.0.12", true, tick),
                status("node3", "127.0.0.13", node3Up, tick));
    }

    @Test
    void serversAtDifferentRevisionsWithTheSameAnswersGiveTheSameSerialAndAChangedAnswerChangesIt() throws Exception {
        viewA.set(view(100, 0, true));
        viewB.set(view(103, 1, true));
        long first = serial(a);
        assertEquals(first, serial(b), "same answers at revisions 100 and 103");
        for (int tick = 2; tick < 6; tick++) { // presence ticks: new revisions, new listener counts, same answers
            viewA.set(view(100 + 2L * tick, tick, true));
            viewB.set(view(101 + 2L * tick, tick + 1, true));
            assertEquals(first, serial(a), "node A at revision " + viewA.get().revision());
            assertEquals(first, serial(b), "node B at revision " + viewB.get().revision());
        }

        viewA.set(view(120, 7, false)); // node3's Icecast is down: it leaves the apex's answer
        long changed = serial(a);
        assertNotEquals(first, changed, "an answer changed on A");
        assertNotEquals(changed, serial(b), "B does not give that answer yet");
        viewB.set(view(125, 8, false));
        assertEquals(changed, serial(b), "B's view agrees again, at another revision");

        viewA.set(view(130, 9, true));
        viewB.set(view(131, 9, true));
        assertEquals(first, serial(a), "the same answers as at first: the same serial as at first");
        assertEquals(first, serial(b));
    }
}
