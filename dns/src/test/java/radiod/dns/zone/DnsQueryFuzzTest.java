package radiod.dns.zone;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

import org.xbill.DNS.ARecord;
import org.xbill.DNS.ClientSubnetOption;
import org.xbill.DNS.CookieOption;
import org.xbill.DNS.DClass;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.GenericEDNSOption;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import radiod.cluster.view.ClusterSnapshot;
import radiod.dns.zone.ZoneAnswerer.Answer;
import radiod.dns.zone.ZoneAnswerer.Transport;
import radiod.testkit.fuzz.FuzzBudget;
import radiod.testkit.fuzz.Mutations;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * The DNS server's query path ({@link ZoneAnswerer#answer}: datagram in, answer out), fuzzed with real queries (every
 * name and type of the zone, other zones, 0x20 letter case, EDNS with cookies, client subnet and padding, extra
 * records) that are then mutated, both as bytes and in the header's fields and label lengths. A packet is answered
 * without an exception: not at all when it is a response or shorter than a header, else with an answer dnsjava
 * reads, with the query's ID, no larger than the transport allows; a packet that is not one well-formed query gets
 * FORMERR or NOTIMP.
 */
@AddLifecycleHook(FuzzBudget.class)
class DnsQueryFuzzTest {
    static final ZoneAnswerer ANSWERER = new ZoneAnswerer(ZoneAnswererTest.SETTINGS);
    /** The three nodes, with two ACME challenge values at {@code _acme-challenge.radio.test}. */
    static final ClusterSnapshot VIEW = ZoneChallengesTest.BOTH;
    static final ClusterSnapshot MANY = Snapshots.ipv6Nodes(7, 40);
    static final List<byte[]> SEEDS = seeds();
    static final List<byte[]> TOKENS = Mutations.tokens("\u0005radio\u0004test\u0000", "\u0004test\u0000", "\u0000",
            "\u00c0\u000c", "\u00c0\u0000", "\u00ff", "\u003f", "\u0040", "\u0000\u0029\u0004\u00d0\u0000\u0000\u0000\u0000\u0000\u0000",
            "\u0000\u0001\u0000\u0001", "\u0000\u00fc\u0000\u0001", "\u0000\u00ff\u00ff\u00ff");

    static List<byte[]> seeds() {
        List<byte[]> seeds = new ArrayList<>();
        try {
            for (String name : List.of("radio.test.", "RaDiO.tEsT.", "node1.radio.test.", "stream.radio.test.",
                    "ns1.radio.test.", "nope.radio.test.", "a.b.node1.radio.test.", "xradio.test.", "example.com.", ".",
                    "_acme-challenge.radio.test.", "_ACME-challenge.node1.radio.test.")) {
                for (int type : new int[] {Type.A, Type.AAAA, Type.NS, Type.SOA, Type.ANY, Type.MX, Type.CNAME,
                        Type.AXFR, Type.TXT}) {
                    Message plain = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
                    seeds.add(plain.toWire());
                    Message edns = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
                    edns.addRecord(new OPTRecord(1232, 0, 0, Flags.DO), Section.ADDITIONAL);
                    seeds.add(edns.toWire());
                }
            }
            Name apex = Name.fromString("radio.test.");
            Message options = Message.newQuery(Record.newRecord(apex, Type.A, DClass.IN));
            List<EDNSOption> opts = List.of(new CookieOption(new byte[8]),
                    new ClientSubnetOption(24, java.net.InetAddress.getByName("192.0.2.0")),
                    new GenericEDNSOption(12, new byte[37]));
            options.addRecord(new OPTRecord(4096, 0, 0, 0, opts), Section.ADDITIONAL);
            seeds.add(options.toWire());
            Message version1 = Message.newQuery(Record.newRecord(apex, Type.A, DClass.IN));
            version1.addRecord(new OPTRecord(512, 0, 1, 0), Section.ADDITIONAL);
            seeds.add(version1.toWire());
            Message extra = Message.newQuery(Record.newRecord(apex, Type.AAAA, DClass.CH));
            extra.addRecord(new TXTRecord(apex, DClass.IN, 0, "extra"), Section.ADDITIONAL);
            extra.addRecord(new ARecord(apex, DClass.IN, 0, java.net.InetAddress.getByName("192.0.2.1")), Section.ADDITIONAL);
            seeds.add(extra.toWire());
            Message update = Message.newQuery(Record.newRecord(apex, Type.SOA, DClass.IN));
            update.getHeader().setOpcode(Opcode.UPDATE);
            seeds.add(update.toWire());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return List.copyOf(seeds);
    }

    /** Real queries mutated as bytes, and in the fields that a DNS parser reads: counts, flags, label lengths. */
    @Provide
    Arbitrary<byte[]> packets() {
        Arbitrary<byte[]> seeds = Arbitraries.of(SEEDS);
        Arbitrary<byte[]> bytes = Mutations.mutated(seeds, TOKENS, 6);
        Arbitrary<byte[]> fields = Combinators.combine(seeds, Arbitraries.integers().between(0, 9),
                Arbitraries.integers().between(0, 0xffff), Arbitraries.doubles().between(0, 1)).as(DnsQueryFuzzTest::field);
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(80);
        Arbitrary<byte[]> both = Combinators.combine(fields, Mutations.edits(3), seeds)
                .as((p, edits, other) -> Mutations.apply(p, other, edits, TOKENS));
        return Arbitraries.frequencyOf(Tuple.of(5, bytes), Tuple.of(3, fields), Tuple.of(3, both), Tuple.of(1, random));
    }

    /** One header field or label of a query set to {@code value}. */
    static byte[] field(byte[] seed, int which, int value, double at) {
        byte[] p = seed.clone();
        switch (which) {
            case 0, 1, 2, 3 -> { // QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT: small values most of the time
                int v = (value & 0x100) != 0 ? value : value & 3;
                p[4 + 2 * which] = (byte) (v >> 8);
                p[5 + 2 * which] = (byte) v;
            }
            case 4 -> p[2] = (byte) value; // QR, opcode, AA, TC, RD
            case 5 -> p[3] = (byte) value; // RA, Z, AD, CD, RCODE
            case 6 -> { // a label length, or a compression pointer in its place
                int q = 12 + (int) (at * (p.length - 12));
                if (q < p.length) {
                    p[q] = (byte) ((value & 0x300) == 0 ? 0xc0 | (value & 0x3f) : value & 0xff);
                }
            }
            case 7 -> { // the question's type and class, or the OPT's payload size and flags
                int q = 12 + (int) (at * Math.max(0, p.length - 13));
                if (q + 1 < p.length) {
                    p[q] = (byte) (value >> 8);
                    p[q + 1] = (byte) value;
                }
            }
            case 8 -> p = Arrays.copyOf(p, 12 + (int) (at * (p.length - 11))); // cut after the header
            default -> { // a compression pointer at a random place, pointing anywhere up to just past it
                int q = 12 + (int) (at * (p.length - 12));
                if (q + 1 < p.length) {
                    int target = value % (q + 2);
                    p[q] = (byte) (0xc0 | (target >> 8));
                    p[q + 1] = (byte) target;
                }
            }
        }
        return p;
    }

    @Provide
    Arbitrary<Transport> transports() {
        return Arbitraries.of(Transport.class);
    }

    @Provide
    Arbitrary<Integer> maxUdpSizes() {
        return Arbitraries.of(512, 1232, 4096, 65535);
    }

    @Property(shrinking = ShrinkingMode.BOUNDED)
    @Label("DNS query")
    void everyPacketIsAnsweredWithoutExceptionAndGarbageWithFormErrOrNotImp(@ForAll("packets") byte[] p,
            @ForAll("transports") Transport transport, @ForAll("maxUdpSizes") int maxUdpSize, @ForAll boolean many) {
        String hex = HexFormat.of().formatHex(p);
        Answer a = ANSWERER.answer(p, p.length, many ? MANY : VIEW, maxUdpSize, transport);
        if (p.length < Query.HEADER || (p[2] & 0x80) != 0) {
            assertNull(a, "no answer to a response or a runt: " + hex);
            assertNull(ANSWERER.serverFailure(p, p.length));
            return;
        }
        assertNotNull(a, hex);
        Message m;
        try {
            m = new Message(a.wire());
        } catch (IOException e) {
            throw new AssertionError("dnsjava cannot read the answer to " + hex + ": " + e.getMessage(), e);
        }
        Header h = m.getHeader();
        assertEquals(Query.u16(p, 0), h.getID(), hex);
        assertTrue(h.getFlag(Flags.QR), hex);
        assertEquals((p[2] >> 3) & 0x0f, h.getOpcode(), hex);
        assertEquals(a.rcode(), m.getRcode(), hex);
        int limit = transport == Transport.TCP ? ZoneAnswerer.TCP_SIZE : maxUdpSize;
        assertTrue(a.wire().length <= limit, a.wire().length + " bytes over " + transport + ": " + hex);
        if (m.getOPT() == null && transport == Transport.UDP) {
            assertTrue(a.wire().length <= ZoneAnswerer.PLAIN_UDP_SIZE, hex);
        }

        int opcode = (p[2] >> 3) & 0x0f;
        int qd = Query.u16(p, 4);
        boolean wellFormedQuestion = qd == 1 && Query.u16(p, 6) == 0 && Query.u16(p, 8) == 0 && readableQuestion(p);
        if (opcode != Opcode.QUERY) {
            assertEquals(Rcode.NOTIMP, a.rcode(), hex);
        } else if (!wellFormedQuestion) {
            assertEquals(Rcode.FORMERR, a.rcode(), "garbage gets FORMERR: " + hex);
        } else {
            assertTrue(Set.of(Rcode.NOERROR, Rcode.NXDOMAIN, Rcode.REFUSED, Rcode.FORMERR, Rcode.BADVERS)
                    .contains(a.rcode()), hex);
        }
        if (opcode == Opcode.QUERY && qd == 1 && Query.u16(p, 6) == 0 && Query.u16(p, 8) == 0 && Query.u16(p, 10) == 0
                && readableQuestion(p) && Query.u16(p, p.length - 4) != Query.TYPE_OPT && cleanQuery(p)) {
            // readableQuestion: dnsjava follows a pointer in the question's name even into the header; nothing
            // precedes a question for it to point at, so such a name is a format error here.
            assertNotEquals(Rcode.FORMERR, a.rcode(), "a query dnsjava reads whole is no format error: " + hex);
        }
        Record question = m.getQuestion();
        if (question != null) {
            byte[] asked = Arrays.copyOfRange(p, Query.HEADER, Query.HEADER + question.getName().length() + 4);
            byte[] echoed = Arrays.copyOfRange(a.wire(), Query.HEADER, Query.HEADER + question.getName().length() + 4);
            assertArrayEquals(asked, echoed, "the question comes back as asked: " + hex);
        }
    }

    /** Whether the question's name is plain labels ending in the root, within the packet, and its type and class too. */
    static boolean readableQuestion(byte[] p) {
        int q = Query.HEADER;
        int length = 1;
        while (q < p.length) {
            int l = p[q] & 0xff;
            if (l == 0) {
                return q + 5 <= p.length;
            }
            if ((l & 0xc0) != 0 || (length += l + 1) > 255) {
                return false;
            }
            q += l + 1;
        }
        return false;
    }

    /** Whether dnsjava reads exactly one question and nothing else, with no bytes after it. */
    static boolean cleanQuery(byte[] p) {
        try {
            Message m = new Message(p);
            return m.getQuestion() != null && m.toWire().length == p.length;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
