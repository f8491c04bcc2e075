package radiod.dns.zone;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.dns.zone.ZoneAnswerer.Transport;

class ZoneAnswererTest {
    private final AtomicReference<ClusterSnapshot> view = new AtomicReference<>(Snapshots.of(7, List.of(
            Snapshots.node("node1", true, "192.0.2.1", "2001:db8::1"),
            Snapshots.node("node2", true, "192.0.2.2"),
            Snapshots.node("node3", false, "192.0.2.3"),
            Snapshots.node("node4", true, "192.0.2.4")), "node4"));
    private final ZoneAnswerer answerer = new ZoneAnswerer(
            DnsSettings.of("radio.example.org", List.of("ns1.radio.example.org", "ns.other.net"), 5, 8, "stream"), view::get);

    private Message ask(String name, int type) throws Exception {
        return ask(Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN)), Transport.UDP);
    }

    private Message ask(Message q, Transport t) throws Exception {
        ZoneAnswerer.Answer a = answerer.answer(q.toWire(), t);
        assertNotNull(a);
        return new Message(a.wire());
    }

    private static Set<String> rdata(Message m, int section, int type) {
        return m.getSection(section).stream().filter(r -> r.getType() == type).map(Record::rdataToString)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void theApexHoldsLiveUndrainedNodesWithIcecastUpAndIsAuthoritative() throws Exception {
        Message m = ask("radio.example.org.", Type.A);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertEquals(Set.of("192.0.2.1", "192.0.2.2"), rdata(m, Section.ANSWER, Type.A));
        assertTrue(m.getHeader().getFlag(Flags.AA));
        assertFalse(m.getHeader().getFlag(Flags.RA));
        assertTrue(m.getHeader().getFlag(Flags.RD), "RD is copied from the query");
        m.getSection(Section.ANSWER).forEach(r -> assertEquals(5, r.getTTL()));
        assertEquals(Set.of("2001:db8:0:0:0:0:0:1"), rdata(ask("radio.example.org.", Type.AAAA), Section.ANSWER, Type.AAAA));
    }

    @Test
    void apexAnswersAreShuffledAndCappedAtMaxAnswers() throws Exception {
        List<NodeStatus> many = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            many.add(Snapshots.node("n" + i, true, "192.0.2." + i));
        }
        view.set(Snapshots.of(8, many));
        Set<String> firsts = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            Message m = ask("radio.example.org.", Type.A);
            assertEquals(8, m.getSection(Section.ANSWER).size());
            firsts.add(m.getSection(Section.ANSWER).get(0).rdataToString());
        }
        assertTrue(firsts.size() > 5, "answers are not shuffled: " + firsts);
    }

    @Test
    void aNodeThatLeavesTheViewLeavesTheNextAnswer() throws Exception {
        view.set(Snapshots.of(9, List.of(Snapshots.node("node1", true, "192.0.2.1"))));
        assertEquals(Set.of("192.0.2.1"), rdata(ask("radio.example.org.", Type.A), Section.ANSWER, Type.A));
        assertEquals(Rcode.NXDOMAIN, ask("node2.radio.example.org.", Type.A).getRcode());
    }

    @Test
    void nodeNamesNsWithGlueSoaAndTheAlias() throws Exception {
        assertEquals(Set.of("192.0.2.3"), rdata(ask("node3.radio.example.org.", Type.A), Section.ANSWER, Type.A));
        Message ns = ask("radio.example.org.", Type.NS);
        assertEquals(Set.of("ns1.radio.example.org.", "ns.other.net."), rdata(ns, Section.ANSWER, Type.NS));
        assertEquals(Set.of("192.0.2.1", "192.0.2.2"), rdata(ns, Section.ADDITIONAL, Type.A), "glue for the in-zone NS");
        assertEquals(Set.of("192.0.2.1", "192.0.2.2"), rdata(ask("ns1.radio.example.org.", Type.A), Section.ANSWER, Type.A));
        Message soa = ask("radio.example.org.", Type.SOA);
        assertEquals(Type.SOA, soa.getSection(Section.ANSWER).get(0).getType());
        Message alias = ask("stream.radio.example.org.", Type.A);
        assertEquals(Set.of("radio.example.org."), rdata(alias, Section.ANSWER, Type.CNAME));
        assertEquals(Set.of("192.0.2.1", "192.0.2.2"), rdata(alias, Section.ANSWER, Type.A));
    }

    @Test
    void nxdomainAndNodataCarryTheSoaAndOtherZonesAreRefused() throws Exception {
        Message nx = ask("nope.radio.example.org.", Type.A);
        assertEquals(Rcode.NXDOMAIN, nx.getRcode());
        assertTrue(nx.getHeader().getFlag(Flags.AA));
        assertEquals(Type.SOA, nx.getSection(Section.AUTHORITY).get(0).getType());
        Message deep = ask("a.b.radio.example.org.", Type.A);
        assertEquals(Rcode.NXDOMAIN, deep.getRcode());
        Message nodata = ask("node1.radio.example.org.", Type.MX);
        assertEquals(Rcode.NOERROR, nodata.getRcode());
        assertTrue(nodata.getSection(Section.ANSWER).isEmpty());
        assertEquals(Type.SOA, nodata.getSection(Section.AUTHORITY).get(0).getType());
        Message apexTxt = ask("radio.example.org.", Type.TXT);
        assertTrue(apexTxt.getSection(Section.ANSWER).isEmpty());
        assertEquals(Type.SOA, apexTxt.getSection(Section.AUTHORITY).get(0).getType());
        Message refused = ask("example.com.", Type.A);
        assertEquals(Rcode.REFUSED, refused.getRcode());
        assertFalse(refused.getHeader().getFlag(Flags.AA));
        assertFalse(refused.getHeader().getFlag(Flags.RA));
        assertTrue(refused.getSection(Section.ANSWER).isEmpty());
    }

    @Test
    void namesMatchCaseInsensitivelyAndTheQuestionKeepsItsCase() throws Exception {
        Message m = ask("RaDiO.ExAmPlE.oRg.", Type.A);
        assertEquals(2, m.getSection(Section.ANSWER).size());
        assertEquals("RaDiO.ExAmPlE.oRg.", m.getQuestion().getName().toString());
        assertEquals(Set.of("192.0.2.2"), rdata(ask("NODE2.radio.example.org.", Type.A), Section.ANSWER, Type.A));
    }

    @Test
    void anyGetsAMinimalAnswer() throws Exception {
        Message m = ask("radio.example.org.", Type.ANY);
        assertEquals(1, m.getSection(Section.ANSWER).size());
    }

    @Test
    void otherOpcodesAreNotImplemented() throws Exception {
        Message q = Message.newQuery(Record.newRecord(Name.fromString("radio.example.org."), Type.A, DClass.IN));
        q.getHeader().setOpcode(Opcode.NOTIFY);
        assertEquals(Rcode.NOTIMP, ask(q, Transport.UDP).getRcode());
        Message update = Message.newUpdate(Name.fromString("radio.example.org."));
        assertEquals(Rcode.NOTIMP, ask(update, Transport.UDP).getRcode());
    }

    @Test
    void ednsPayloadIsHonouredUpTo1232AndOversizeUdpIsTruncatedButTcpIsWhole() throws Exception {
        ZoneAnswerer wide = new ZoneAnswerer(DnsSettings.of("radio.example.org", List.of(), 5, 64, null), view::get);
        // 30 IPv6 nodes: about 900 bytes, too big for plain DNS's 512, fits EDNS's 1232
        view.set(Snapshots.of(10, ipv6Nodes(30)));
        Message q = Message.newQuery(Record.newRecord(Name.fromString("radio.example.org."), Type.AAAA, DClass.IN));
        ZoneAnswerer.Answer plain = wide.answer(q.toWire(), Transport.UDP);
        assertTrue(plain.truncated());
        assertTrue(plain.wire().length <= 512);
        assertTrue(new Message(plain.wire()).getHeader().getFlag(Flags.TC));
        Message withEdns = Message.newQuery(Record.newRecord(Name.fromString("radio.example.org."), Type.AAAA, DClass.IN));
        withEdns.addRecord(new OPTRecord(4096, 0, 0), Section.ADDITIONAL);
        ZoneAnswerer.Answer edns = wide.answer(withEdns.toWire(), Transport.UDP);
        assertFalse(edns.truncated());
        assertTrue(edns.wire().length > 512 && edns.wire().length <= 1232, "length " + edns.wire().length);
        assertEquals(30, new Message(edns.wire()).getSection(Section.ANSWER).size());
        assertEquals(1232, new Message(edns.wire()).getOPT().getPayloadSize());
        // 60 nodes do not fit 1232 (4096 asked, 1232 honoured): truncated over UDP, whole over TCP
        view.set(Snapshots.of(11, ipv6Nodes(60)));
        ZoneAnswerer.Answer over = wide.answer(withEdns.toWire(), Transport.UDP);
        assertTrue(over.truncated());
        assertTrue(over.wire().length <= 1232);
        ZoneAnswerer.Answer tcp = wide.answer(withEdns.toWire(), Transport.TCP);
        assertFalse(tcp.truncated());
        assertEquals(60, new Message(tcp.wire()).getSection(Section.ANSWER).size());
    }

    private static List<NodeStatus> ipv6Nodes(int count) {
        List<NodeStatus> many = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            many.add(Snapshots.node("n" + i, true, "2001:db8::" + Integer.toHexString(i)));
        }
        return many;
    }

    @Test
    void garbageGetsFormerrWithTheIdAndResponsesAndRuntsAreNotAnswered() throws Exception {
        byte[] junk = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, (byte) 0xc0, 0x0c};
        ZoneAnswerer.Answer a = answerer.answer(junk, Transport.UDP);
        assertNotNull(a);
        Message m = new Message(a.wire());
        assertEquals(0x1234, m.getHeader().getID());
        assertEquals(Rcode.FORMERR, m.getRcode());
        assertNull(answerer.answer(new byte[5], Transport.UDP));
        Message response = ask("radio.example.org.", Type.A);
        assertNull(answerer.answer(response.toWire(), Transport.UDP), "never answer a response");
    }

    @Test
    void settingsNameTheBadField() {
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> DnsSettings.of("radio.example.org", List.of(), 0, 8, null)).getMessage().contains("dns.ttl"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> DnsSettings.of("bad zone!", List.of(), 5, 8, null)).getMessage().contains("dns.zone"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> DnsSettings.of("radio.example.org", List.of(), 5, 8, "two.labels")).getMessage().contains("dns.alias"));
    }
}
