package radiod.dns.zone;

import java.io.IOException;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

import radiod.cluster.view.ClusterSnapshot;

/**
 * Answers queries for the cluster's zone from a cluster snapshot, authoritatively and never recursively. Pure:
 * bytes in, bytes out, no I/O; safe to call from many threads at once. The records of a snapshot are rendered
 * once, on its first query, and reused while the snapshot is current.
 *
 * <ul>
 * <li>The apex's A/AAAA: the addresses of the nodes whose Icecast is up and that are not drained, a fresh random
 * pick of at most {@code maxAnswers} per answer; none live: NODATA. {@code <node>.<zone>}: that node's
 * addresses, whatever its state. NS (with glue for in-zone nameservers, see {@link DnsSettings}) and SOA at the
 * apex. TXT at the {@code _acme-challenge} names of the snapshot's ACME challenges (every value a name has, TTL 5 s). The alias: a CNAME to the apex, followed by the apex's records of the asked type.</li>
 * <li>A name of the zone that does not exist: NXDOMAIN; an existing name without the asked type: NODATA; both
 * with the SOA in the authority section. Names outside the zone, other classes, zone transfers: REFUSED.</li>
 * <li>AA on in-zone answers; ID, opcode, RD and CD copied; RA never. Opcodes other than QUERY: NOTIMP.
 * Unreadable queries: FORMERR, with the question when it can be read. Responses and packets shorter than a
 * header: no answer at all. ANY: one synthesized HINFO (RFC 8482).</li>
 * <li>EDNS: an OPT in the query gets one in the answer (DO copied, advertising {@code maxUdpSize}); version
 * other than 0: BADVERS. UDP answers fit the client's size (512 without EDNS, its payload size capped at
 * {@code maxUdpSize} with it): glue is dropped first, then the records, with TC set. TCP answers up to 64 KiB.</li>
 * <li>Names match ignoring case; the question is copied as asked and answers point at it, so the asker's
 * letter case (0x20) comes back.</li>
 * </ul>
 */
public final class ZoneAnswerer {
    /** The transport a query came over; it bounds the answer's size. */
    public enum Transport { UDP, TCP }

    /**
     * A response and what it was, for metrics.
     *
     * @param wire      the response's bytes
     * @param qtype     the question's type, 0 when it could not be read
     * @param rcode     the response code, extended (BADVERS is 16)
     * @param truncated whether TC is set
     */
    public record Answer(byte[] wire, int qtype, int rcode, boolean truncated) {
        /** The response parsed by dnsjava. */
        public Message message() {
            try {
                return new Message(wire);
            } catch (IOException e) {
                throw new IllegalStateException("a response that dnsjava cannot read: " + e.getMessage(), e);
            }
        }
    }

    /** The largest UDP payload advertised and accepted: avoids IP fragmentation (DNS flag day 2020). */
    public static final int EDNS_UDP_SIZE = 1232;
    public static final int PLAIN_UDP_SIZE = 512;
    public static final int TCP_SIZE = 65535;

    /**
     * A response left in a buffer of this thread by {@link #respond}: the bytes {@code wire()[0, length())}, valid
     * until this thread's next call to {@code respond}. What the hot path uses: no copy, no allocation.
     */
    public static final class Response {
        private final ResponseWriter writer = new ResponseWriter();
        private int length;
        private int qtype;
        private int rcode;
        private boolean truncated;

        /** The buffer holding the response, from 0 to {@link #length()}. */
        public byte[] wire() {
            return writer.buffer();
        }

        public int length() {
            return length;
        }

        /** The question's type, 0 when it could not be read. */
        public int qtype() {
            return qtype;
        }

        /** The response code, extended (BADVERS is 16). */
        public int rcode() {
            return rcode;
        }

        /** Whether TC is set. */
        public boolean truncated() {
            return truncated;
        }

        /** A copy, as an {@link Answer}. */
        public Answer toAnswer() {
            return new Answer(Arrays.copyOf(writer.buffer(), length), qtype, rcode, truncated);
        }
    }

    private static final ThreadLocal<Response> RESPONSES = ThreadLocal.withInitial(Response::new);

    /** Marks a (name, type) whose answer is not rendered ahead (too many random picks): the slow path answers. */
    private static final Rendered NOT_RENDERED = new Rendered(new Rendered.Body[0]);

    private final DnsSettings settings;
    private final boolean prerender;
    private final AtomicLong renders = new AtomicLong();
    private volatile ZoneRecords records;

    public ZoneAnswerer(DnsSettings settings) {
        this(settings, true);
    }

    /** With {@code prerender} false, every answer is made from the records each time (for tests to compare). */
    ZoneAnswerer(DnsSettings settings, boolean prerender) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.prerender = prerender;
        this.records = new ZoneRecords(settings, ClusterSnapshot.EMPTY);
    }

    /** How many (name, type) answers were rendered ahead so far (each once per snapshot). */
    long renders() {
        return renders.get();
    }

    public DnsSettings settings() {
        return settings;
    }

    /** The answer to a dnsjava query, as {@link #answer(byte[], int, ClusterSnapshot, int, Transport)}. */
    public Answer answer(Message query, ClusterSnapshot view, int maxUdpSize, Transport transport) {
        byte[] wire = query.toWire();
        return answer(wire, wire.length, view, maxUdpSize, transport);
    }

    /**
     * The answer to the query in {@code query[0, length)}, or null when nothing may be sent back (a response, or
     * fewer bytes than a header).
     *
     * @param view       the cluster snapshot to answer from
     * @param maxUdpSize the largest UDP answer this server sends, 512 to 65535 (normally {@link #EDNS_UDP_SIZE})
     */
    public Answer answer(byte[] query, int length, ClusterSnapshot view, int maxUdpSize, Transport transport) {
        Response r = respond(query, length, view, maxUdpSize, transport);
        return r == null ? null : r.toAnswer();
    }

    /**
     * As {@link #answer(byte[], int, ClusterSnapshot, int, Transport)}, but the response stays in this thread's
     * buffer (see {@link Response}): valid until this thread's next call.
     */
    public Response respond(byte[] query, int length, ClusterSnapshot view, int maxUdpSize, Transport transport) {
        if (maxUdpSize < PLAIN_UDP_SIZE || maxUdpSize > TCP_SIZE) {
            throw new IllegalArgumentException("maxUdpSize must be between 512 and 65535, got " + maxUdpSize);
        }
        Query q = Query.parse(query, Math.min(length, query.length));
        if (q == null) {
            return null;
        }
        Response r = RESPONSES.get();
        ResponseWriter w = r.writer;
        w.begin(q);
        if (q.status == Query.Status.NOTIMP) {
            return finish(r, q, Rcode.NOTIMP, PLAIN_UDP_SIZE, maxUdpSize, false);
        }
        if (q.status == Query.Status.FORMERR) {
            return finish(r, q, Rcode.FORMERR, PLAIN_UDP_SIZE, maxUdpSize, false);
        }
        int limit = transport == Transport.TCP ? TCP_SIZE
                : q.edns ? Math.max(PLAIN_UDP_SIZE, Math.min(q.udpPayload, maxUdpSize)) : PLAIN_UDP_SIZE;
        if (q.edns && q.ednsVersion != 0) {
            return finish(r, q, Rcode.BADVERS, limit, maxUdpSize, true);
        }
        ZoneRecords z = records(view == null ? ClusterSnapshot.EMPTY : view);
        int apex = apexOffset(q, z.zoneWire);
        if (apex < 0 || (q.qclass != DClass.IN && q.qclass != DClass.ANY)
                || q.qtype == Type.AXFR || q.qtype == Type.IXFR) {
            return finish(r, q, Rcode.REFUSED, limit, maxUdpSize, q.edns);
        }
        if (view == null || !view.isRead()) {
            // Nothing read from etcd yet (a node starting, or started while etcd is down): no answer in the zone is
            // known. SERVFAIL, not authoritative, so that a resolver asks another nameserver and caches no NXDOMAIN
            // or NODATA that would hide the station for the negative TTL.
            return finish(r, q, Rcode.SERVFAIL, limit, maxUdpSize, q.edns);
        }
        w.authoritative();
        ZoneRecords.Entry entry = z.lookup(q.wire, Query.HEADER, q.nameEnd);
        if (entry == null) {
            w.record(ResponseWriter.AUTHORITY, apex, z.soaNegative);
            return finish(r, q, Rcode.NXDOMAIN, limit, maxUdpSize, q.edns);
        }
        if (prerender) {
            int slot = Rendered.slot(q.qtype);
            if (slot >= 0) {
                Rendered rendered = entry.rendered[slot];
                if (rendered == null) {
                    rendered = render(z, entry, q, apex);
                    entry.rendered[slot] = rendered;
                }
                if (rendered != NOT_RENDERED && w.body(rendered.pick(), limit, q.edns ? ResponseWriter.OPT_LENGTH : 0)) {
                    return finish(r, q, Rcode.NOERROR, limit, maxUdpSize, q.edns);
                }
            }
        }
        records(w, z, entry, q.qtype, apex, null);
        return finish(r, q, Rcode.NOERROR, limit, maxUdpSize, q.edns);
    }

    /** The records answering {@code qtype} at an existing name; {@code order}: see {@link #answerAt}. */
    private static void records(ResponseWriter w, ZoneRecords z, ZoneRecords.Entry entry, int qtype, int apex,
                                int[] order) {
        if (entry.kind == ZoneRecords.ALIAS) {
            w.record(ResponseWriter.ANSWER, Query.HEADER, z.cname);
            if (qtype != Type.CNAME && qtype != Type.ANY) {
                answerAt(w, z, z.apex, apex, qtype, apex, order);
            }
        } else {
            answerAt(w, z, entry, Query.HEADER, qtype, apex, order);
        }
    }

    /**
     * Every answer the slow path can give to {@code q} at {@code entry} (one per possible pick of a pool's
     * addresses), or {@link #NOT_RENDERED} when there are too many.
     */
    private Rendered render(ZoneRecords z, ZoneRecords.Entry entry, Query q, int apex) {
        ZoneRecords.Entry target = entry.kind == ZoneRecords.ALIAS ? z.apex : entry;
        byte[][] set = q.qtype == Type.A ? target.a : q.qtype == Type.AAAA ? target.aaaa : null;
        List<int[]> orders = Collections.singletonList(null);
        if (set != null && set.length > 1 && (target.kind == ZoneRecords.APEX || target.kind == ZoneRecords.POOL)) {
            orders = Rendered.picks(set.length, Math.min(set.length, z.maxAnswers));
            if (orders == null) {
                return NOT_RENDERED;
            }
        }
        ResponseWriter w = new ResponseWriter();
        Rendered.Body[] bodies = new Rendered.Body[orders.size()];
        for (int i = 0; i < bodies.length; i++) {
            w.begin(q);
            records(w, z, entry, q.qtype, apex, orders.get(i));
            bodies[i] = w.body();
        }
        renders.incrementAndGet();
        return new Rendered(bodies);
    }

    /**
     * The records of type {@code qtype} at the name at {@code owner}, or the SOA that says there are none. A pool's
     * addresses are picked at random, or in {@code order} when it is not null.
     */
    private static void answerAt(ResponseWriter w, ZoneRecords z, ZoneRecords.Entry e, int owner, int qtype, int apex,
                                 int[] order) {
        int before = w.count(ResponseWriter.ANSWER);
        if (qtype == Type.ANY) {
            if (e.kind != ZoneRecords.EMPTY) {
                w.record(ResponseWriter.ANSWER, owner, z.hinfo);
            }
        } else if (qtype == Type.A || qtype == Type.AAAA) {
            byte[][] set = qtype == Type.A ? e.a : e.aaaa;
            if (e.kind == ZoneRecords.APEX || e.kind == ZoneRecords.POOL) {
                if (order == null) {
                    w.shuffled(ResponseWriter.ANSWER, owner, set, z.maxAnswers);
                } else {
                    w.ordered(ResponseWriter.ANSWER, owner, set, order, order.length);
                }
            } else {
                for (byte[] r : set) {
                    w.record(ResponseWriter.ANSWER, owner, r);
                }
            }
        } else if (qtype == Type.TXT) {
            for (byte[] r : e.txt) {
                w.record(ResponseWriter.ANSWER, owner, r);
            }
        } else if (e.kind == ZoneRecords.APEX && qtype == Type.SOA) {
            w.record(ResponseWriter.ANSWER, owner, z.soa);
        } else if (e.kind == ZoneRecords.APEX && qtype == Type.NS) {
            for (byte[] r : z.ns) {
                w.record(ResponseWriter.ANSWER, owner, r);
            }
            w.glue(z.glue, z.glueCount);
        }
        if (w.count(ResponseWriter.ANSWER) == before) {
            w.record(ResponseWriter.AUTHORITY, apex, z.soaNegative);
        }
    }

    /**
     * Where the zone's name starts inside the question's name, or -1 when the question is not in the zone.
     * Walking the labels keeps the match on a label boundary ({@code xradio.example.org} is not in the zone).
     */
    private static int apexOffset(Query q, byte[] zoneWire) {
        byte[] b = q.wire;
        int p = Query.HEADER;
        while (q.nameEnd - p > zoneWire.length) {
            p += (b[p] & 0xff) + 1;
        }
        if (q.nameEnd - p != zoneWire.length) {
            return -1;
        }
        return ZoneRecords.equalsIgnoreCase(zoneWire, b, p, q.nameEnd) ? p : -1;
    }

    private static Response finish(Response r, Query q, int rcode, int limit, int maxUdpSize, boolean opt) {
        ResponseWriter w = r.writer;
        w.rcode(rcode);
        r.length = w.complete(limit, opt, maxUdpSize, rcode >> 4, q.dnssecOk);
        r.qtype = q.hasQuestion() ? q.qtype : 0;
        r.rcode = rcode;
        r.truncated = w.truncated();
        return r;
    }

    /**
     * SERVFAIL for a query this class failed on, so that the asker is not left waiting; null when nothing may be
     * sent back.
     */
    public Answer serverFailure(byte[] query, int length) {
        Query q = Query.parse(query, Math.min(length, query.length));
        if (q == null) {
            return null;
        }
        Response r = new Response();
        r.writer.begin(q);
        return finish(r, q, Rcode.SERVFAIL, PLAIN_UDP_SIZE, EDNS_UDP_SIZE, false).toAnswer();
    }

    private ZoneRecords records(ClusterSnapshot view) {
        ZoneRecords r = records;
        if (r.snapshot != view) {
            r = new ZoneRecords(settings, view);
            records = r;
        }
        return r;
    }
}
