package radiod.cluster.model;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * The value of the {@code master} key: who holds the sources. Written once by the winner of the
 * election, bound to its lease.
 */
public record MasterInfo(String name, List<String> addresses, int icecastPort, int sourcePort, int httpPort,
                         long electedAt) {
    public MasterInfo {
        NodeName.validate(name);
        addresses = Addresses.check("master " + name, addresses);
        Ports.check("icecastPort", icecastPort);
        Ports.check("sourcePort", sourcePort);
        Ports.check("httpPort", httpPort);
    }

    @JsonIgnore
    public String address() {
        return addresses.get(0);
    }

    /**
     * This master as node {@code node} dials it: at {@code ownAddress} (where that node's own ports answer) when the
     * master is that node itself, as published otherwise. A node's published address may be a NAT's, which the node
     * cannot reach from inside without hairpin NAT; its peers can.
     */
    public MasterInfo dialedBy(String node, String ownAddress) {
        if (node == null || ownAddress == null || !name.equals(node) || address().equals(ownAddress)) {
            return this;
        }
        return new MasterInfo(name, List.of(ownAddress), icecastPort, sourcePort, httpPort, electedAt);
    }
}
