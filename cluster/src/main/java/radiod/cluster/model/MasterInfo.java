package radiod.cluster.model;

import java.util.List;
import java.util.Objects;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * The value of the {@code master} key: who holds the sources. Written once by the winner of the
 * election, bound to its lease.
 */
public record MasterInfo(String name, List<String> addresses, int icecastPort, int sourcePort, int httpPort,
                         long electedAt) {
    public MasterInfo {
        NodeName.validate(name);
        addresses = List.copyOf(Objects.requireNonNullElse(addresses, List.of()));
        if (addresses.isEmpty()) {
            throw new IllegalArgumentException("master " + name + " has no address");
        }
        Ports.check("icecastPort", icecastPort);
        Ports.check("sourcePort", sourcePort);
        Ports.check("httpPort", httpPort);
    }

    @JsonIgnore
    public String address() {
        return addresses.get(0);
    }
}
