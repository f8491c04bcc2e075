package radiod.dns.server;

import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import radiod.dns.zone.ZoneAnswerer;

/**
 * The DNS server's meters: {@code radiod.dns.queries} by type, rcode and transport, {@code radiod.dns.truncated},
 * {@code radiod.dns.dropped} (packets not answered: responses, runts) and {@code radiod.dns.errors} (queries this
 * server failed on, answered SERVFAIL). Tag values are bounded: uncommon types count as {@code other}. Counters are
 * found once and kept in an array, so counting on the hot path does no lookup.
 */
final class DnsMetrics {
    private static final int[] TYPES = {Type.A, Type.AAAA, Type.NS, Type.SOA, Type.CNAME, Type.ANY, Type.MX, Type.TXT,
            Type.PTR, Type.SRV, Type.CAA, Type.HTTPS, Type.SVCB, Type.DNSKEY, Type.DS, Type.AXFR, Type.IXFR};
    private static final int OTHER = TYPES.length;
    private static final int RCODES = 24;

    private final MeterRegistry registry;
    private final Counter[] queries = new Counter[(TYPES.length + 1) * RCODES * 2];
    private final Counter[] truncated = new Counter[2];
    private final Counter dropped;
    private final Counter errors;

    DnsMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (ZoneAnswerer.Transport t : ZoneAnswerer.Transport.values()) {
            truncated[t.ordinal()] = Counter.builder("radiod.dns.truncated")
                    .description("answers truncated (TC set) because they did not fit")
                    .tag("transport", transport(t)).register(registry);
        }
        dropped = Counter.builder("radiod.dns.dropped")
                .description("packets not answered: responses, packets shorter than a DNS header").register(registry);
        errors = Counter.builder("radiod.dns.errors")
                .description("queries the server failed on (answered SERVFAIL)").register(registry);
    }

    void count(ZoneAnswerer.Answer a, ZoneAnswerer.Transport transport) {
        int type = typeIndex(a.qtype());
        int rcode = a.rcode() < RCODES ? a.rcode() : RCODES - 1;
        int i = (type * RCODES + rcode) * 2 + transport.ordinal();
        Counter c = queries[i];
        if (c == null) {
            // Racing threads register the same meter: the registry returns the one instance.
            c = Counter.builder("radiod.dns.queries").description("DNS queries answered")
                    .tag("type", type == OTHER ? "other" : Type.string(TYPES[type]))
                    .tag("rcode", Rcode.string(rcode))
                    .tag("transport", transport(transport))
                    .register(registry);
            queries[i] = c;
        }
        c.increment();
        if (a.truncated()) {
            truncated[transport.ordinal()].increment();
        }
    }

    void dropped() {
        dropped.increment();
    }

    void error() {
        errors.increment();
    }

    private static String transport(ZoneAnswerer.Transport t) {
        return t == ZoneAnswerer.Transport.UDP ? "udp" : "tcp";
    }

    private static int typeIndex(int qtype) {
        for (int i = 0; i < TYPES.length; i++) {
            if (TYPES[i] == qtype) {
                return i;
            }
        }
        return OTHER;
    }
}
