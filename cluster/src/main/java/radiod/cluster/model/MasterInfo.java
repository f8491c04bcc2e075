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
}
