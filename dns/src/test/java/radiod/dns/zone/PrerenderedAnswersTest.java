package radiod.dns.zone;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.dns.zone.ZoneAnswerer.Answer;
import radiod.dns.zone.ZoneAnswerer.Transport;

/**
 * Answers rendered once per snapshot and (name, type), then put together per query: the same answers as making
 * each from the records every time, for every shape of query; the query's ID, flags and letter case in each; the
 * records of a new snapshot as soon as it is current; every random pick of a pool still possible.
 */
class PrerenderedAnswersTest {
    static final DnsSettings SETTINGS = ZoneAnswererTest.SETTINGS;

    /** More live nodes than there are picks to render (a pool of six): the slow path answers the apex. */
    static ClusterSnapshot six() {
        NodeStatus[] nodes = new NodeStatus[6];
        for (int i = 0; i < nodes.length; i++) {
            nodes[i] = Snapshots.live("node" + (i + 1), "10.0.1." + (i + 1), "2001:db8::" + (i + 1));
        }
        return Snapshots.of(7, nodes);
    }

    static byte[] query(String name, int type, int id, boolean rd, boolean cd, int ednsPayload, boolean dnssecOk)
            throws IOException {
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
        q.getHeader().setID(id);
        if (!rd) {
            q.getHeader().unsetFlag(Flags.RD);
        }
        if (cd) {
            q.getHeader().setFlag(Flags.CD);
        }
        if (ednsPayload > 0) {
            q.addRecord(new OPTRecord(ednsPayload, 0, 0, dnssecOk ? Flags.DO : 0), Section.ADDITIONAL);
        }
        return q.toWire();
    }

    /** {@code name} with each letter's case flipped at random (0x20), as some resolvers ask. */
    static String mixCase(String name, Random random) {
        StringBuilder b = new StringBuilder(name.length());
        for (char c : name.toCharArray()) {
            b.append(random.nextBoolean() ? Character.toUpperCase(c) : c);
        }
        return b.toString();
    }

    /** Everything of a response but the order of the records within a section. */
    static String shape(byte[] wire) throws IOException {
        return shape(wire, true);
    }

    /** As {@link #shape(byte[])}, leaving out the answer records themselves when {@code answers} is false. */
    static String shape(byte[] wire, boolean answers) throws IOException {
        Message m = new Message(wire);
        StringBuilder b = new StringBuilder(Arrays.toString(Arrays.copyOf(wire, 12))).append('\n');
        for (int s : new int[] {Section.QUESTION, Section.ANSWER, Section.AUTHORITY, Section.ADDITIONAL}) {
            if (s == Section.ANSWER && !answers) {
                continue;
            }
            b.append(s).append(": ").append(m.getSection(s).stream().map(Record::toString).sorted()
                    .collect(Collectors.joining(" | "))).append('\n');
        }
        return b.toString();
    }

    @Test
    void everyShapeOfQueryGetsTheAnswerTheSlowPathGives() throws IOException {
        ZoneAnswerer fast = new ZoneAnswerer(SETTINGS);
        ZoneAnswerer slow = new ZoneAnswerer(SETTINGS, false);
        ClusterSnapshot big = Snapshots.ipv6Nodes(9, 40); // NS glue and pools that do not fit 512 bytes
        List<String> names = List.of("radio.test.", "node1.radio.test.", "node2.radio.test.", "node3.radio.test.",
                "node5.radio.test.", "node40.radio.test.", "stream.radio.test.", "ns1.radio.test.", "nope.radio.test.",
                "a.b.node1.radio.test.", "other.example.");
        int[] types = {Type.A, Type.AAAA, Type.NS, Type.SOA, Type.TXT, Type.CNAME, Type.ANY, Type.MX, Type.HTTPS,
                Type.SRV, Type.CAA, Type.PTR};
        int[] payloads = {0, 512, 1232, 4096};
        Random random = new Random(19);
        int compared = 0;
        int randomPicks = 0;
        for (ClusterSnapshot view : List.of(ZoneAnswererTest.THREE, six(), big, ClusterSnapshot.EMPTY)) {
            for (String name : names) {
                for (int type : types) {
                    for (int payload : payloads) {
                        for (Transport transport : Transport.values()) {
                            for (int round = 0; round < 3; round++) { // the first renders, the others reuse
                                String asked = round == 0 ? name : mixCase(name, random);
                                byte[] q = query(asked, type, random.nextInt(65536), random.nextBoolean(),
                                        random.nextBoolean(), payload, random.nextBoolean());
                                int maxUdp = random.nextBoolean() ? ZoneAnswerer.EDNS_UDP_SIZE : 512;
                                Answer f = fast.answer(q, q.length, view, maxUdp, transport);
                                Answer s = slow.answer(q, q.length, view, maxUdp, transport);
                                String what = asked + " " + Type.string(type) + " payload " + payload + " " + transport
                                        + " max " + maxUdp;
                                assertNotNull(f, what);
                                if (!shape(s.wire()).equals(shape(f.wire()))) {
                                    // a random pick of a pool: the same but for which records; those from the pool
                                    assertEquals(shape(s.wire(), false), shape(f.wire(), false), what);
                                    Set<String> pool = new HashSet<>();
                                    for (int i = 0; i < 300; i++) {
                                        slow.answer(q, q.length, view, maxUdp, transport).message()
                                                .getSection(Section.ANSWER).forEach(r -> pool.add(r.toString()));
                                    }
                                    f.message().getSection(Section.ANSWER)
                                            .forEach(r -> assertTrue(pool.contains(r.toString()), what + ": " + r));
                                    randomPicks++;
                                }
                                assertEquals(s.rcode(), f.rcode(), what);
                                assertEquals(s.truncated(), f.truncated(), what);
                                assertEquals(s.qtype(), f.qtype(), what);
                                // the question exactly as asked (0x20 case comes back)
                                int questionEnd = 12 + Name.fromString(asked).toWire().length + 4;
                                assertArrayEquals(Arrays.copyOfRange(q, 12, questionEnd),
                                        Arrays.copyOfRange(f.wire(), 12, questionEnd), what);
                                compared++;
                            }
                        }
                    }
                }
            }
        }
        assertTrue(fast.renders() > 100, "answers were rendered ahead: " + fast.renders());
        assertEquals(0, slow.renders());
        assertTrue(compared > 4000);
        assertTrue(randomPicks > 0 && randomPicks < compared / 10, "random picks " + randomPicks);
    }

    @Test
    void eachQueryGetsItsOwnIdFlagsAndLetterCaseFromOneRenderedAnswer() throws IOException {
        ZoneAnswerer answerer = new ZoneAnswerer(SETTINGS);
        ClusterSnapshot view = ZoneAnswererTest.THREE;
        byte[] lower = query("node1.radio.test.", Type.A, 0x1234, true, false, 0, false);
        byte[] upper = query("NoDe1.RADIO.test.", Type.A, 0xbeef, false, true, 1232, true);
        Answer a = answerer.answer(lower, lower.length, view, ZoneAnswerer.EDNS_UDP_SIZE, Transport.UDP);
        Answer b = answerer.answer(upper, upper.length, view, ZoneAnswerer.EDNS_UDP_SIZE, Transport.UDP);
        assertEquals(1, answerer.renders(), "one rendering for both");
        Message ma = a.message();
        Message mb = b.message();
        assertEquals(0x1234, ma.getHeader().getID());
        assertEquals(0xbeef, mb.getHeader().getID());
        assertTrue(ma.getHeader().getFlag(Flags.RD) && !ma.getHeader().getFlag(Flags.CD));
        assertTrue(!mb.getHeader().getFlag(Flags.RD) && mb.getHeader().getFlag(Flags.CD));
        assertTrue(ma.getHeader().getFlag(Flags.AA) && mb.getHeader().getFlag(Flags.AA));
        assertEquals("node1.radio.test.", ma.getQuestion().getName().toString());
        assertEquals("NoDe1.RADIO.test.", mb.getQuestion().getName().toString());
        // the answer's owner points at the question, so it comes back in the asker's case too
        assertEquals("NoDe1.RADIO.test.", mb.getSection(Section.ANSWER).get(0).getName().toString());
        assertEquals("10.0.0.1", ((org.xbill.DNS.ARecord) mb.getSection(Section.ANSWER).get(0)).getAddress().getHostAddress());
        assertEquals(null, ma.getOPT());
        assertNotNull(mb.getOPT());
        assertEquals(Flags.DO, mb.getOPT().getFlags() & Flags.DO);
    }

    @Test
    void aNewSnapshotIsAnsweredFromItsOwnRecordsAtOnce() throws IOException {
        ZoneAnswerer answerer = new ZoneAnswerer(SETTINGS);
        byte[] q = query("radio.test.", Type.A, 1, true, false, 0, false);
        ClusterSnapshot first = Snapshots.of(1, Snapshots.live("node1", "10.0.0.1"), Snapshots.live("node2", "10.0.0.2"));
        ClusterSnapshot second = Snapshots.of(2, Snapshots.live("node7", "10.0.0.7"));
        ClusterSnapshot third = Snapshots.of(3, Snapshots.node("node7", false, false, "10.0.0.7"));
        for (int i = 0; i < 20; i++) {
            assertEquals(Set.of("10.0.0.1", "10.0.0.2"), addresses(answerer, q, first));
        }
        assertEquals(Set.of("10.0.0.7"), addresses(answerer, q, second));
        Message none = answerer.answer(q, q.length, third, ZoneAnswerer.EDNS_UDP_SIZE, Transport.UDP).message();
        assertEquals(0, none.getSection(Section.ANSWER).size(), "nobody live: NODATA");
        ZoneAnswererTest.assertSoaInAuthority(none);
        // the same (name, type) rendered once per snapshot, no more
        assertEquals(3, answerer.renders());
        // a snapshot equal in content but a new one is still a new one: answered, and rendered, afresh
        ClusterSnapshot again = Snapshots.of(4, Snapshots.live("node1", "10.0.0.1"), Snapshots.live("node2", "10.0.0.2"));
        assertEquals(Set.of("10.0.0.1", "10.0.0.2"), addresses(answerer, q, again));
        assertEquals(4, answerer.renders());
    }

    static Set<String> addresses(ZoneAnswerer answerer, byte[] q, ClusterSnapshot view) {
        Message m = answerer.answer(q, q.length, view, ZoneAnswerer.EDNS_UDP_SIZE, Transport.UDP).message();
        return m.getSection(Section.ANSWER).stream()
                .map(r -> ((org.xbill.DNS.ARecord) r).getAddress().getHostAddress()).collect(Collectors.toSet());
    }

    @Test
    void everyPickOfThePoolStaysPossible() throws IOException {
        DnsSettings two = SETTINGS.withMaxAnswers(2);
        ClusterSnapshot view = Snapshots.of(1, Snapshots.live("node1", "10.0.0.1"), Snapshots.live("node2", "10.0.0.2"),
                Snapshots.live("node3", "10.0.0.3"));
        byte[] q = query("radio.test.", Type.A, 1, true, false, 0, false);
        for (ZoneAnswerer answerer : List.of(new ZoneAnswerer(two), new ZoneAnswerer(two, false))) {
            Set<List<String>> seen = new HashSet<>();
            for (int i = 0; i < 3000; i++) {
                Message m = answerer.answer(q, q.length, view, ZoneAnswerer.EDNS_UDP_SIZE, Transport.UDP).message();
                List<String> pick = new ArrayList<>();
                m.getSection(Section.ANSWER).forEach(r -> pick.add(((org.xbill.DNS.ARecord) r).getAddress().getHostAddress()));
                seen.add(pick);
            }
            assertEquals(6, seen.size(), "every ordered pick of 2 of 3: " + seen);
        }
    }
}
