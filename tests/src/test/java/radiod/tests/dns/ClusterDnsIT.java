package radiod.tests.dns;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.testkit.EtcdCluster;

/** Issue 3 end to end: every radiod node answers for the zone from its cluster view, checked with dnsjava and dig. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterDnsIT {
    private static final int TTL = 3;

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    static RadiodCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = new RadiodCluster(etcd, 3, TTL).start();
        cluster.awaitReady(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static Message query(String server, String name, int type, boolean tcp) throws IOException {
        SimpleResolver r = new SimpleResolver(server);
        r.setPort(cluster.dnsPort);
        r.setTCP(tcp);
        r.setTimeout(Duration.ofSeconds(2));
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), type, org.xbill.DNS.DClass.IN));
        return r.send(q);
    }

    private static Set<String> apexAddresses(String server) throws IOException {
        Message m = query(server, "radio.test.", Type.A, false);
        Set<String> out = new TreeSet<>();
        for (Record r : m.getSection(Section.ANSWER)) {
            if (r.getType() == Type.A) {
                out.add(r.rdataToString());
            }
        }
        return out;
    }

    private static String dig(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("dig", "@" + cluster.node(0).address(), "-p", Integer.toString(cluster.dnsPort),
                "+time=2", "+tries=1"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        return out;
    }

    @Test
    @Order(1)
    void theApexHoldsExactlyTheLiveNodesOnEveryNode() throws Exception {
        Set<String> expected = new TreeSet<>(List.of("127.0.0.11", "127.0.0.12", "127.0.0.13"));
        for (RadiodProcess n : cluster.nodes()) {
            await().atMost(Duration.ofSeconds(5)).until(() -> apexAddresses(n.address()).equals(expected));
            Message m = query(n.address(), "radio.test.", Type.A, false);
            assertTrue(m.getHeader().getFlag(Flags.AA), "AA");
            assertFalse(m.getHeader().getFlag(Flags.RA), "RA must never be set");
            for (Record r : m.getSection(Section.ANSWER)) {
                assertEquals(TTL, r.getTTL());
            }
        }
        String out = dig("radio.test", "A", "+short");
        assertEquals(expected, new TreeSet<>(List.of(out.trim().split("\\s+"))), out);
    }

    @Test
    @Order(2)
    void perNodeNamesNsAndSoaAreAnswered() throws Exception {
        String server = cluster.node(1).address();
        Message node2 = query(server, "node2.radio.test.", Type.A, false);
        assertEquals(Rcode.NOERROR, node2.getRcode());
        assertEquals("127.0.0.12", node2.getSection(Section.ANSWER).get(0).rdataToString());
        Message ns = query(server, "radio.test.", Type.NS, false);
        assertTrue(ns.getSection(Section.ANSWER).stream().anyMatch(r -> r.rdataToString().equals("ns1.radio.test.")), ns.toString());
        Message soa = query(server, "radio.test.", Type.SOA, false);
        assertEquals(Type.SOA, soa.getSection(Section.ANSWER).get(0).getType());
        assertTrue(dig("radio.test", "SOA").contains("status: NOERROR"));
    }

    @Test
    @Order(3)
    void unknownNamesOtherTypesAndOtherZonesGetTheRightRcode() throws Exception {
        String server = cluster.node(2).address();
        Message nx = query(server, "nope.radio.test.", Type.A, false);
        assertEquals(Rcode.NXDOMAIN, nx.getRcode());
        assertEquals(Type.SOA, nx.getSection(Section.AUTHORITY).get(0).getType());
        Message nodata = query(server, "node1.radio.test.", Type.MX, false);
        assertEquals(Rcode.NOERROR, nodata.getRcode());
        assertTrue(nodata.getSection(Section.ANSWER).isEmpty());
        assertEquals(Type.SOA, nodata.getSection(Section.AUTHORITY).get(0).getType());
        Message refused = query(server, "example.com.", Type.A, false);
        assertEquals(Rcode.REFUSED, refused.getRcode());
        assertFalse(refused.getHeader().getFlag(Flags.RA));
        assertTrue(dig("www.example.com", "A").contains("status: REFUSED"));
        assertTrue(dig("nope.radio.test", "A").contains("status: NXDOMAIN"));
    }

    @Test
    @Order(4)
    void aKilledNodeLeavesTheAnswersWithinTheTtlPlusOneSecond() throws Exception {
        RadiodProcess victim = cluster.node(2);
        String server = cluster.node(0).address();
        long killed = System.nanoTime();
        victim.kill();
        await().atMost(Duration.ofSeconds(TTL + 1)).pollInterval(Duration.ofMillis(50))
                .until(() -> !apexAddresses(server).contains(victim.address()));
        System.out.printf("killed node left the DNS answers after %d ms (TTL %d s)%n",
                Duration.ofNanos(System.nanoTime() - killed).toMillis(), TTL);
        assertEquals(Set.of("127.0.0.11", "127.0.0.12"), apexAddresses(server));
        assertEquals(Rcode.NXDOMAIN, query(server, "node3.radio.test.", Type.A, false).getRcode());
        victim.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> apexAddresses(server).contains(victim.address()));
    }
}
