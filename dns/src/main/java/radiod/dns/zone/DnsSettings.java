package radiod.dns.zone;

import java.util.List;
import java.util.Objects;

import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;

/**
 * The zone radiod answers for and how.
 *
 * @param zone        the cluster's zone, e.g. {@code radio.example.org}
 * @param nameservers NS names of the zone; names inside the zone (e.g. {@code ns1.radio.example.org}) answer
 *                    with the addresses of every live node (every node is a nameserver) and are given as glue
 * @param nodeTtl     TTL of node records (apex, alias, node names), seconds: short, so a dead node is not
 *                    handed out for long
 * @param zoneTtl     TTL of NS and SOA records, seconds
 * @param maxAnswers  at most this many addresses per apex answer
 * @param alias       an extra label answered as a CNAME to the apex (e.g. {@code stream}); null for none
 * @param hostmaster  the SOA's responsible mailbox as a name, e.g. {@code hostmaster.radio.example.org}
 */
public record DnsSettings(String zone, List<String> nameservers, int nodeTtl, int zoneTtl, int maxAnswers, String alias,
                          String hostmaster) {
    public DnsSettings {
        if (zone == null || zone.isBlank()) {
            throw new IllegalArgumentException("dns.zone is required, e.g. radio.example.org");
        }
        zone = trimDot(zone);
        name("dns.zone", zone);
        nameservers = List.copyOf(Objects.requireNonNullElse(nameservers, List.of()));
        if (nameservers.isEmpty()) {
            nameservers = List.of("ns1." + zone);
        }
        nameservers = nameservers.stream().map(DnsSettings::trimDot).toList();
        for (String ns : nameservers) {
            name("dns.nameservers", ns);
        }
        if (nodeTtl < 1 || nodeTtl > 3600) {
            throw new IllegalArgumentException("dns.ttl must be between 1 and 3600 seconds, got " + nodeTtl);
        }
        if (zoneTtl < 1 || zoneTtl > 86400) {
            throw new IllegalArgumentException("dns zone TTL must be between 1 and 86400 seconds, got " + zoneTtl);
        }
        if (maxAnswers < 1 || maxAnswers > 64) {
            throw new IllegalArgumentException("dns.max_answers must be between 1 and 64, got " + maxAnswers);
        }
        if (alias != null && !alias.matches("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")) {
            throw new IllegalArgumentException("dns.alias must be one DNS label (e.g. stream), got '" + alias + "'");
        }
        hostmaster = trimDot(Objects.requireNonNullElse(hostmaster, "hostmaster." + zone));
        name("dns hostmaster", hostmaster);
    }

    public static DnsSettings of(String zone, List<String> nameservers, int nodeTtl, int maxAnswers, String alias) {
        return new DnsSettings(zone, nameservers, nodeTtl, 300, maxAnswers, alias, null);
    }

    private static String trimDot(String s) {
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    private static void name(String field, String value) {
        try {
            Name.fromString(value + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException(field + ": '" + value + "' is not a valid DNS name");
        }
        if (!value.matches("[A-Za-z0-9.-]+")) {
            throw new IllegalArgumentException(field + ": '" + value + "' is not a valid host name");
        }
    }
}
