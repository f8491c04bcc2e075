package radiod.dns.zone;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;

import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/**
 * The zone's records for one cluster snapshot, built once per snapshot so that answering a query only
 * picks records. Names are kept in lower case for lookups.
 */
final class ZoneData {
    final ClusterSnapshot snapshot;
    final List<ARecord> apexA = new ArrayList<>();
    final List<AAAARecord> apexAAAA = new ArrayList<>();
    final Map<Name, List<Record>> nodeA = new HashMap<>();
    final Map<Name, List<Record>> nodeAAAA = new HashMap<>();
    final List<Record> ns = new ArrayList<>();
    final SOARecord soa;

    ZoneData(ClusterSnapshot snapshot, DnsSettings settings, Name zone, List<Name> nsNames, Name hostmaster) {
        this.snapshot = snapshot;
        for (NodeStatus node : snapshot.nodes().values()) {
            Name nodeName = relative(node.name(), zone);
            boolean serving = node.icecastUp() && !node.drained() && !snapshot.isDrained(node.name());
            List<Record> a = new ArrayList<>();
            List<Record> aaaa = new ArrayList<>();
            for (String literal : node.addresses()) {
                InetAddress ip = parse(literal);
                if (ip == null) {
                    continue;
                }
                if (ip.getAddress().length == 4) {
                    a.add(new ARecord(nodeName, DClass.IN, settings.nodeTtl(), ip));
                    if (serving) {
                        apexA.add(new ARecord(zone, DClass.IN, settings.nodeTtl(), ip));
                    }
                } else {
                    aaaa.add(new AAAARecord(nodeName, DClass.IN, settings.nodeTtl(), ip));
                    if (serving) {
                        apexAAAA.add(new AAAARecord(zone, DClass.IN, settings.nodeTtl(), ip));
                    }
                }
            }
            nodeA.put(lower(nodeName), a);
            nodeAAAA.put(lower(nodeName), aaaa);
        }
        for (Name n : nsNames) {
            ns.add(new NSRecord(zone, DClass.IN, settings.zoneTtl(), n));
        }
        long serial = Math.max(1, snapshot.revision()) & 0xffffffffL;
        soa = new SOARecord(zone, DClass.IN, settings.zoneTtl(), nsNames.get(0), hostmaster, serial, 3600, 600,
                604800, settings.nodeTtl());
    }

    static Name relative(String label, Name zone) {
        try {
            return Name.concatenate(Name.fromString(label), zone);
        } catch (Exception e) {
            throw new IllegalArgumentException("bad name " + label, e);
        }
    }

    static Name lower(Name n) {
        return n.canonicalize();
    }

    private static InetAddress parse(String literal) {
        try {
            if (!literal.matches("[0-9A-Fa-f:.]+")) {
                return null; // never resolve names here
            }
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
