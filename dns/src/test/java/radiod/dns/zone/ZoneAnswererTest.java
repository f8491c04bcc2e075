package radiod.dns.zone;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.HINFORecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.dns.zone.ZoneAnswerer.Answer;
import radiod.dns.zone.ZoneAnswerer.Transport;

/**
 * Every answering rule of the zone, on hand-built snapshots, without sockets: which nodes the apex holds, per-node
 * names, NS with glue, SOA and its serial, the alias, rcodes for unknown names, types, zones and opcodes, EDNS, and
 * truncation.
 */
class ZoneAnswererTest {
    static final DnsSettings SETTINGS = DnsSettings.defaults("radio.test").withAlias("stream").withListen("127.0.0.1", 0);
    static final ClusterSnapshot THREE = Snapshots.withDrains(42, List.of("node4"),
            Snapshots.live("node1", "10.0.0.1", "2001:db8::1"),
            Snapshots.live("node2", "10.0.0.2"),
            Snapshots.node("node3", false, false, "10.0.0.3"),
            Snapshots.live("node4", "10.0.0.4"),
            Snapshots.node("node5", true, true, "10.0.0.5"));

    final ZoneAnswerer answerer = new ZoneAnswerer(SETTINGS);

    static Message query(String name, int type) throws IOException {
        return Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
    }

    static Message withEdns(Message q, int payload, int version, int flags) {
        q.addRecord(new OPTRecord(payload, 0, version, flags), Section.ADDITIONAL);
        return q;
    }

    Message ask(Message q, ClusterSnapshot view) {
        return ask(q, view, Transport.UDP);
    }

    Message ask(Message q, ClusterSnapshot view, Transport transport) {
        Answer a = answerer.answer(q, view, ZoneAnswerer.EDNS_UDP_SIZE, transport);
        assertNotNull(a, "an answer");
        return a.message();
    }

    Message ask(String name, int type) throws IOException {
        return ask(query(name, type), THREE);
    }

    static void assertSoaInAuthority(Message m) {
        List<Record> auth = m.getSection(Section.AUTHORITY);
        assertEquals(1, auth.size(), m.toString());
        assertEquals(Type.SOA, auth.get(0).getType());
        assertEquals("radio.test.", auth.get(0).getName().toString().toLowerCase());
    }

    @Test
    void theApexHoldsTheNodesWhoseIcecastIsUpAndThatAreNotDrained() throws IOException {
        Message a = ask("radio.test.", Type.A);
        assertEquals(Rcode.NOERROR, a.getRcode());
        assertEquals(Set.of("10.0.0.1", "10.0.0.2"), Answers.addresses(a));
        assertTrue(a.getHeader().getFlag(Flags.AA));
        for (Record r : a.getSection(Section.ANSWER)) {
            assertEquals(DnsSettings.DEFAULT_NODE_TTL, r.getTTL());
        }
        Message aaaa = ask("radio.test.", Type.AAAA);
        assertEquals(Set.of("2001:db8:0:0:0:0:0:1"), Answers.addresses(aaaa));
    }

    @Test
    void theApexIsShuffledPerAnswerAndHoldsAtMostMaxAnswers() throws IOException {
        ZoneAnswerer three = new ZoneAnswerer(SETTINGS.withMaxAnswers(3));
        var nodes = new ArrayList<radiod.cluster.model.NodeStatus>();
        for (int i = 1; i <= 10; i++) {
            nodes.add(Snapshots.live("node" + i, "10.0.0." + i));
        }
        ClusterSnapshot ten = Snapshots.of(1, nodes.toArray(new radiod.cluster.model.NodeStatus[0]));
        Set<String> seen = new HashSet<>();
        Set<List<String>> orders = new HashSet<>();
        for (int i = 0; i < 300; i++) {
            Message m = three.answer(query("radio.test.", Type.A), ten, ZoneAnswerer.EDNS_UDP_SIZE, Transport.UDP).message();
            List<String> got = m.getSection(Section.ANSWER).stream().map(Record::rdataToString).toList();
            assertEquals(3, got.size());
            assertEquals(3, new HashSet<>(got).size(), "no address twice: " + got);
            seen.addAll(got);
            orders.add(got);
        }
        assertEquals(10, seen.size(), "every live node is handed out");
        assertTrue(orders.size() > 50, "a fresh pick and order per answer, got " + orders.size() + " distinct");

        Set<String> firsts = new HashSet<>();
        ClusterSnapshot two = Snapshots.of(1, Snapshots.live("node1", "10.0.0.1"), Snapshots.live("node2", "10.0.0.2"));
        for (int i = 0; i < 100; i++) {
            firsts.add(ask(query("radio.test.", Type.A), two).getSection(Section.ANSWER).get(0).rdataToString());
        }
        assertEquals(Set.of("10.0.0.1", "10.0.0.2"), firsts, "each node comes first sometimes");
    }

    @Test
    void theApexWithNoLiveNodeIsNodataNotNxdomain() throws IOException {
        ClusterSnapshot none = Snapshots.of(7, Snapshots.node("node1", false, false, "10.0.0.1"));
        for (ClusterSnapshot view : List.of(none, Snapshots.of(8))) {
            Message m = ask(query("radio.test.", Type.A), view);
            assertEquals(Rcode.NOERROR, m.getRcode());
            assertTrue(m.getSection(Section.ANSWER).isEmpty());
            assertTrue(m.getHeader().getFlag(Flags.AA));
            assertSoaInAuthority(m);
        }
    }

    /**
     * Before the node has read its view from etcd (starting, or started while etcd is down) it knows no answer in the
     * zone: SERVFAIL without AA, so a resolver asks another nameserver and caches no NODATA or NXDOMAIN; a name
     * outside the zone is still refused.
     */
    @Test
    void aViewNotReadYetIsServfailNotAnAuthoritativeNoOrNodata() throws IOException {
        for (String name : List.of("radio.test.", "node1.radio.test.", "nosuch.radio.test.")) {
            for (int type : new int[] {Type.A, Type.AAAA, Type.SOA, Type.NS}) {
                Message m = ask(query(name, type), ClusterSnapshot.EMPTY);
                assertEquals(Rcode.SERVFAIL, m.getRcode(), name + " " + Type.string(type));
                assertFalse(m.getHeader().getFlag(Flags.AA), name + " " + Type.string(type));
                assertTrue(m.getSection(Section.ANSWER).isEmpty() && m.getSection(Section.AUTHORITY).isEmpty());
            }
        }
        assertEquals(Rcode.REFUSED, ask(query("other.example.", Type.A), ClusterSnapshot.EMPTY).getRcode());
        assertEquals(Rcode.NOERROR, ask(query("node1.radio.test.", Type.A), THREE).getRcode());
    }

    @Test
    void aNodeNameAnswersThatNodeWhateverItsState() throws IOException {
        assertEquals(Set.of("10.0.0.1"), Answers.addresses(ask("node1.radio.test.", Type.A)));
        assertEquals(Set.of("2001:db8:0:0:0:0:0:1"), Answers.addresses(ask("node1.radio.test.", Type.AAAA)));
        assertEquals(Set.of("10.0.0.3"), Answers.addresses(ask("node3.radio.test.", Type.A)), "Icecast down");
        assertEquals(Set.of("10.0.0.4"), Answers.addresses(ask("node4.radio.test.", Type.A)), "drained by the operator");
        assertEquals(Set.of("10.0.0.5"), Answers.addresses(ask("node5.radio.test.", Type.A)), "drained in its status");
        Message m = ask("node2.radio.test.", Type.A);
        assertTrue(m.getHeader().getFlag(Flags.AA));
        assertEquals(DnsSettings.DEFAULT_NODE_TTL, m.getSection(Section.ANSWER).get(0).getTTL());
    }

    @Test
    void nsAnswersTheNameserversWithGlueFollowingTheCluster() throws IOException {
        Message m = ask("radio.test.", Type.NS);
        assertEquals(Rcode.NOERROR, m.getRcode());
        List<Record> ns = m.getSection(Section.ANSWER);
        assertEquals(1, ns.size());
        assertEquals("ns1.radio.test.", ns.get(0).rdataToString());
        assertEquals(DnsSettings.DEFAULT_ZONE_TTL, ns.get(0).getTTL());
        Set<String> glue = new TreeSet<>();
        for (Record r : m.getSection(Section.ADDITIONAL)) {
            assertEquals("ns1.radio.test.", r.getName().toString());
            glue.add(r.rdataToString());
        }
        assertEquals(Set.of("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "2001:db8:0:0:0:0:0:1"), glue,
                "every node runs the DNS server, whatever its Icecast");
        assertEquals(Set.of("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"), Answers.addresses(ask("ns1.radio.test.", Type.A)));
    }

    /**
     * Ansible names the zone's nameservers after the nodes (every radiod node's {@code <name>.<zone>}): such a name is
     * still that node, in its answer and its glue, not the whole cluster (HTTPS redirects send a player to it).
     */
    @Test
    void aNameserverNamedAfterANodeIsThatNode() throws IOException {
        ZoneAnswerer nodes = new ZoneAnswerer(SETTINGS.withNameservers(List.of("node1.radio.test", "node2.radio.test",
                "node9.radio.test")));
        Message a = nodes.answer(query("node1.radio.test.", Type.A), THREE, 1232, Transport.UDP).message();
        assertEquals(Set.of("10.0.0.1"), Answers.addresses(a));
        Message aaaa = nodes.answer(query("node1.radio.test.", Type.AAAA), THREE, 1232, Transport.UDP).message();
        assertEquals(Set.of("2001:db8:0:0:0:0:0:1"), Answers.addresses(aaaa));
        Message m = nodes.answer(query("radio.test.", Type.NS), THREE, 1232, Transport.UDP).message();
        Set<String> glue = new TreeSet<>();
        m.getSection(Section.ADDITIONAL).forEach(r -> glue.add(r.getName() + " " + r.rdataToString()));
        assertTrue(glue.containsAll(Set.of("node1.radio.test. 10.0.0.1", "node1.radio.test. 2001:db8:0:0:0:0:0:1",
                "node2.radio.test. 10.0.0.2")), glue.toString());
        assertTrue(glue.stream().noneMatch(g -> g.startsWith("node1.") && !g.contains("10.0.0.1")
                && !g.contains("2001:db8")), glue.toString());
        // A nameserver's node that is not in the view (gone, or not yet there): any node answers for it meanwhile.
        assertEquals(Set.of("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"),
                Answers.addresses(nodes.answer(query("node9.radio.test.", Type.A), THREE, 1232, Transport.UDP).message()));
    }

    @Test
    void nameserversWithFixedAddressesGetThemAsGlueAndOutOfZoneOnesGetNone() throws IOException {
        ZoneAnswerer fixed = new ZoneAnswerer(SETTINGS.withNameservers(List.of(
                "ns1.radio.test=192.0.2.1,2001:db8::53", "ns.other.example", "ns2.dns.radio.test=192.0.2.2")));
        Message m = fixed.answer(query("radio.test.", Type.NS), THREE, 1232, Transport.UDP).message();
        assertEquals(Set.of("ns1.radio.test.", "ns.other.example.", "ns2.dns.radio.test."),
                new TreeSet<>(m.getSection(Section.ANSWER).stream().map(Record::rdataToString).toList()));
        Set<String> glue = new TreeSet<>();
        m.getSection(Section.ADDITIONAL).forEach(r -> glue.add(r.getName() + " " + r.rdataToString()));
        assertEquals(Set.of("ns1.radio.test. 192.0.2.1", "ns1.radio.test. 2001:db8:0:0:0:0:0:53",
                "ns2.dns.radio.test. 192.0.2.2"), glue);
        Message a = fixed.answer(query("ns1.radio.test.", Type.A), THREE, 1232, Transport.UDP).message();
        assertEquals(Set.of("192.0.2.1"), Answers.addresses(a));
        assertEquals(DnsSettings.DEFAULT_ZONE_TTL, a.getSection(Section.ANSWER).get(0).getTTL());
        Message between = fixed.answer(query("dns.radio.test.", Type.A), THREE, 1232, Transport.UDP).message();
        assertEquals(Rcode.NOERROR, between.getRcode(), "an empty non-terminal exists");
        assertSoaInAuthority(between);
    }

    @Test
    void soaCarriesTheConfiguredFieldsAndASerialFromTheAnswers() throws IOException {
        Message m = ask("radio.test.", Type.SOA);
        SOARecord soa = (SOARecord) m.getSection(Section.ANSWER).get(0);
        assertEquals("ns1.radio.test.", soa.getHost().toString());
        assertEquals("hostmaster.radio.test.", soa.getAdmin().toString());
        assertNotEquals(42, soa.getSerial(), "not the snapshot's etcd revision");
        assertTrue(soa.getSerial() >= 1 && soa.getSerial() <= 0xffffffffL, "a 32-bit serial other than 0");
        assertEquals(soa.getSerial(), serial(answerer, THREE), "the negative answers' SOA has the same serial");
        assertEquals(3600, soa.getRefresh());
        assertEquals(600, soa.getRetry());
        assertEquals(1209600, soa.getExpire());
        assertEquals(5, soa.getMinimum());
        assertEquals(DnsSettings.DEFAULT_ZONE_TTL, soa.getTTL());

        ZoneAnswerer fixed = new ZoneAnswerer(SETTINGS.withSoa(new DnsSettings.Soa("ns9.radio.test", "ops@example.org",
                2024010101L, 7200, 900, 86400, 30)));
        SOARecord f = (SOARecord) fixed.answer(query("radio.test.", Type.SOA), THREE, 1232, Transport.UDP).message()
                .getSection(Section.ANSWER).get(0);
        assertEquals("ns9.radio.test.", f.getHost().toString());
        assertEquals("ops.example.org.", f.getAdmin().toString());
        assertEquals(2024010101L, f.getSerial());
        assertEquals(7200, f.getRefresh());
        assertEquals(30, f.getMinimum());
    }

    @Test
    void theAliasIsACnameToTheApexFollowedByTheApexRecords() throws IOException {
        Message m = ask("stream.radio.test.", Type.A);
        assertEquals(Rcode.NOERROR, m.getRcode());
        List<Record> answer = m.getSection(Section.ANSWER);
        CNAMERecord cname = (CNAMERecord) answer.get(0);
        assertEquals("stream.radio.test.", cname.getName().toString());
        assertEquals("radio.test.", cname.getTarget().toString());
        assertEquals(Set.of("10.0.0.1", "10.0.0.2"), Answers.addresses(m));
        for (Record r : answer.subList(1, answer.size())) {
            assertEquals("radio.test.", r.getName().toString());
        }
        Message onlyCname = ask("stream.radio.test.", Type.CNAME);
        assertEquals(1, onlyCname.getSection(Section.ANSWER).size());
        Message mx = ask("stream.radio.test.", Type.MX);
        assertEquals(Type.CNAME, mx.getSection(Section.ANSWER).get(0).getType());
        assertSoaInAuthority(mx);
    }

    @Test
    void unknownNamesInTheZoneAreNxdomainWithTheSoa() throws IOException {
        for (String name : List.of("nope.radio.test.", "www.node1.radio.test.", "node9.radio.test.", "a.b.radio.test.")) {
            Message m = ask(name, Type.A);
            assertEquals(Rcode.NXDOMAIN, m.getRcode(), name);
            assertTrue(m.getHeader().getFlag(Flags.AA));
            assertTrue(m.getSection(Section.ANSWER).isEmpty());
            assertSoaInAuthority(m);
            assertEquals(5, m.getSection(Section.AUTHORITY).get(0).getTTL(), "negative TTL: min(SOA TTL, minimum)");
        }
    }

    @Test
    void existingNamesWithoutTheTypeAreNodataWithTheSoa() throws IOException {
        for (String name : List.of("node1.radio.test.", "radio.test.", "ns1.radio.test.")) {
            Message m = ask(name, Type.MX);
            assertEquals(Rcode.NOERROR, m.getRcode(), name);
            assertTrue(m.getSection(Section.ANSWER).isEmpty());
            assertSoaInAuthority(m);
        }
        Message v6 = ask("node2.radio.test.", Type.AAAA);
        assertTrue(v6.getSection(Section.ANSWER).isEmpty());
        assertSoaInAuthority(v6);
    }

    @Test
    void namesOutsideTheZoneOtherClassesAndTransfersAreRefused() throws IOException {
        for (String name : List.of("example.com.", "xradio.test.", "test.", ".", "radio.test.example.")) {
            Message m = ask(name, Type.A);
            assertEquals(Rcode.REFUSED, m.getRcode(), name);
            assertFalse(m.getHeader().getFlag(Flags.AA), name);
            assertTrue(m.getSection(Section.ANSWER).isEmpty());
        }
        Message chaos = ask(Message.newQuery(Record.newRecord(Name.fromString("radio.test."), Type.TXT, DClass.CH)), THREE);
        assertEquals(Rcode.REFUSED, chaos.getRcode());
        assertEquals(Rcode.REFUSED, ask("radio.test.", Type.AXFR).getRcode());
        assertEquals(Rcode.REFUSED, ask("radio.test.", Type.IXFR).getRcode());
        Message any = ask(Message.newQuery(Record.newRecord(Name.fromString("radio.test."), Type.A, DClass.ANY)), THREE);
        assertEquals(Rcode.NOERROR, any.getRcode(), "class ANY is answered with IN data");
    }

    @Test
    void headerFlagsIdRdAndCdAreCopiedAndRaIsNeverSet() throws IOException {
        for (boolean rd : new boolean[] {true, false}) {
            for (String name : List.of("radio.test.", "nope.radio.test.", "example.com.")) {
                Message q = query(name, Type.A);
                if (!rd) {
                    q.getHeader().unsetFlag(Flags.RD);
                }
                q.getHeader().setFlag(Flags.CD);
                q.getHeader().setID(4242);
                Message m = ask(q, THREE);
                assertEquals(4242, m.getHeader().getID());
                assertTrue(m.getHeader().getFlag(Flags.QR));
                assertEquals(rd, m.getHeader().getFlag(Flags.RD), name);
                assertTrue(m.getHeader().getFlag(Flags.CD), name);
                assertFalse(m.getHeader().getFlag(Flags.RA), name);
                assertFalse(m.getHeader().getFlag(Flags.AD), name);
                assertEquals(Opcode.QUERY, m.getHeader().getOpcode());
            }
        }
    }

    @Test
    void opcodesOtherThanQueryAreNotImplemented() throws IOException {
        for (int opcode : new int[] {Opcode.IQUERY, Opcode.STATUS, Opcode.NOTIFY, Opcode.UPDATE, 7, 15}) {
            Message q = query("radio.test.", Type.SOA);
            q.getHeader().setOpcode(opcode);
            Message m = ask(q, THREE);
            assertEquals(Rcode.NOTIMP, m.getRcode(), Opcode.string(opcode));
            assertEquals(opcode, m.getHeader().getOpcode());
            assertEquals("radio.test.", m.getQuestion().getName().toString(), "the question is echoed");
            assertTrue(m.getSection(Section.ANSWER).isEmpty());
        }
    }

    @Test
    void malformedQueriesAreFormerrWithTheQuestionWhenReadable() throws IOException {
        byte[] good = query("radio.test.", Type.A).toWire();

        byte[] noQuestion = good.clone();
        noQuestion[5] = 0;
        Message m = answer(noQuestion, 12);
        assertEquals(Rcode.FORMERR, m.getRcode());
        assertNull(m.getQuestion());

        byte[] twoQuestions = concat(good, java.util.Arrays.copyOfRange(good, 12, good.length));
        twoQuestions[5] = 2;
        m = answer(twoQuestions, twoQuestions.length);
        assertEquals(Rcode.FORMERR, m.getRcode());
        assertEquals("radio.test.", m.getQuestion().getName().toString());

        byte[] cutQuestion = java.util.Arrays.copyOf(good, good.length - 3);
        m = answer(cutQuestion, cutQuestion.length);
        assertEquals(Rcode.FORMERR, m.getRcode());
        assertNull(m.getQuestion());
        assertEquals(ByteId.of(good), m.getHeader().getID());

        byte[] answerCount = good.clone();
        answerCount[7] = 1;
        assertEquals(Rcode.FORMERR, answer(answerCount, answerCount.length).getRcode());

        Message twoOpts = withEdns(withEdns(query("radio.test.", Type.A), 1232, 0, 0), 1232, 0, 0);
        byte[] twoOptsWire = twoOpts.toWire();
        m = answer(twoOptsWire, twoOptsWire.length);
        assertEquals(Rcode.FORMERR, m.getRcode());
        assertEquals("radio.test.", m.getQuestion().getName().toString());
        assertNull(m.getOPT(), "no OPT echoed for a malformed one");

        byte[] optTypeQuestion = query("radio.test.", Type.OPT).toWire();
        assertEquals(Rcode.FORMERR, answer(optTypeQuestion, optTypeQuestion.length).getRcode());

        byte[] extraRecordsPromised = withEdns(query("radio.test.", Type.A), 1232, 0, 0).toWire();
        extraRecordsPromised[11] = 2;
        assertEquals(Rcode.FORMERR, answer(extraRecordsPromised, extraRecordsPromised.length).getRcode());
    }

    @Test
    void compressionInTheQuestionIsFormerrAndLoopsCannotHangTheParser() {
        byte[] selfPointer = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, (byte) 0xc0, 12, 0, 1, 0, 1};
        assertEquals(Rcode.FORMERR, answer(selfPointer, selfPointer.length).getRcode());
        byte[] headerPointer = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'r', 'a', 'd', 'i', 'o', (byte) 0xc0, 0, 0, 1, 0, 1};
        assertEquals(Rcode.FORMERR, answer(headerPointer, headerPointer.length).getRcode());
        byte[] additionalLoop = concat(new byte[] {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 5, 'r', 'a', 'd', 'i', 'o', 4,
                't', 'e', 's', 't', 0, 0, 1, 0, 1}, new byte[] {(byte) 0xc0, 28, 0, 41, 4, (byte) 0xd0, 0, 0, 0, 0, 0, 0});
        Message m = answer(additionalLoop, additionalLoop.length);
        assertEquals(Rcode.FORMERR, m.getRcode(), "an OPT must be owned by the root");
    }

    @Test
    void responsesAndRuntsGetNoAnswer() throws IOException {
        byte[] response = query("radio.test.", Type.A).toWire();
        response[2] |= (byte) 0x80;
        assertNull(answerer.answer(response, response.length, THREE, 1232, Transport.UDP));
        for (int n = 0; n < 12; n++) {
            assertNull(answerer.answer(new byte[n], n, THREE, 1232, Transport.UDP), n + " bytes");
        }
        assertNotNull(answerer.answer(new byte[12], 12, THREE, 1232, Transport.UDP), "a bare header is FORMERR");
    }

    @Test
    void anyGetsOneSynthesizedHinfoPerRfc8482() throws IOException {
        for (String name : List.of("radio.test.", "node1.radio.test.")) {
            Message m = ask(name, Type.ANY);
            assertEquals(Rcode.NOERROR, m.getRcode());
            List<Record> answer = m.getSection(Section.ANSWER);
            assertEquals(1, answer.size(), m.toString());
            assertEquals("RFC8482", ((HINFORecord) answer.get(0)).getCPU());
        }
        assertEquals(Type.CNAME, ask("stream.radio.test.", Type.ANY).getSection(Section.ANSWER).get(0).getType());
        assertEquals(Rcode.NXDOMAIN, ask("nope.radio.test.", Type.ANY).getRcode());
    }

    @Test
    void ednsIsEchoedWithThePayloadCappedAndDoCopied() throws IOException {
        Message m = ask(withEdns(query("radio.test.", Type.A), 4096, 0, Flags.DO), THREE);
        OPTRecord opt = m.getOPT();
        assertNotNull(opt);
        assertEquals(ZoneAnswerer.EDNS_UDP_SIZE, opt.getPayloadSize());
        assertEquals(0, opt.getVersion());
        assertEquals(Flags.DO, opt.getFlags() & Flags.DO);
        assertEquals(Set.of("10.0.0.1", "10.0.0.2"), Answers.addresses(m));

        Message noDo = ask(withEdns(query("radio.test.", Type.A), 1232, 0, 0), THREE);
        assertEquals(0, noDo.getOPT().getFlags());
        assertNull(ask("radio.test.", Type.A).getOPT(), "no OPT when the query had none");
        assertNotNull(ask(withEdns(query("nope.radio.test.", Type.A), 1232, 0, 0), THREE).getOPT(), "also on NXDOMAIN");
        assertNotNull(ask(withEdns(query("example.com.", Type.A), 1232, 0, 0), THREE).getOPT(), "also on REFUSED");
    }

    @Test
    void anUnknownEdnsVersionIsBadvers() throws IOException {
        Message m = ask(withEdns(query("radio.test.", Type.A), 1232, 1, 0), THREE);
        assertEquals(Rcode.BADVERS, m.getRcode());
        assertEquals(0, m.getOPT().getVersion());
        assertTrue(m.getSection(Section.ANSWER).isEmpty());
    }

    @Test
    void anOversizedUdpAnswerIsTruncatedAndTcpCarriesItAll() throws IOException {
        ZoneAnswerer big = new ZoneAnswerer(SETTINGS.withMaxAnswers(64));
        ClusterSnapshot forty = Snapshots.ipv6Nodes(3, 40);

        Answer plain = big.answer(query("radio.test.", Type.AAAA), forty, 1232, Transport.UDP);
        assertTrue(plain.truncated());
        assertTrue(plain.wire().length <= 512, "at most 512 bytes without EDNS, got " + plain.wire().length);
        Message m = plain.message();
        assertTrue(m.getHeader().getFlag(Flags.TC));
        assertTrue(m.getHeader().getFlag(Flags.AA));
        assertEquals("radio.test.", m.getQuestion().getName().toString());
        assertTrue(m.getSection(Section.ANSWER).isEmpty());

        Answer small = big.answer(withEdns(query("radio.test.", Type.AAAA), 600, 0, 0), forty, 1232, Transport.UDP);
        assertTrue(small.truncated());
        assertTrue(small.wire().length <= 600);
        assertNotNull(small.message().getOPT(), "the OPT stays in a truncated answer");

        Answer fits = big.answer(withEdns(query("radio.test.", Type.AAAA), 4096, 0, 0), forty, 1232, Transport.UDP);
        assertFalse(fits.truncated());
        assertEquals(40, fits.message().getSection(Section.ANSWER).size());
        assertTrue(fits.wire().length <= 1232);

        Answer tcp = big.answer(query("radio.test.", Type.AAAA), forty, 1232, Transport.TCP);
        assertFalse(tcp.truncated());
        assertEquals(40, tcp.message().getSection(Section.ANSWER).size());
        assertEquals(40, Answers.addresses(tcp.message()).size());
    }

    @Test
    void glueIsDroppedBeforeTheAnswerIsTruncated() throws IOException {
        List<String> servers = new ArrayList<>();
        for (int i = 1; i <= 12; i++) {
            servers.add("ns-" + i + ".radio.test=192.0.2." + i + ",2001:db8::" + i);
        }
        ZoneAnswerer many = new ZoneAnswerer(SETTINGS.withNameservers(servers));
        Answer udp = many.answer(query("radio.test.", Type.NS), THREE, 1232, Transport.UDP);
        assertFalse(udp.truncated());
        Message m = udp.message();
        assertEquals(12, m.getSection(Section.ANSWER).size());
        assertTrue(m.getSection(Section.ADDITIONAL).isEmpty(), "glue does not fit in 512 bytes");
        Message tcp = many.answer(query("radio.test.", Type.NS), THREE, 1232, Transport.TCP).message();
        assertEquals(24, tcp.getSection(Section.ADDITIONAL).size());
    }

    @Test
    void namesMatchIgnoringCaseAndTheAskersCaseComesBack() throws IOException {
        Message m = ask("RaDiO.TeSt.", Type.A);
        assertEquals(Set.of("10.0.0.1", "10.0.0.2"), Answers.addresses(m));
        assertEquals("RaDiO.TeSt.", m.getQuestion().getName().toString());
        for (Record r : m.getSection(Section.ANSWER)) {
            assertEquals("RaDiO.TeSt.", r.getName().toString());
        }
        Message node = ask("NoDe2.RADIO.test.", Type.A);
        assertEquals(Set.of("10.0.0.2"), Answers.addresses(node));
        assertEquals("NoDe2.RADIO.test.", node.getSection(Section.ANSWER).get(0).getName().toString());
        Message nx = ask("NOPE.Radio.Test.", Type.A);
        assertEquals("Radio.Test.", nx.getSection(Section.AUTHORITY).get(0).getName().toString(),
                "the SOA points at the zone part of the question");
        Message alias = ask("STREAM.radio.TEST.", Type.A);
        assertEquals("STREAM.radio.TEST.", alias.getSection(Section.ANSWER).get(0).getName().toString());
        assertEquals("radio.TEST.", alias.getSection(Section.ANSWER).get(1).getName().toString());
    }

    @Test
    void aNewSnapshotIsReflectedInTheNextAnswer() throws IOException {
        ClusterSnapshot before = Snapshots.of(1, Snapshots.live("node1", "10.0.0.1"), Snapshots.live("node2", "10.0.0.2"));
        ClusterSnapshot after = Snapshots.of(2, Snapshots.live("node1", "10.0.0.1"));
        assertEquals(Set.of("10.0.0.1", "10.0.0.2"), Answers.addresses(ask(query("radio.test.", Type.A), before)));
        assertEquals(Set.of("10.0.0.1"), Answers.addresses(ask(query("radio.test.", Type.A), after)));
        assertEquals(Rcode.NXDOMAIN, ask(query("node2.radio.test.", Type.A), after).getRcode());
        assertNotEquals(serial(answerer, before), serial(answerer, after), "the answers changed: so does the serial");
        assertEquals(Set.of("10.0.0.1", "10.0.0.2"), Answers.addresses(ask(query("radio.test.", Type.A), before)));
    }

    /** The serial of the SOA in a negative answer and the apex's SOA, checked equal. */
    static long serial(ZoneAnswerer answerer, ClusterSnapshot view) throws IOException {
        Message apex = answerer.answer(query("radio.test.", Type.SOA), view, 1232, Transport.UDP).message();
        Message nx = answerer.answer(query("nope.radio.test.", Type.A), view, 1232, Transport.UDP).message();
        long s = ((SOARecord) apex.getSection(Section.ANSWER).get(0)).getSerial();
        assertEquals(s, ((SOARecord) nx.getSection(Section.AUTHORITY).get(0)).getSerial());
        return s;
    }

    /** {@code node} with everything DNS does not answer changed: listeners, master flag, ports, version, time. */
    static NodeStatus churned(NodeStatus n, int i) {
        List<String> addresses = new ArrayList<>(n.addresses());
        java.util.Collections.reverse(addresses);
        return new NodeStatus(n.name(), addresses, n.httpPort() + i, n.sourcePort() + i, n.icecastPort() + i,
                n.dnsPort() + i, n.icecastUp(), n.drained(), i % 2 == 0, n.listeners() + i,
                java.util.Map.of("/m" + i, i), 1000L * i, n.maxBandwidthBps(), n.maxListeners() + i,
                List.of("/t" + i), "v" + i, n.updatedAt() + 1000L * i, java.util.Map.of("/s", "session" + i));
    }

    @Test
    void theSerialDependsOnTheAnswersOnlyNotOnTheRevisionNorOnWhatDnsDoesNotAnswer() throws IOException {
        long s = serial(answerer, THREE);
        List<NodeStatus> nodes = new ArrayList<>(THREE.nodes().values());
        for (int i = 1; i <= 5; i++) {
            java.util.Collections.rotate(nodes, 1); // another map order
            List<NodeStatus> changed = new ArrayList<>();
            for (NodeStatus n : nodes) {
                changed.add(churned(n, i));
            }
            ClusterSnapshot later = Snapshots.withDrains(42 + 1000L * i, List.of("node4"), changed.toArray(NodeStatus[]::new));
            assertEquals(s, serial(answerer, later), "revision " + later.revision() + " with the same answers");
            assertEquals(s, serial(new ZoneAnswerer(SETTINGS), later), "another server (node) with the same settings");
        }
    }

    @Test
    void everyChangeOfAnAnswerChangesTheSerial() throws IOException {
        NodeStatus n1 = Snapshots.live("node1", "10.0.0.1", "2001:db8::1");
        NodeStatus n2 = Snapshots.live("node2", "10.0.0.2");
        List<Long> serials = List.of(
                serial(answerer, Snapshots.of(1, n1, n2)),
                serial(answerer, Snapshots.of(1, n1)),                                                  // a node left
                serial(answerer, Snapshots.of(1, n1, Snapshots.node("node2", false, false, "10.0.0.2"))), // Icecast down
                serial(answerer, Snapshots.of(1, n1, Snapshots.live("node2", "10.0.0.3"))),               // new address
                serial(answerer, Snapshots.of(1, n1, Snapshots.live("node2", "10.0.0.2", "2001:db8::2"))), // one more
                serial(answerer, Snapshots.of(1, n1, Snapshots.live("node9", "10.0.0.2"))),               // renamed
                serial(new ZoneAnswerer(SETTINGS.withNodeTtl(7)), Snapshots.of(1, n1, n2)),               // a TTL
                serial(new ZoneAnswerer(SETTINGS.withAlias(null)), Snapshots.of(1, n1, n2)));             // no alias
        assertEquals(serials.size(), new HashSet<>(serials).size(), "every variant has a serial of its own: " + serials);
        // Drained by its status flag or by the operator's drain key: node2 leaves the apex as when its Icecast is down.
        assertEquals(serials.get(2), serial(answerer, Snapshots.of(1, n1, Snapshots.node("node2", true, true, "10.0.0.2"))));
        assertEquals(serials.get(2), serial(answerer, Snapshots.withDrains(1, List.of("node2"), n1, n2)));
    }

    @Test
    void aNodeWhoseNameWouldBeTooLongForTheZoneIsOnlyLeftOutOfItsOwnName() throws IOException {
        String label = "a".repeat(63);
        String zone = label + "." + label + "." + label + ".test";
        ZoneAnswerer longZone = new ZoneAnswerer(DnsSettings.defaults(zone));
        ClusterSnapshot view = Snapshots.of(1, Snapshots.live("b".repeat(63), "10.0.0.9"), Snapshots.live("n1", "10.0.0.1"));
        Message m = longZone.answer(query(zone + ".", Type.A), view, 1232, Transport.UDP).message();
        assertEquals(Set.of("10.0.0.1", "10.0.0.9"), Answers.addresses(m));
        assertEquals(Set.of("10.0.0.1"), Answers.addresses(longZone.answer(query("n1." + zone + ".", Type.A), view, 1232,
                Transport.UDP).message()));
    }

    @Test
    void theByteAndMessageEntryPointsAgree() throws IOException {
        Message q = query("node1.radio.test.", Type.A);
        byte[] wire = q.toWire();
        byte[] padded = java.util.Arrays.copyOf(wire, wire.length + 100);
        Answer fromBytes = answerer.answer(padded, wire.length, THREE, 1232, Transport.UDP);
        Answer fromMessage = answerer.answer(q, THREE, 1232, Transport.UDP);
        assertArrayEquals(fromMessage.wire(), fromBytes.wire());
        assertEquals(Type.A, fromBytes.qtype());
        assertEquals(Rcode.NOERROR, fromBytes.rcode());
    }

    @Test
    void fuzzedQueriesAllGetWellFormedAnswers() throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        for (String name : List.of("radio.test.", "node1.radio.test.", "stream.radio.test.", "nope.radio.test.", "example.com.")) {
            for (int type : new int[] {Type.A, Type.AAAA, Type.NS, Type.SOA, Type.ANY, Type.MX}) {
                seeds.add(query(name, type).toWire());
                seeds.add(withEdns(query(name, type), 1232, 0, Flags.DO).toWire());
            }
        }
        Random random = new Random(20260101);
        int eligible = 0;
        int parseable = 0;
        for (int i = 0; i < 100_000; i++) {
            byte[] p = Fuzz.mutate(seeds.get(random.nextInt(seeds.size())), random);
            Answer a = answerer.answer(p, p.length, THREE, 1232, random.nextBoolean() ? Transport.UDP : Transport.TCP);
            boolean shouldAnswer = p.length >= 12 && (p[2] & 0x80) == 0;
            if (shouldAnswer) {
                eligible++;
                assertNotNull(a, "an answer for " + java.util.HexFormat.of().formatHex(p));
                Message m = a.message();
                assertEquals(ByteId.of(p), m.getHeader().getID());
                assertTrue(a.wire().length <= 65535);
            } else {
                assertNull(a);
            }
            if (Fuzz.dnsjavaParsesAsQuery(p)) {
                parseable++;
                assertNotNull(a, "dnsjava reads it as a query: it must be answered");
            }
        }
        assertTrue(eligible > 75_000, "eligible " + eligible);
        assertTrue(parseable > 20_000, "parseable " + parseable);
    }

    Message answer(byte[] wire, int length) {
        Answer a = answerer.answer(wire, length, THREE, 1232, Transport.UDP);
        assertNotNull(a);
        return a.message();
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** The ID of a message in wire form. */
    static final class ByteId {
        static int of(byte[] wire) {
            return ((wire[0] & 0xff) << 8) | (wire[1] & 0xff);
        }
    }
}
