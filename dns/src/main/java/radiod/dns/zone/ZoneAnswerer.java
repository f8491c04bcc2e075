package radiod.dns.zone;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

import radiod.cluster.view.ClusterSnapshot;

/**
 * Answers DNS queries for the cluster's zone from the current cluster snapshot, authoritatively and never
 * recursively. Pure: bytes in, bytes out, no I/O; safe to call from many threads at once.
 *
 * <p>Rules: the apex's A/AAAA are the addresses of live nodes whose Icecast is up and that are not drained,
 * shuffled, at most N; {@code <node>.<zone>} is that node; in-zone nameserver names and the alias answer like
 * the apex (the alias as a CNAME to it); NS with glue and SOA at the apex; unknown names in the zone get
 * NXDOMAIN with the SOA, known names with another type NODATA with the SOA; names outside the zone REFUSED;
 * other opcodes NOTIMP; unparseable queries FORMERR.
 */
public final class ZoneAnswerer {
    /** The transport a query came over; it bounds the answer's size. */
    public enum Transport { UDP, TCP }

    /** An answer and what it was, for metrics. */
    public record Answer(byte[] wire, int qtype, int rcode, boolean truncated) {
    }

    public static final int MAX_UDP = 1232;
    private static final int MAX_TCP = 65535;

    private final DnsSettings settings;
    private final Supplier<ClusterSnapshot> view;
    private final Name zone;
    private final Name alias;
    private final List<Name> nsNames = new ArrayList<>();
    private final List<Name> inZoneNs = new ArrayList<>();
    private final Name hostmaster;
    private volatile ZoneData data;

    public ZoneAnswerer(DnsSettings settings, Supplier<ClusterSnapshot> view) {
        this.settings = settings;
        this.view = view;
        try {
            this.zone = Name.fromString(settings.zone() + ".");
            this.alias = settings.alias() == null ? null : ZoneData.lower(Name.fromString(settings.alias(), zone));
            for (String ns : settings.nameservers()) {
                Name n = Name.fromString(ns + ".");
                nsNames.add(n);
                if (n.subdomain(zone) && !n.equals(zone)) {
                    inZoneNs.add(ZoneData.lower(n));
                }
            }
            this.hostmaster = Name.fromString(settings.hostmaster() + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException("dns: " + e.getMessage(), e);
        }
    }

    public Name zone() {
        return zone;
    }

    private ZoneData data() {
        ClusterSnapshot s = view.get();
        ZoneData d = data;
        if (d == null || d.snapshot != s) {
            d = new ZoneData(s, settings, zone, nsNames, hostmaster);
            data = d;
        }
        return d;
    }

    /**
     * The answer to one query, or null when nothing should be sent back (a response, or fewer bytes than a
     * DNS header).
     */
    public Answer answer(byte[] query, Transport transport) {
        Message q;
        try {
            q = new Message(query);
        } catch (IOException | RuntimeException e) {
            return formerr(query);
        }
        Header qh = q.getHeader();
        if (qh.getFlag(Flags.QR)) {
            return null;
        }
        Message r = new Message(qh.getID());
        Header rh = r.getHeader();
        rh.setFlag(Flags.QR);
        if (qh.getFlag(Flags.RD)) {
            rh.setFlag(Flags.RD);
        }
        rh.setOpcode(qh.getOpcode());
        Record question = q.getQuestion();
        if (question != null) {
            r.addRecord(question, Section.QUESTION);
        }
        int qtype = question == null ? 0 : question.getType();
        if (qh.getOpcode() != Opcode.QUERY) {
            rh.setRcode(Rcode.NOTIMP);
            return finish(r, q, qtype, transport);
        }
        if (question == null || qh.getCount(Section.QUESTION) != 1 || qh.getCount(Section.ANSWER) != 0
                || qh.getCount(Section.AUTHORITY) != 0) {
            rh.setRcode(Rcode.FORMERR);
            return finish(r, q, qtype, transport);
        }
        OPTRecord opt = q.getOPT();
        if (opt != null && opt.getVersion() != 0) {
            rh.setRcode(Rcode.BADVERS & 0xf);
            r.addRecord(new OPTRecord(MAX_UDP, Rcode.BADVERS >> 4, 0, 0), Section.ADDITIONAL);
            return new Answer(r.toWire(512), qtype, Rcode.BADVERS, false);
        }
        Name qname = question.getName();
        int qclass = question.getDClass();
        if (!qname.subdomain(zone) || (qclass != DClass.IN && qclass != DClass.ANY)) {
            rh.setRcode(Rcode.REFUSED);
            return finish(r, q, qtype, transport);
        }
        rh.setFlag(Flags.AA);
        resolve(r, ZoneData.lower(qname), qtype, data());
        return finish(r, q, qtype, transport);
    }

    private void resolve(Message r, Name name, int qtype, ZoneData d) {
        Name lowerZone = ZoneData.lower(zone);
        if (name.equals(lowerZone)) {
            switch (qtype) {
                case Type.A -> addShuffled(r, d.apexA);
                case Type.AAAA -> addShuffled(r, d.apexAAAA);
                case Type.NS -> {
                    d.ns.forEach(rec -> r.addRecord(rec, Section.ANSWER));
                    glue(r, d);
                    return;
                }
                case Type.SOA, Type.ANY -> r.addRecord(d.soa, Section.ANSWER); // ANY: a minimal answer (RFC 8482)
                default -> { }
            }
            if (r.getSection(Section.ANSWER).isEmpty()) {
                r.addRecord(d.soa, Section.AUTHORITY);
            }
            return;
        }
        if (alias != null && name.equals(alias)) {
            r.addRecord(new CNAMERecord(alias, DClass.IN, settings.nodeTtl(), zone), Section.ANSWER);
            if (qtype == Type.A) {
                addShuffled(r, d.apexA);
            } else if (qtype == Type.AAAA) {
                addShuffled(r, d.apexAAAA);
            }
            return;
        }
        List<Record> a = d.nodeA.get(name);
        List<Record> aaaa = d.nodeAAAA.get(name);
        if (a == null && inZoneNs.contains(name)) {
            a = renamed(d.apexA, name);
            aaaa = renamed(d.apexAAAA, name);
        }
        if (a == null) {
            r.getHeader().setRcode(Rcode.NXDOMAIN);
            r.addRecord(d.soa, Section.AUTHORITY);
            return;
        }
        List<Record> answer = switch (qtype) {
            case Type.A -> a;
            case Type.AAAA -> aaaa;
            case Type.ANY -> a.isEmpty() ? aaaa : a;
            default -> List.of();
        };
        if (answer.isEmpty()) {
            r.addRecord(d.soa, Section.AUTHORITY);
        }
        answer.forEach(rec -> r.addRecord(rec, Section.ANSWER));
    }

    private void glue(Message r, ZoneData d) {
        for (Name ns : inZoneNs) {
            renamed(d.apexA, ns).forEach(rec -> r.addRecord(rec, Section.ADDITIONAL));
            renamed(d.apexAAAA, ns).forEach(rec -> r.addRecord(rec, Section.ADDITIONAL));
        }
    }

    private static List<Record> renamed(List<? extends Record> records, Name name) {
        List<Record> out = new ArrayList<>(records.size());
        for (Record rec : records) {
            out.add(rec.withName(name));
        }
        return out;
    }

    private void addShuffled(Message r, List<? extends Record> records) {
        int n = records.size();
        if (n == 0) {
            return;
        }
        List<Record> copy = new ArrayList<>(records);
        Collections.shuffle(copy, ThreadLocalRandom.current());
        for (int i = 0; i < Math.min(n, settings.maxAnswers()); i++) {
            r.addRecord(copy.get(i), Section.ANSWER);
        }
    }

    private Answer finish(Message r, Message q, int qtype, Transport transport) {
        int limit = MAX_TCP;
        OPTRecord opt = q.getOPT();
        if (opt != null) {
            r.addRecord(new OPTRecord(MAX_UDP, 0, 0), Section.ADDITIONAL);
        }
        if (transport == Transport.UDP) {
            limit = opt == null ? 512 : Math.max(512, Math.min(opt.getPayloadSize(), MAX_UDP));
        }
        byte[] wire = r.toWire(limit);
        boolean truncated = transport == Transport.UDP && (wire[2] & 0x02) != 0;
        return new Answer(wire, qtype, r.getHeader().getRcode(), truncated);
    }

    /** FORMERR for a query dnsjava cannot parse: the ID and, if it can be read, the question are echoed. */
    private static Answer formerr(byte[] query) {
        if (query.length < Header.LENGTH) {
            return null;
        }
        if ((query[2] & 0x80) != 0) {
            return null; // a response: never answer it
        }
        byte[] head = new byte[Header.LENGTH];
        System.arraycopy(query, 0, head, 0, Header.LENGTH);
        Header h;
        try {
            h = new Header(head);
        } catch (IOException e) {
            return null;
        }
        Message r = new Message(h.getID());
        r.getHeader().setFlag(Flags.QR);
        r.getHeader().setOpcode(h.getOpcode());
        r.getHeader().setRcode(Rcode.FORMERR);
        int qtype = 0;
        if (h.getCount(Section.QUESTION) >= 1 && query.length > Header.LENGTH) {
            try {
                byte[] rest = new byte[query.length - Header.LENGTH];
                System.arraycopy(query, Header.LENGTH, rest, 0, rest.length);
                Record question = Record.fromWire(rest, Section.QUESTION);
                r.addRecord(question, Section.QUESTION);
                qtype = question.getType();
            } catch (IOException | RuntimeException e) {
                // the question itself is unreadable: answer without it
            }
        }
        return new Answer(r.toWire(512), qtype, Rcode.FORMERR, false);
    }
}
