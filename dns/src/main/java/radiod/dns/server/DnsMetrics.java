package radiod.dns.server;

import java.util.concurrent.ConcurrentHashMap;

import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import radiod.dns.zone.ZoneAnswerer;

/** Queries by type, rcode and transport, and truncations; counters are looked up once and cached. */
final class DnsMetrics {
    private final MeterRegistry registry;
    private final ConcurrentHashMap<Long, Counter> queries = new ConcurrentHashMap<>();
    private final Counter truncated;
    private final Counter dropped;

    DnsMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.truncated = Counter.builder("radiod.dns.truncated").description("UDP answers truncated (TC set)")
                .register(registry);
        this.dropped = Counter.builder("radiod.dns.dropped")
                .description("packets not answered (responses, shorter than a header)").register(registry);
    }

    void count(ZoneAnswerer.Answer a, ZoneAnswerer.Transport transport) {
        int qtype = knownType(a.qtype());
        long key = ((long) qtype << 32) | ((long) a.rcode() << 1) | transport.ordinal();
        queries.computeIfAbsent(key, k -> Counter.builder("radiod.dns.queries")
                .description("DNS queries answered")
                .tag("type", qtype == 0 ? "other" : Type.string(qtype))
                .tag("rcode", Rcode.string(a.rcode()))
                .tag("transport", transport.name().toLowerCase())
                .register(registry)).increment();
        if (a.truncated()) {
            truncated.increment();
        }
    }

    void dropped() {
        dropped.increment();
    }

    /** Bounded label values: the common types, everything else is "other". */
    private static int knownType(int t) {
        return switch (t) {
            case Type.A, Type.AAAA, Type.NS, Type.SOA, Type.ANY, Type.CNAME, Type.MX, Type.TXT, Type.PTR, Type.SRV,
                    Type.CAA, Type.HTTPS, Type.DNSKEY, Type.DS -> t;
            default -> 0;
        };
    }
}
