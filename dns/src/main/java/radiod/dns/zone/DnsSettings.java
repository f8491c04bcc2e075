package radiod.dns.zone;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

import org.xbill.DNS.Address;
import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;

/**
 * How a node answers for the cluster's zone, and where it listens.
 *
 * <p>Nameservers: each entry is a name, optionally with fixed addresses:
 * {@code ns1.radio.example.org=192.0.2.1,2001:db8::1}. A nameserver name inside the zone answers A/AAAA (and is
 * given as glue in NS answers) with its fixed addresses when it has some, otherwise with the addresses of every
 * node in the cluster view (every node runs this server, so any node in the view can answer), shuffled, at most
 * {@code maxAnswers}. Give fixed addresses when they must match the glue registered in the parent zone; leave them
 * out and the default {@code ns1.<zone>} simply follows the cluster. Nameserver names outside the zone get no
 * glue and may not have addresses. A nameserver named after a node ({@code <node>.<zone>}, no fixed addresses)
 * answers with that node's addresses while it is in the view. The alias, and nameservers with fixed addresses, take
 * precedence over node names.
 *
 * @param zone        the cluster's zone, e.g. {@code radio.example.org}; stored in lower case, without the final dot
 * @param nameservers the zone's NS records; empty means {@code ns1.<zone>}
 * @param soa         the SOA record's fields
 * @param nodeTtl     TTL in seconds of the records that follow the cluster (apex, node names, nameserver names
 *                    without fixed addresses): short, so that a dead node is not handed out for long
 * @param zoneTtl     TTL in seconds of NS, SOA, the alias's CNAME and fixed nameserver addresses
 * @param maxAnswers  at most this many A (and as many AAAA) records in an answer for the apex
 * @param alias       a label answered as a CNAME to the apex (e.g. {@code stream}, giving
 *                    {@code stream.<zone> CNAME <zone>}, followed in the same answer by the apex's records);
 *                    null for none
 * @param bindAddress the IP address the UDP and TCP sockets bind to
 * @param port        the UDP and TCP port; 0 takes any free port (tests)
 */
public record DnsSettings(String zone, List<NameServer> nameservers, Soa soa, int nodeTtl, int zoneTtl,
                          int maxAnswers, String alias, String bindAddress, int port) {
    public static final int DEFAULT_NODE_TTL = 5;
    public static final int DEFAULT_ZONE_TTL = 3600;
    public static final int DEFAULT_MAX_ANSWERS = 8;

    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    public DnsSettings {
        if (zone == null || zone.isBlank()) {
            throw new IllegalArgumentException("dns.zone is required, e.g. radio.example.org");
        }
        zone = hostName("dns.zone", zone);
        nameservers = List.copyOf(Objects.requireNonNullElse(nameservers, List.of()));
        if (nameservers.isEmpty()) {
            nameservers = List.of(new NameServer("ns1." + zone, List.of()));
        }
        Set<String> seen = new HashSet<>();
        for (NameServer ns : nameservers) {
            if (!seen.add(ns.name())) {
                throw new IllegalArgumentException("dns.nameservers: " + ns.name() + " is listed twice");
            }
            if (!ns.addresses().isEmpty() && !inZone(ns.name(), zone)) {
                throw new IllegalArgumentException("dns.nameservers: " + ns.name() + " is outside the zone " + zone
                        + ": only names inside it can have addresses here");
            }
        }
        if (nodeTtl < 1 || nodeTtl > 3600) {
            throw new IllegalArgumentException("dns.ttl must be between 1 and 3600 seconds, got " + nodeTtl);
        }
        if (zoneTtl < 1 || zoneTtl > 604800) {
            throw new IllegalArgumentException("dns.zone_ttl must be between 1 and 604800 seconds, got " + zoneTtl);
        }
        if (maxAnswers < 1 || maxAnswers > 64) {
            throw new IllegalArgumentException("dns.max_answers must be between 1 and 64, got " + maxAnswers);
        }
        if (alias != null) {
            alias = alias.toLowerCase(Locale.ROOT);
            if (!LABEL.matcher(alias).matches()) {
                throw new IllegalArgumentException("dns.alias must be one DNS label (letters, digits, inner hyphens),"
                        + " e.g. stream, got '" + alias + "'");
            }
            if (seen.contains(alias + "." + zone)) {
                throw new IllegalArgumentException("dns.alias '" + alias + "' is also a nameserver name: pick another");
            }
        }
        soa = Objects.requireNonNullElseGet(soa, Soa::defaults);
        soa = soa.completedFor(zone, nameservers.get(0).name());
        if (bindAddress == null || bindAddress.isBlank()) {
            throw new IllegalArgumentException("dns.bind is required: an IP address such as 0.0.0.0 or 127.0.0.11");
        }
        if (Address.toByteArray(bindAddress, Address.IPv4) == null && Address.toByteArray(bindAddress, Address.IPv6) == null) {
            throw new IllegalArgumentException("dns.bind must be an IP address (not a host name), got '" + bindAddress + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("dns.port must be between 1 and 65535 (0: any free port), got " + port);
        }
    }

    /** The defaults for a zone: {@code ns1.<zone>}, TTLs 5 s and 1 h, 8 answers, no alias, {@code 0.0.0.0:53}. */
    public static DnsSettings defaults(String zone) {
        return new DnsSettings(zone, List.of(), Soa.defaults(), DEFAULT_NODE_TTL, DEFAULT_ZONE_TTL,
                DEFAULT_MAX_ANSWERS, null, "0.0.0.0", 53);
    }

    /** Nameservers from their specs, {@code name} or {@code name=address[,address…]}; empty means the default. */
    public DnsSettings withNameservers(List<String> specs) {
        List<NameServer> parsed = new ArrayList<>();
        List<String> list = Objects.requireNonNullElse(specs, List.of());
        for (int i = 0; i < list.size(); i++) {
            parsed.add(NameServer.parse("dns.nameservers[" + i + "]", list.get(i)));
        }
        return new DnsSettings(zone, parsed, soa, nodeTtl, zoneTtl, maxAnswers, alias, bindAddress, port);
    }

    public DnsSettings withSoa(Soa newSoa) {
        return new DnsSettings(zone, nameservers, newSoa, nodeTtl, zoneTtl, maxAnswers, alias, bindAddress, port);
    }

    public DnsSettings withNodeTtl(int seconds) {
        return new DnsSettings(zone, nameservers, soa, seconds, zoneTtl, maxAnswers, alias, bindAddress, port);
    }

    public DnsSettings withZoneTtl(int seconds) {
        return new DnsSettings(zone, nameservers, soa, nodeTtl, seconds, maxAnswers, alias, bindAddress, port);
    }

    public DnsSettings withMaxAnswers(int n) {
        return new DnsSettings(zone, nameservers, soa, nodeTtl, zoneTtl, n, alias, bindAddress, port);
    }

    public DnsSettings withAlias(String label) {
        return new DnsSettings(zone, nameservers, soa, nodeTtl, zoneTtl, maxAnswers, label, bindAddress, port);
    }

    public DnsSettings withListen(String address, int listenPort) {
        return new DnsSettings(zone, nameservers, soa, nodeTtl, zoneTtl, maxAnswers, alias, address, listenPort);
    }

    static boolean inZone(String name, String zone) {
        return name.equals(zone) || name.endsWith("." + zone);
    }

    /** A host name in lower case without the final dot, or an error naming the field. */
    static String hostName(String field, String value) {
        String name = value.strip().toLowerCase(Locale.ROOT);
        if (name.endsWith(".")) {
            name = name.substring(0, name.length() - 1);
        }
        if (name.isEmpty()) {
            throw new IllegalArgumentException(field + " must be a domain name such as radio.example.org, got '" + value + "'");
        }
        for (String label : name.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches() && !(label.startsWith("_") && LABEL.matcher(label.substring(1)).matches())) {
                throw new IllegalArgumentException(field + " must be a domain name such as radio.example.org (labels of"
                        + " letters, digits and inner hyphens, up to 63 characters each), got '" + value + "'");
            }
        }
        try {
            Name.fromString(name + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException(field + ": '" + value + "' is not a valid domain name: " + e.getMessage());
        }
        return name;
    }

    /**
     * One NS record of the zone.
     *
     * @param name      the nameserver's host name, lower case, no final dot
     * @param addresses fixed IPv4/IPv6 literals for an in-zone name; empty: the addresses of the cluster's nodes
     */
    public record NameServer(String name, List<String> addresses) {
        public NameServer {
            name = hostName("dns.nameservers", Objects.requireNonNullElse(name, ""));
            addresses = List.copyOf(Objects.requireNonNullElse(addresses, List.of()));
            for (String a : addresses) {
                if (Address.toByteArray(a, Address.IPv4) == null && Address.toByteArray(a, Address.IPv6) == null) {
                    throw new IllegalArgumentException("dns.nameservers: " + name + " has address '" + a
                            + "', which is not an IPv4 or IPv6 address");
                }
            }
        }

        /** {@code ns1.radio.example.org} or {@code ns1.radio.example.org=192.0.2.1,2001:db8::1}. */
        public static NameServer parse(String field, String spec) {
            if (spec == null || spec.isBlank()) {
                throw new IllegalArgumentException(field + " is empty: give a name, e.g. ns1.radio.example.org"
                        + " or ns1.radio.example.org=192.0.2.1");
            }
            int eq = spec.indexOf('=');
            String name = eq < 0 ? spec : spec.substring(0, eq);
            List<String> addresses = new ArrayList<>();
            if (eq >= 0) {
                for (String a : spec.substring(eq + 1).split(",")) {
                    if (!a.isBlank()) {
                        addresses.add(a.strip());
                    }
                }
                if (addresses.isEmpty()) {
                    throw new IllegalArgumentException(field + " '" + spec + "' has '=' but no address after it");
                }
            }
            try {
                return new NameServer(name, addresses);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(field + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * The SOA record's fields. A resolver caches a negative answer (NXDOMAIN, NODATA) for
     * {@code min(minimum, zoneTtl)} seconds, so {@code minimum} is short by default: a node that comes back is
     * seen soon.
     *
     * @param mname   the primary nameserver; null means the first nameserver
     * @param rname   the zone's contact as a name ({@code hostmaster.radio.example.org}) or a mail address
     *                ({@code hostmaster@radio.example.org}); null means {@code hostmaster.<zone>}
     * @param serial  {@link #SERIAL_FROM_CONTENT} (0, the default): derived from the zone's answers (a hash of
     *                them), so the same on every node whose view gives the same answers and changed only when an
     *                answer changes, never by a revision that touched nothing DNS answers (dns/README.md); any
     *                other value (1 to 4294967295) is used as is
     * @param refresh SOA refresh, seconds
     * @param retry   SOA retry, seconds
     * @param expire  SOA expire, seconds
     * @param minimum SOA minimum: the negative-caching TTL, seconds
     */
    public record Soa(String mname, String rname, long serial, int refresh, int retry, int expire, int minimum) {
        public static final long SERIAL_FROM_CONTENT = 0;

        public Soa {
            if (mname != null) {
                mname = hostName("dns.soa.mname", mname);
            }
            if (rname != null) {
                rname = mailbox(rname);
            }
            if (serial < 0 || serial > 0xffffffffL) {
                throw new IllegalArgumentException("dns.soa.serial must be 0 (derived from the answers) or 1 to 4294967295,"
                        + " got " + serial);
            }
            positive("dns.soa.refresh", refresh);
            positive("dns.soa.retry", retry);
            positive("dns.soa.expire", expire);
            if (minimum < 0 || minimum > 86400) {
                throw new IllegalArgumentException("dns.soa.minimum must be between 0 and 86400 seconds, got " + minimum);
            }
        }

        /** Serial from the answers, refresh 1 h, retry 10 min, expire 2 weeks, negative TTL 5 s. */
        public static Soa defaults() {
            return new Soa(null, null, SERIAL_FROM_CONTENT, 3600, 600, 1209600, 5);
        }

        Soa completedFor(String zone, String firstNameserver) {
            return new Soa(mname == null ? firstNameserver : mname, rname == null ? "hostmaster." + zone : rname,
                    serial, refresh, retry, expire, minimum);
        }

        private static String mailbox(String value) {
            int at = value.indexOf('@');
            if (at > 0) {
                String local = value.substring(0, at);
                if (local.contains(".")) {
                    throw new IllegalArgumentException("dns.soa.rname: the part before @ cannot contain a dot, got '"
                            + value + "'");
                }
                return hostName("dns.soa.rname", local + "." + value.substring(at + 1));
            }
            return hostName("dns.soa.rname", value);
        }

        private static void positive(String field, int value) {
            if (value < 1) {
                throw new IllegalArgumentException(field + " must be a positive number of seconds, got " + value);
            }
        }
    }
}
