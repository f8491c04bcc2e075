package radiod.dns.zone;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.xbill.DNS.Address;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.HINFORecord;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/**
 * The zone's records for one cluster snapshot, rendered once so that answering a query only copies bytes.
 * Records are kept as "tails" (type, class, TTL, length, data) and get their owner name at answer time, as a
 * compression pointer into the question: that keeps the asker's letter case (0x20) in the answer.
 * Names are looked up by their wire form, ignoring ASCII case.
 */
final class ZoneRecords {
    static final int APEX = 0;
    static final int ALIAS = 1;
    /** A name with fixed records: a node, a nameserver with fixed addresses. */
    static final int HOST = 2;
    /** A nameserver name that answers with every node: shuffled and capped like the apex. */
    static final int POOL = 3;
    /** An empty non-terminal: exists (NODATA), has no records. */
    static final int EMPTY = 4;
    /** An ACME DNS-01 challenge name: TXT records only. */
    static final int CHALLENGE = 5;
    /** TTL of the challenge TXT records: short, so that a retried validation never sees an old value for long. */
    static final int CHALLENGE_TTL = 5;

    private static final byte[][] NONE = new byte[0][];

    /** A name of the zone and its address records (and TXT records, for an ACME challenge name). */
    static final class Entry {
        final int kind;
        final byte[][] a;
        final byte[][] aaaa;
        final byte[][] txt;
        /**
         * Answers already rendered at this name, by {@link Rendered#slot(int) type slot}; filled on first use and
         * dropped with this snapshot's records. Written without locks: an answer is immutable (final fields), and
         * two threads rendering the same one at once both get a correct one.
         */
        final Rendered[] rendered = new Rendered[Rendered.SLOTS];

        Entry(int kind, byte[][] a, byte[][] aaaa) {
            this(kind, a, aaaa, NONE);
        }

        Entry(int kind, byte[][] a, byte[][] aaaa, byte[][] txt) {
            this.kind = kind;
            this.a = a;
            this.aaaa = aaaa;
            this.txt = txt;
        }
    }

    final ClusterSnapshot snapshot;
    /** The zone's name in lower-case wire form. */
    final byte[] zoneWire;
    final Entry apex;
    final byte[][] ns;
    final byte[] soa;
    final byte[] soaNegative;
    final byte[] cname;
    final byte[] hinfo;
    /** Complete A/AAAA records (owner included) of the in-zone nameservers, and how many. */
    final byte[] glue;
    final int glueCount;
    final int maxAnswers;
    private final byte[][] keys;
    private final Entry[] entries;
    private final int mask;

    ZoneRecords(DnsSettings settings, ClusterSnapshot snapshot) {
        this.snapshot = snapshot;
        this.maxAnswers = settings.maxAnswers();
        Name zone = name(settings.zone());
        this.zoneWire = zone.toWire();
        int nodeTtl = settings.nodeTtl();
        int zoneTtl = settings.zoneTtl();

        Set<Ip> live = new LinkedHashSet<>();
        Set<Ip> all = new LinkedHashSet<>();
        Map<String, Set<Ip>> byNode = new LinkedHashMap<>();
        for (NodeStatus node : snapshot.nodes().values()) {
            Set<Ip> ips = new LinkedHashSet<>();
            for (String literal : node.addresses()) {
                Ip ip = Ip.parse(literal);
                if (ip != null) {
                    ips.add(ip);
                }
            }
            byNode.put(node.name(), ips);
            all.addAll(ips);
            if (node.icecastUp() && !node.drained() && !snapshot.isDrained(node.name())) {
                live.addAll(ips);
            }
        }

        Map<Key, Entry> names = new LinkedHashMap<>();
        apex = new Entry(APEX, tails(live, 4, nodeTtl), tails(live, 16, nodeTtl));
        names.put(new Key(zoneWire), apex);
        if (settings.alias() != null) {
            names.put(new Key(name(settings.alias() + "." + settings.zone()).toWire()), new Entry(ALIAS, NONE, NONE));
        }
        List<byte[]> nsTails = new ArrayList<>();
        ByteList glueBytes = new ByteList();
        int glued = 0;
        for (DnsSettings.NameServer server : settings.nameservers()) {
            Name nsName = name(server.name());
            nsTails.add(tail(new NSRecord(zone, DClass.IN, zoneTtl, nsName), zone));
            if (!DnsSettings.inZone(server.name(), settings.zone())) {
                continue;
            }
            Entry entry;
            // A nameserver named after a node (Ansible names every radiod node's <name>.<zone>) is that node: its
            // name keeps answering that node's addresses (HTTPS redirects name it), and while it is in the view the
            // glue is its own. Other names without addresses follow the cluster.
            Set<Ip> node = byNode.get(server.name().substring(0, Math.max(0,
                    server.name().length() - settings.zone().length() - 1)));
            if (server.addresses().isEmpty() && node != null && !node.isEmpty()) {
                entry = new Entry(HOST, tails(node, 4, nodeTtl), tails(node, 16, nodeTtl));
            } else if (server.addresses().isEmpty()) {
                entry = new Entry(POOL, tails(all, 4, nodeTtl), tails(all, 16, nodeTtl));
            } else {
                Set<Ip> fixed = new LinkedHashSet<>();
                server.addresses().forEach(literal -> fixed.add(Ip.parse(literal)));
                entry = new Entry(HOST, tails(fixed, 4, zoneTtl), tails(fixed, 16, zoneTtl));
            }
            byte[] owner = nsName.toWire();
            if (names.putIfAbsent(new Key(owner), entry) == null) {
                glued += glue(glueBytes, owner, entry.a, maxAnswers);
                glued += glue(glueBytes, owner, entry.aaaa, maxAnswers);
            }
        }
        ns = nsTails.toArray(NONE);
        glue = glueBytes.toArray();
        glueCount = glued;
        for (Map.Entry<String, Set<Ip>> node : byNode.entrySet()) {
            byte[] key = wireOrNull(node.getKey() + "." + settings.zone());
            if (key != null) { // null: a node label too long for this zone (over 255 bytes); it only has no name
                names.putIfAbsent(new Key(key),
                        new Entry(HOST, tails(node.getValue(), 4, nodeTtl), tails(node.getValue(), 16, nodeTtl)));
            }
        }
        // ACME DNS-01 challenges (radiod's own, from etcd): TXT records at _acme-challenge names inside the zone; a name
        // can hold several values at once (the apex's and the wildcard's). Names outside the zone are not ours to answer.
        for (Map.Entry<String, List<String>> c : snapshot.tls().challengeValues().entrySet()) {
            byte[] key = DnsSettings.inZone(c.getKey(), settings.zone()) ? wireOrNull(c.getKey()) : null;
            if (key == null) {
                continue;
            }
            byte[][] txt = txtTails(c.getValue());
            Entry old = names.get(new Key(key));
            names.put(new Key(key), old == null ? new Entry(CHALLENGE, NONE, NONE, txt)
                    : new Entry(old.kind, old.a, old.aaaa, txt));
        }
        for (Key key : List.copyOf(names.keySet())) {
            int p = 0;
            while (key.wire.length - p > zoneWire.length) {
                if (p > 0) {
                    byte[] ancestor = new byte[key.wire.length - p];
                    System.arraycopy(key.wire, p, ancestor, 0, ancestor.length);
                    names.putIfAbsent(new Key(ancestor), new Entry(EMPTY, NONE, NONE));
                }
                p += (key.wire[p] & 0xff) + 1;
            }
        }

        cname = tail(new CNAMERecord(zone, DClass.IN, zoneTtl, zone), zone);
        hinfo = tail(new HINFORecord(zone, DClass.IN, zoneTtl, "RFC8482", ""), zone);
        DnsSettings.Soa s = settings.soa();
        long serial = s.serial();
        if (serial == DnsSettings.Soa.SERIAL_FROM_CONTENT) {
            serial = contentSerial(names, ns, soaTail(s, zone, zoneTtl, 0),
                    soaTail(s, zone, Math.min(zoneTtl, s.minimum()), 0), cname, hinfo, maxAnswers);
        }
        soa = soaTail(s, zone, zoneTtl, serial);
        soaNegative = soaTail(s, zone, Math.min(zoneTtl, s.minimum()), serial);

        int size = Integer.highestOneBit(Math.max(4, names.size() * 2 - 1)) << 1;
        keys = new byte[size][];
        entries = new Entry[size];
        mask = size - 1;
        for (Map.Entry<Key, Entry> e : names.entrySet()) {
            byte[] k = e.getKey().wire;
            int i = hash(k, 0, k.length) & mask;
            while (keys[i] != null) {
                i = (i + 1) & mask;
            }
            keys[i] = k;
            entries[i] = e.getValue();
        }
    }

    private static byte[] soaTail(DnsSettings.Soa s, Name zone, int ttl, long serial) {
        return tail(new SOARecord(zone, DClass.IN, ttl, name(s.mname()), name(s.rname()), serial, s.refresh(),
                s.retry(), s.expire(), s.minimum()), zone);
    }

    /**
     * The serial of a zone with these records: the first 32 bits of a SHA-256 of everything an answer can hold
     * but the serial itself (every name with its kind and its address records, sorted, so that neither the
     * snapshot's map order nor a node's address order counts; the NS, SOA-without-serial, CNAME and HINFO
     * records; the answer cap, which decides the glue), 0 mapped to 1. So it is the same on every node whose view
     * gives the same answers, whatever its etcd revision, and it changes when an answer changes. It does not
     * increase: see dns/README.md for why that is safe here (no secondaries, no zone transfers).
     */
    static long contentSerial(Map<Key, Entry> names, byte[][] ns, byte[] soaWithoutSerial, byte[] soaNegative,
                              byte[] cname, byte[] hinfo, int maxAnswers) {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
        List<Map.Entry<Key, Entry>> sorted = new ArrayList<>(names.entrySet());
        sorted.sort((x, y) -> Arrays.compareUnsigned(x.getKey().wire, y.getKey().wire));
        for (Map.Entry<Key, Entry> e : sorted) {
            item(digest, e.getKey().wire);
            digest.update((byte) e.getValue().kind);
            set(digest, e.getValue().a);
            set(digest, e.getValue().aaaa);
            if (e.getValue().txt.length > 0) {
                // Only when there are any, so that a zone without challenges keeps the serial it always had.
                digest.update((byte) 0xfe);
                set(digest, e.getValue().txt);
            }
        }
        digest.update((byte) 0xff); // the end of the names
        set(digest, ns);
        item(digest, soaWithoutSerial);
        item(digest, soaNegative);
        item(digest, cname);
        item(digest, hinfo);
        digest.update((byte) maxAnswers);
        byte[] h = digest.digest();
        long serial = ((h[0] & 0xffL) << 24) | ((h[1] & 0xffL) << 16) | ((h[2] & 0xffL) << 8) | (h[3] & 0xffL);
        return serial == 0 ? 1 : serial;
    }

    /** Records as a set: sorted, each length-prefixed, preceded by their count. */
    private static void set(MessageDigest digest, byte[][] records) {
        byte[][] copy = records.clone();
        Arrays.sort(copy, Arrays::compareUnsigned);
        digest.update(ByteBuffer.allocate(4).putInt(copy.length).array());
        for (byte[] r : copy) {
            item(digest, r);
        }
    }

    private static void item(MessageDigest digest, byte[] b) {
        digest.update(ByteBuffer.allocate(4).putInt(b.length).array());
        digest.update(b);
    }

    /** The entry for the name at {@code wire[start, end)}, ignoring ASCII case; null if the zone has no such name. */
    Entry lookup(byte[] wire, int start, int end) {
        int i = hash(wire, start, end) & mask;
        byte[] k;
        while ((k = keys[i]) != null) {
            if (equalsIgnoreCase(k, wire, start, end)) {
                return entries[i];
            }
            i = (i + 1) & mask;
        }
        return null;
    }

    static boolean equalsIgnoreCase(byte[] key, byte[] wire, int start, int end) {
        if (key.length != end - start) {
            return false;
        }
        for (int i = 0; i < key.length; i++) {
            if (key[i] != lower(wire[start + i])) {
                return false;
            }
        }
        return true;
    }

    /** Label lengths are at most 63, below 'A', so lowering a whole wire name never changes one. */
    static byte lower(byte b) {
        return b >= 'A' && b <= 'Z' ? (byte) (b + 32) : b;
    }

    private static int hash(byte[] b, int start, int end) {
        int h = 0x811c9dc5;
        for (int i = start; i < end; i++) {
            h = (h ^ (lower(b[i]) & 0xff)) * 16777619;
        }
        return h ^ (h >>> 15);
    }

    private static int glue(ByteList out, byte[] owner, byte[][] tails, int max) {
        int n = Math.min(max, tails.length);
        for (int i = 0; i < n; i++) {
            out.add(owner);
            out.add(tails[i]);
        }
        return n;
    }

    /** A/AAAA tails for the addresses of one family (4 or 16 bytes). */
    private static byte[][] tails(Set<Ip> ips, int family, int ttl) {
        List<byte[]> out = new ArrayList<>();
        for (Ip ip : ips) {
            if (ip.bytes.length != family) {
                continue;
            }
            byte[] t = new byte[10 + family];
            int type = family == 4 ? Type.A : Type.AAAA;
            t[0] = (byte) (type >> 8);
            t[1] = (byte) type;
            t[3] = DClass.IN;
            t[4] = (byte) (ttl >>> 24);
            t[5] = (byte) (ttl >>> 16);
            t[6] = (byte) (ttl >>> 8);
            t[7] = (byte) ttl;
            t[9] = (byte) family;
            System.arraycopy(ip.bytes, 0, t, 10, family);
            out.add(t);
        }
        return out.toArray(NONE);
    }

    /** TXT tails, one single-string record per value, values of more than 255 bytes left out. */
    private static byte[][] txtTails(List<String> values) {
        List<byte[]> out = new ArrayList<>();
        for (String v : new LinkedHashSet<>(values)) {
            byte[] text = v.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            if (text.length > 255) {
                continue;
            }
            int rdlength = text.length + 1;
            byte[] t = new byte[10 + rdlength];
            t[0] = (byte) (Type.TXT >> 8);
            t[1] = (byte) Type.TXT;
            t[3] = DClass.IN;
            t[4] = (byte) (CHALLENGE_TTL >>> 24);
            t[5] = (byte) (CHALLENGE_TTL >>> 16);
            t[6] = (byte) (CHALLENGE_TTL >>> 8);
            t[7] = (byte) CHALLENGE_TTL;
            t[8] = (byte) (rdlength >>> 8);
            t[9] = (byte) rdlength;
            t[10] = (byte) text.length;
            System.arraycopy(text, 0, t, 11, text.length);
            out.add(t);
        }
        return out.toArray(NONE);
    }

    /** The record without its owner name, rendered by dnsjava without compression. */
    private static byte[] tail(Record r, Name owner) {
        byte[] full = r.toWire(Section.ANSWER);
        int ownerLength = owner.length();
        byte[] t = new byte[full.length - ownerLength];
        System.arraycopy(full, ownerLength, t, 0, t.length);
        return t;
    }

    private static byte[] wireOrNull(String dotted) {
        try {
            return Name.fromString(dotted + ".").toWire();
        } catch (TextParseException e) {
            return null;
        }
    }

    private static Name name(String dotted) {
        try {
            return Name.fromString(dotted + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException("not a domain name: " + dotted, e);
        }
    }

    /** An address in network byte order, compared by value. */
    private record Ip(byte[] bytes) {
        /** Literals only: a host name here is skipped, never looked up. */
        static Ip parse(String literal) {
            if (literal == null) {
                return null;
            }
            byte[] b = Address.toByteArray(literal, Address.IPv4);
            if (b == null) {
                b = Address.toByteArray(literal, Address.IPv6);
            }
            return b == null ? null : new Ip(b);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Ip other && java.util.Arrays.equals(bytes, other.bytes);
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(bytes);
        }
    }

    /** A wire name as a map key, compared by value. */
    private record Key(byte[] wire) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key other && java.util.Arrays.equals(wire, other.wire);
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(wire);
        }
    }

    private static final class ByteList {
        private byte[] buf = new byte[64];
        private int size;

        void add(byte[] b) {
            if (size + b.length > buf.length) {
                buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, size + b.length));
            }
            System.arraycopy(b, 0, buf, size, b.length);
            size += b.length;
        }

        byte[] toArray() {
            return java.util.Arrays.copyOf(buf, size);
        }
    }
}
