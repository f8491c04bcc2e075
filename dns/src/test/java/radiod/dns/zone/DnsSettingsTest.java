package radiod.dns.zone;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;

/** Settings are checked when built, and errors name the field and what is allowed. */
class DnsSettingsTest {
    static void rejected(String field, Supplier<DnsSettings> build) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build::get);
        assertTrue(e.getMessage().contains(field), "'" + e.getMessage() + "' names " + field);
    }

    @Test
    void defaultsAreCompletedFromTheZone() {
        DnsSettings s = DnsSettings.defaults("Radio.Example.ORG.");
        assertEquals("radio.example.org", s.zone());
        assertEquals(List.of(new DnsSettings.NameServer("ns1.radio.example.org", List.of())), s.nameservers());
        assertEquals("ns1.radio.example.org", s.soa().mname());
        assertEquals("hostmaster.radio.example.org", s.soa().rname());
        assertEquals(DnsSettings.Soa.SERIAL_FROM_CONTENT, s.soa().serial());
        assertEquals(5, s.nodeTtl());
        assertEquals(3600, s.zoneTtl());
        assertEquals(8, s.maxAnswers());
        assertNull(s.alias());
        assertEquals("0.0.0.0", s.bindAddress());
        assertEquals(53, s.port());
    }

    @Test
    void nameserversAreNamesWithOptionalFixedAddresses() {
        DnsSettings s = DnsSettings.defaults("radio.example.org").withNameservers(List.of(
                "ns1.radio.example.org=192.0.2.1, 2001:db8::1", "NS.Other.Net."));
        assertEquals(new DnsSettings.NameServer("ns1.radio.example.org", List.of("192.0.2.1", "2001:db8::1")),
                s.nameservers().get(0));
        assertEquals(new DnsSettings.NameServer("ns.other.net", List.of()), s.nameservers().get(1));
        assertEquals("ns1.radio.example.org", s.soa().mname());
        assertEquals(s.nameservers(), DnsSettings.defaults("radio.example.org").withNameservers(List.of()).withNameservers(
                List.of("ns1.radio.example.org=192.0.2.1,2001:db8::1", "ns.other.net")).nameservers());
    }

    @Test
    void theRnameMayBeAMailAddress() {
        DnsSettings s = DnsSettings.defaults("radio.example.org")
                .withSoa(new DnsSettings.Soa(null, "noc@example.net", 7, 1, 1, 1, 0));
        assertEquals("noc.example.net", s.soa().rname());
        assertEquals(7, s.soa().serial());
    }

    @Test
    void badValuesAreRejectedNamingTheField() {
        DnsSettings d = DnsSettings.defaults("radio.example.org");
        rejected("dns.zone", () -> DnsSettings.defaults(""));
        rejected("dns.zone", () -> DnsSettings.defaults("radio..example.org"));
        rejected("dns.zone", () -> DnsSettings.defaults("radio example.org"));
        rejected("dns.ttl", () -> d.withNodeTtl(0));
        rejected("dns.ttl", () -> d.withNodeTtl(3601));
        rejected("dns.zone_ttl", () -> d.withZoneTtl(0));
        rejected("dns.max_answers", () -> d.withMaxAnswers(0));
        rejected("dns.max_answers", () -> d.withMaxAnswers(65));
        rejected("dns.alias", () -> d.withAlias("two.labels"));
        rejected("dns.alias", () -> d.withAlias("-x"));
        rejected("dns.alias", () -> d.withNameservers(List.of("stream.radio.example.org")).withAlias("stream"));
        rejected("dns.bind", () -> d.withListen("localhost", 53));
        rejected("dns.bind", () -> d.withListen("", 53));
        rejected("dns.port", () -> d.withListen("127.0.0.1", 65536));
        rejected("dns.nameservers[0]", () -> d.withNameservers(List.of("ns1.radio.example.org=not-an-ip")));
        rejected("dns.nameservers[1]", () -> d.withNameservers(List.of("ns1.radio.example.org", "")));
        rejected("dns.nameservers[0]", () -> d.withNameservers(List.of("ns1.radio.example.org=")));
        rejected("outside the zone", () -> d.withNameservers(List.of("ns.other.net=192.0.2.1")));
        rejected("listed twice", () -> d.withNameservers(List.of("ns1.radio.example.org", "NS1.radio.example.org")));
        rejected("dns.soa.serial", () -> d.withSoa(new DnsSettings.Soa(null, null, 1L << 32, 1, 1, 1, 0)));
        rejected("dns.soa.refresh", () -> d.withSoa(new DnsSettings.Soa(null, null, 0, 0, 1, 1, 0)));
        rejected("dns.soa.minimum", () -> d.withSoa(new DnsSettings.Soa(null, null, 0, 1, 1, 1, -1)));
        rejected("dns.soa.rname", () -> d.withSoa(new DnsSettings.Soa(null, "first.last@example.org", 0, 1, 1, 1, 0)));
    }
}
