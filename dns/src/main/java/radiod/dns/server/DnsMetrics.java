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
        queries(index(a.qtype(), a.rcode(), transport)).increment();
        if (a.truncated()) {
            truncated[transport.ordinal()].increment();
        }
    }

    private static int index(int qtype, int rcode, ZoneAnswerer.Transport transport) {
        int r = rcode < RCODES ? rcode : RCODES - 1;
        return (typeIndex(qtype) * RCODES + r) * 2 + transport.ordinal();
    }

    private Counter queries(int i) {
        Counter c = queries[i];
        if (c == null) {
            int type = i / 2 / RCODES;
            int rcode = i / 2 % RCODES;
            ZoneAnswerer.Transport transport = ZoneAnswerer.Transport.values()[i % 2];
            // Racing threads register the same meter: the registry returns the one instance.
            c = Counter.builder("radiod.dns.queries").description("DNS queries answered")
                    .tag("type", type == OTHER ? "other" : Type.string(TYPES[type]))
                    .tag("rcode", Rcode.string(rcode))
                    .tag("transport", transport(transport))
                    .register(registry);
            queries[i] = c;
        }
        return c;
    }

    /** A tally for one thread, to be {@link Tally#flush() flushed} into the meters now and then (after a batch). */
    Tally tally() {
        return new Tally();
    }

    /** Counts kept by one thread without atomics; added to the meters on {@link #flush()}. Not thread-safe. */
    final class Tally {
        private final long[] counts = new long[queries.length];
        private final int[] touched = new int[queries.length];
        private int touchedCount;
        private long truncatedUdp;
        private long droppedCount;
        private long errorCount;

        void count(int qtype, int rcode, boolean wasTruncated) {
            int i = index(qtype, rcode, ZoneAnswerer.Transport.UDP);
            if (counts[i]++ == 0) {
                touched[touchedCount++] = i;
            }
            if (wasTruncated) {
                truncatedUdp++;
            }
        }

        void dropped() {
            droppedCount++;
        }

        void error() {
            errorCount++;
        }

        void flush() {
            for (int k = 0; k < touchedCount; k++) {
                int i = touched[k];
                queries(i).increment(counts[i]);
                counts[i] = 0;
            }
            touchedCount = 0;
            if (truncatedUdp > 0) {
                truncated[ZoneAnswerer.Transport.UDP.ordinal()].increment(truncatedUdp);
                truncatedUdp = 0;
            }
            if (droppedCount > 0) {
                dropped.increment(droppedCount);
                droppedCount = 0;
            }
            if (errorCount > 0) {
                errors.increment(errorCount);
                errorCount = 0;
            }
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
