package radiod.dns.zone;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.xbill.DNS.Flags;
import org.xbill.DNS.HINFORecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

import radiod.cluster.tls.AcmeChallenge;
import radiod.cluster.tls.AcmeHolder;
import radiod.cluster.tls.TlsState;
import radiod.cluster.view.ClusterSnapshot;
import radiod.dns.zone.ZoneAnswerer.Transport;

/** The TXT records of ACME DNS-01 challenges: served from the snapshot's challenges, next to everything else. */
class ZoneChallengesTest {
    static final String DIGEST_APEX = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
    static final String DIGEST_WILDCARD = "gKwqdV0jzAEyS4sm9Yhm3kFQ1X2W7h8Gz1mZr1n2dY4";

    final ZoneAnswerer answerer = new ZoneAnswerer(ZoneAnswererTest.SETTINGS);

    static ClusterSnapshot withChallenges(ClusterSnapshot base, AcmeChallenge... challenges) {
        Map<String, AcmeChallenge> byId = new LinkedHashMap<>();
        for (int i = 0; i < challenges.length; i++) {
            byId.put("node1-1-" + i, challenges[i]);
        }
        return base.withTls(new TlsState(Optional.empty(), 0, Optional.empty(),
                Optional.of(new AcmeHolder("node1", 1)), Optional.empty(), byId, Optional.empty(), 0));
    }

    static AcmeChallenge challenge(String name, String value) {
        return new AcmeChallenge(name, value, "node1", 1);
    }

    static final ClusterSnapshot BOTH = withChallenges(ZoneAnswererTest.THREE,
            challenge("_acme-challenge.radio.test.", DIGEST_APEX),
            challenge("_acme-challenge.radio.test.", DIGEST_WILDCARD));

    Message ask(String name, int type, ClusterSnapshot view) throws IOException {
        return answerer.answer(ZoneAnswererTest.query(name, type), view, ZoneAnswerer.EDNS_UDP_SIZE, Transport.UDP)
                .message();
    }

    static List<String> txt(Message m) {
        return m.getSection(Section.ANSWER).stream().filter(r -> r.getType() == Type.TXT)
                .map(r -> String.join("", ((TXTRecord) r).getStrings())).sorted().toList();
    }

    @Test
    void aChallengeNameHoldsEveryValueForItWithAShortTtl() throws IOException {
        Message m = ask("_acme-challenge.radio.test.", Type.TXT, BOTH);
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertTrue(m.getHeader().getFlag(Flags.AA), "authoritative");
        assertEquals(List.of(DIGEST_WILDCARD, DIGEST_APEX).stream().sorted().toList(), txt(m));
        for (Record r : m.getSection(Section.ANSWER)) {
            assertEquals(5, r.getTTL(), "a short TTL");
            assertEquals("_acme-challenge.radio.test.", r.getName().toString());
        }
        assertEquals(0, m.getSection(Section.AUTHORITY).size());
    }

    @Test
    void otherTypesAtAChallengeNameAreNodataAndAnyIsTheSynthesizedHinfo() throws IOException {
        for (int type : new int[] {Type.A, Type.AAAA, Type.MX, Type.CNAME}) {
            Message m = ask("_acme-challenge.radio.test.", type, BOTH);
            assertEquals(Rcode.NOERROR, m.getRcode(), Type.string(type));
            assertEquals(0, m.getSection(Section.ANSWER).size(), Type.string(type));
            ZoneAnswererTest.assertSoaInAuthority(m);
        }
        Message any = ask("_acme-challenge.radio.test.", Type.ANY, BOTH);
        assertEquals(1, any.getSection(Section.ANSWER).size());
        assertTrue(any.getSection(Section.ANSWER).get(0) instanceof HINFORecord);
    }

    @Test
    void withoutChallengesTheNameDoesNotExistAndOtherNamesKeepTheirAnswers() throws IOException {
        Message none = ask("_acme-challenge.radio.test.", Type.TXT, ZoneAnswererTest.THREE);
        assertEquals(Rcode.NXDOMAIN, none.getRcode());
        ZoneAnswererTest.assertSoaInAuthority(none);
        Message other = ask("_acme-challenge.node2.radio.test.", Type.TXT, BOTH);
        assertEquals(Rcode.NXDOMAIN, other.getRcode(), "only the names with a challenge exist");
        Message apexTxt = ask("radio.test.", Type.TXT, BOTH);
        assertEquals(Rcode.NOERROR, apexTxt.getRcode());
        assertEquals(0, apexTxt.getSection(Section.ANSWER).size(), "the apex has no TXT: NODATA");
        assertEquals(Answers.addresses(ask("node1.radio.test.", Type.A, ZoneAnswererTest.THREE)),
                Answers.addresses(ask("node1.radio.test.", Type.A, BOTH)));
    }

    @Test
    void aChallengeBelowANodeNameLeavesTheNodeItsAddresses() throws IOException {
        ClusterSnapshot s = withChallenges(ZoneAnswererTest.THREE, challenge("_acme-challenge.node1.radio.test", DIGEST_APEX));
        assertEquals(List.of(DIGEST_APEX), txt(ask("_acme-challenge.node1.radio.test.", Type.TXT, s)));
        assertEquals(Answers.addresses(ask("node1.radio.test.", Type.A, ZoneAnswererTest.THREE)),
                Answers.addresses(ask("node1.radio.test.", Type.A, s)));
    }

    @Test
    void challengesOutsideTheZoneAreNotAnswered() throws IOException {
        ClusterSnapshot s = withChallenges(ZoneAnswererTest.THREE, challenge("_acme-challenge.example.org.", DIGEST_APEX),
                challenge("_acme-challenge.xradio.test", DIGEST_APEX));
        assertEquals(Rcode.REFUSED, ask("_acme-challenge.example.org.", Type.TXT, s).getRcode());
        assertEquals(Rcode.REFUSED, ask("_acme-challenge.xradio.test.", Type.TXT, s).getRcode());
        assertEquals(ZoneAnswererTest.serial(answerer, ZoneAnswererTest.THREE), ZoneAnswererTest.serial(answerer, s),
                "the zone's answers did not change");
    }

    @Test
    void theNameMatchesIgnoringCaseAndTheAskersCaseComesBack() throws IOException {
        Message m = ask("_ACME-Challenge.Radio.TEST.", Type.TXT, BOTH);
        assertEquals(2, txt(m).size());
        assertEquals("_ACME-Challenge.Radio.TEST.", m.getSection(Section.ANSWER).get(0).getName().toString());
    }

    @Test
    void theSerialFollowsTheChallengesAndIsUnchangedWithoutThem() throws IOException {
        long plain = ZoneAnswererTest.serial(answerer, ZoneAnswererTest.THREE);
        assertEquals(plain, ZoneAnswererTest.serial(answerer, withChallenges(ZoneAnswererTest.THREE)),
                "TLS state without challenges changes no answer");
        long one = ZoneAnswererTest.serial(answerer, withChallenges(ZoneAnswererTest.THREE,
                challenge("_acme-challenge.radio.test.", DIGEST_APEX)));
        long both = ZoneAnswererTest.serial(answerer, BOTH);
        long other = ZoneAnswererTest.serial(answerer, withChallenges(ZoneAnswererTest.THREE,
                challenge("_acme-challenge.radio.test.", DIGEST_WILDCARD)));
        assertEquals(4, List.of(plain, one, both, other).stream().distinct().count(),
                "every set of challenge values has a serial of its own");
        ClusterSnapshot reordered = withChallenges(ZoneAnswererTest.THREE,
                challenge("_acme-challenge.radio.test.", DIGEST_WILDCARD),
                challenge("_acme-challenge.radio.test.", DIGEST_APEX));
        assertEquals(both, ZoneAnswererTest.serial(answerer, reordered), "the same values in another order");
        assertNotEquals(plain, both);
    }
}
