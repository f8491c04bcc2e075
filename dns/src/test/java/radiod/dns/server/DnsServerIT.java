package radiod.dns.server;

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
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import radiod.cluster.view.ClusterSnapshot;
import radiod.dns.zone.Answers;
import radiod.dns.zone.DnsSettings;
import radiod.dns.zone.Snapshots;

/** The DNS server on real sockets, asked by dnsjava's resolver (UDP and TCP) and by dig. */
class DnsServerIT {
    static final String HOST = DnsOnLoopback.HOST;
    static final ClusterSnapshot THREE = Snapshots.of(10,
            Snapshots.live("node1", "127.0.0.11"), Snapshots.live("node2", "127.0.0.12"),
            Snapshots.live("node3", "127.0.0.13"), Snapshots.node("node4", false, false, "127.0.0.14"));
    static final AtomicReference<ClusterSnapshot> view = new AtomicReference<>(THREE);
    @RegisterExtension
    static final DnsOnLoopback dns = DnsOnLoopback.serving(
            DnsSettings.defaults("radio.test").withAlias("stream").withMaxAnswers(64), view::get);

    @AfterEach
    void resetView() {
        view.set(THREE);
    }

    static Message query(String name, int type, boolean tcp) throws IOException {
        SimpleResolver r = resolver(tcp);
        return r.send(Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN)));
    }

    static SimpleResolver resolver(boolean tcp) {
        return dns.resolver(tcp);
    }

    static String dig(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("dig", "@" + HOST, "-p", Integer.toString(dns.port()), "+time=2", "+tries=1"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(10, TimeUnit.SECONDS), "dig finished");
        return out;
    }

    static Set<String> digShort(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("+short");
        String out = dig(all.toArray(new String[0])).trim();
        return out.isEmpty() ? Set.of() : new TreeSet<>(List.of(out.split("\\s+")));
    }

    /** The flags dig printed, e.g. "qr aa rd". */
    static String digFlags(String output) {
        Matcher m = Pattern.compile(";; flags: ([a-z ]*);").matcher(output);
        assertTrue(m.find(), output);
        return " " + m.group(1) + " ";
    }

    @Test
    void theApexHoldsExactlyTheLiveNodesAndFollowsTheView() throws Exception {
        Set<String> live = Set.of("127.0.0.11", "127.0.0.12", "127.0.0.13");
        for (boolean tcp : new boolean[] {false, true}) {
            Message m = query("radio.test.", Type.A, tcp);
            assertEquals(Rcode.NOERROR, m.getRcode());
            assertEquals(live, Answers.addresses(m), tcp ? "tcp" : "udp");
            assertTrue(m.getHeader().getFlag(Flags.AA));
            assertFalse(m.getHeader().getFlag(Flags.RA), "RA is never set");
        }
        assertEquals(live, digShort("radio.test", "A"));
        assertEquals(live, digShort("radio.test", "A", "+tcp"));

        view.set(Snapshots.of(11, Snapshots.live("node1", "127.0.0.11"), Snapshots.live("node3", "127.0.0.13")));
        assertEquals(Set.of("127.0.0.11", "127.0.0.13"), Answers.addresses(query("radio.test.", Type.A, false)),
                "the next answer follows the new view");
        assertEquals(Set.of("127.0.0.11", "127.0.0.13"), digShort("radio.test", "A"));
        assertEquals(Rcode.NXDOMAIN, query("node2.radio.test.", Type.A, false).getRcode(), "a node that left is gone");

        view.set(Snapshots.of(12, Snapshots.node("node1", false, false, "127.0.0.11")));
        Message none = query("radio.test.", Type.A, false);
        assertEquals(Rcode.NOERROR, none.getRcode(), "no live node: NODATA, not NXDOMAIN");
        assertTrue(none.getSection(Section.ANSWER).isEmpty());
    }

    @Test
    void nodeNamesNsSoaAndTheAliasAreAnswered() throws Exception {
        assertEquals(Set.of("127.0.0.12"), Answers.addresses(query("node2.radio.test.", Type.A, false)));
        assertEquals(Set.of("127.0.0.14"), digShort("node4.radio.test", "A"), "a node whose Icecast is down keeps its name");
        assertEquals(Set.of("127.0.0.12"), digShort("NODE2.Radio.Test", "A"));

        Message ns = query("radio.test.", Type.NS, false);
        assertEquals("ns1.radio.test.", ns.getSection(Section.ANSWER).get(0).rdataToString());
        assertEquals(4, ns.getSection(Section.ADDITIONAL).stream().filter(r -> r.getType() == Type.A).count(), "glue");
        assertEquals(Set.of("ns1.radio.test."), digShort("radio.test", "NS"));

        SOARecord soa = (SOARecord) query("radio.test.", Type.SOA, true).getSection(Section.ANSWER).get(0);
        long serial = soa.getSerial(); // derived from the answers (DnsSerialIT), the same over UDP and TCP
        assertEquals(serial, ((SOARecord) query("radio.test.", Type.SOA, false).getSection(Section.ANSWER).get(0)).getSerial());
        assertEquals("hostmaster.radio.test.", soa.getAdmin().toString());
        String digSoa = dig("radio.test", "SOA");
        assertTrue(digSoa.contains("status: NOERROR"), digSoa);
        assertTrue(digSoa.contains("ns1.radio.test. hostmaster.radio.test. " + serial + " 3600 600 1209600 5"), digSoa);

        Set<String> alias = digShort("stream.radio.test", "A");
        assertEquals(Set.of("radio.test.", "127.0.0.11", "127.0.0.12", "127.0.0.13"), alias);
    }

    @Test
    void nxdomainAndNodataCarryTheSoaAndOtherZonesAreRefused() throws Exception {
        Message nx = query("nope.radio.test.", Type.A, false);
        assertEquals(Rcode.NXDOMAIN, nx.getRcode());
        assertEquals(Type.SOA, nx.getSection(Section.AUTHORITY).get(0).getType());
        Message nodata = query("node1.radio.test.", Type.MX, true);
        assertEquals(Rcode.NOERROR, nodata.getRcode());
        assertTrue(nodata.getSection(Section.ANSWER).isEmpty());
        assertEquals(Type.SOA, nodata.getSection(Section.AUTHORITY).get(0).getType());
        Message refused = query("example.com.", Type.A, false);
        assertEquals(Rcode.REFUSED, refused.getRcode());
        assertFalse(refused.getHeader().getFlag(Flags.AA));
        assertFalse(refused.getHeader().getFlag(Flags.RA));

        String digNx = dig("nope.radio.test", "A");
        assertTrue(digNx.contains("status: NXDOMAIN"), digNx);
        assertTrue(digNx.contains("AUTHORITY: 1"), digNx);
        String digNodata = dig("node1.radio.test", "TXT");
        assertTrue(digNodata.contains("status: NOERROR") && digNodata.contains("ANSWER: 0") && digNodata.contains("AUTHORITY: 1"),
                digNodata);
        String digRefused = dig("www.example.com", "A");
        assertTrue(digRefused.contains("status: REFUSED"), digRefused);
        String flags = digFlags(digRefused);
        assertFalse(flags.contains(" ra "), flags);
        assertFalse(flags.contains(" aa "), flags);
        String inZone = digFlags(dig("radio.test", "A"));
        assertTrue(inZone.contains(" qr ") && inZone.contains(" aa ") && inZone.contains(" rd "), inZone);
        assertFalse(inZone.contains(" ra "), "RA never set: " + inZone);
        assertFalse(digFlags(dig("radio.test", "A", "+norecurse")).contains(" rd "), "RD copied");
    }

    @Test
    void anOversizedUdpAnswerIsTruncatedAndTcpCarriesItAll() throws Exception {
        view.set(Snapshots.ipv6Nodes(20, 40));
        double truncatedBefore = dns.registry().counter("radiod.dns.truncated", "transport", "udp").count();

        SimpleResolver noEdns = resolver(false);
        noEdns.setEDNS(-1);
        noEdns.setIgnoreTruncation(true);
        Message udp = noEdns.send(Message.newQuery(Record.newRecord(Name.fromString("radio.test."), Type.AAAA, DClass.IN)));
        assertTrue(udp.getHeader().getFlag(Flags.TC), udp.toString());
        assertTrue(udp.getSection(Section.ANSWER).isEmpty());

        Message tcp = query("radio.test.", Type.AAAA, true);
        assertFalse(tcp.getHeader().getFlag(Flags.TC));
        assertEquals(40, Answers.addresses(tcp).size());

        String digNoEdns = dig("radio.test", "AAAA", "+noedns", "+ignore");
        assertTrue(digFlags(digNoEdns).contains(" tc "), digNoEdns);
        String digSmall = dig("radio.test", "AAAA", "+bufsize=512", "+ignore");
        assertTrue(digFlags(digSmall).contains(" tc "), digSmall);
        assertTrue(digSmall.contains("udp: 1232"), "the OPT advertises 1232: " + digSmall);
        assertEquals(40, digShort("radio.test", "AAAA", "+tcp").size());
        assertEquals(40, digShort("radio.test", "AAAA", "+noedns").size(), "dig retries over TCP on TC");
        String digBig = dig("radio.test", "AAAA", "+bufsize=4096");
        assertFalse(digFlags(digBig).contains(" tc "), "40 AAAA fit in 1232 bytes: " + digBig);
        assertTrue(digBig.contains("ANSWER: 40"), digBig);

        assertTrue(dns.registry().counter("radiod.dns.truncated", "transport", "udp").count() >= truncatedBefore + 3);
    }

    @Test
    void queriesAreCountedByTypeRcodeAndTransport() throws Exception {
        double before = dns.registry().counter("radiod.dns.queries", "type", "A", "rcode", "NXDOMAIN", "transport", "tcp").count();
        query("nope.radio.test.", Type.A, true);
        query("nope.radio.test.", Type.A, true);
        await().atMost(Duration.ofSeconds(2)).until(() -> dns.registry().counter("radiod.dns.queries", "type", "A", "rcode",
                "NXDOMAIN", "transport", "tcp").count() == before + 2);
        // The server counts an answer once it is sent, so the client may read it first: wait for the count.
        query("example.org.", Type.MX, false);
        await().atMost(Duration.ofSeconds(2)).until(() -> dns.registry().counter("radiod.dns.queries", "type", "MX", "rcode",
                "REFUSED", "transport", "udp").count() >= 1);
        query("radio.test.", Type.NAPTR, false);
        await().atMost(Duration.ofSeconds(2)).until(() -> dns.registry().counter("radiod.dns.queries", "type", "other", "rcode",
                "NOERROR", "transport", "udp").count() >= 1);
    }
}
