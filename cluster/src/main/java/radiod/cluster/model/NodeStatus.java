package radiod.cluster.model;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * What a node tells the cluster about itself, published under its lease at {@code nodes/<name>}
 * about once a second.
 *
 * @param name             node name, a DNS label
 * @param addresses        the node's public IP addresses (v4 or v6 literals), the first is primary
 * @param httpPort         listener HTTP port (redirects, passthrough, status, metrics)
 * @param sourcePort       source front port (encoders)
 * @param icecastPort      the node's own Icecast's port (on the node's loopback, for its own radiod only)
 * @param dnsPort          authoritative DNS port
 * @param icecastUp        whether the local Icecast answered its last status poll
 * @param drained          whether the operator drained this node (no new listeners, no mastership)
 * @param master           whether this node acts as master right now, by its own account
 * @param listeners        listeners on the local Icecast, all mounts
 * @param listenersByMount listeners per mount that is live on the local Icecast; a mount absent here
 *                         is not live on this node
 * @param bandwidthBps     outgoing stream bandwidth in use, bits per second
 * @param maxBandwidthBps  configured bandwidth limit, bits per second; 0 means no limit
 * @param maxListeners     configured listener limit; 0 means no limit
 * @param transcoders      transcoded mounts whose liquidsoap runs on this node
 * @param version          radiod version
 * @param updatedAt        publication time, epoch milliseconds
 * @param sources          encoders this node's source front holds: their source session, by mount path
 * @param httpEndpoint     where the node's HTTP port can be reached ({@code host:port}, {@link Endpoint}): the address
 *                         it is bound to, which need not be the first of {@code addresses}; empty when not known (a
 *                         node older than this field, or a wildcard bind no published address is covered by)
 * @param instance         random id of the process publishing this status: a restarted node has a new one; empty
 *                         from a node older than this field
 */
public record NodeStatus(String name, List<String> addresses, int httpPort, int sourcePort, int icecastPort,
                         int dnsPort, boolean icecastUp, boolean drained, boolean master, int listeners,
                         Map<String, Integer> listenersByMount, long bandwidthBps, long maxBandwidthBps,
                         int maxListeners, List<String> transcoders, String version, long updatedAt,
                         Map<String, String> sources, String httpEndpoint, String instance) {
    @JsonCreator
    public NodeStatus {
        NodeName.validate(name);
        addresses = Addresses.check("node " + name, addresses);
        Ports.check("httpPort", httpPort);
        Ports.check("sourcePort", sourcePort);
        Ports.check("icecastPort", icecastPort);
        Ports.check("dnsPort", dnsPort);
        listenersByMount = Map.copyOf(Objects.requireNonNullElse(listenersByMount, Map.of()));
        transcoders = List.copyOf(Objects.requireNonNullElse(transcoders, List.of()));
        if (listeners < 0 || bandwidthBps < 0 || maxBandwidthBps < 0 || maxListeners < 0) {
            throw new IllegalArgumentException("node " + name + " has a negative count or limit");
        }
        version = Objects.requireNonNullElse(version, "");
        sources = Map.copyOf(Objects.requireNonNullElse(sources, Map.of()));
        httpEndpoint = Objects.requireNonNullElse(httpEndpoint, "");
        instance = Objects.requireNonNullElse(instance, "");
    }

    /** A status that does not say where its HTTP port listens nor which process it comes from. */
    public NodeStatus(String name, List<String> addresses, int httpPort, int sourcePort, int icecastPort,
                      int dnsPort, boolean icecastUp, boolean drained, boolean master, int listeners,
                      Map<String, Integer> listenersByMount, long bandwidthBps, long maxBandwidthBps,
                      int maxListeners, List<String> transcoders, String version, long updatedAt,
                      Map<String, String> sources) {
        this(name, addresses, httpPort, sourcePort, icecastPort, dnsPort, icecastUp, drained, master, listeners,
                listenersByMount, bandwidthBps, maxBandwidthBps, maxListeners, transcoders, version, updatedAt, sources,
                "", "");
    }

    /** A status that holds no encoder. */
    public NodeStatus(String name, List<String> addresses, int httpPort, int sourcePort, int icecastPort,
                      int dnsPort, boolean icecastUp, boolean drained, boolean master, int listeners,
                      Map<String, Integer> listenersByMount, long bandwidthBps, long maxBandwidthBps,
                      int maxListeners, List<String> transcoders, String version, long updatedAt) {
        this(name, addresses, httpPort, sourcePort, icecastPort, dnsPort, icecastUp, drained, master, listeners,
                listenersByMount, bandwidthBps, maxBandwidthBps, maxListeners, transcoders, version, updatedAt, Map.of());
    }

    /** The primary address, the one redirects and relays use. */
    @JsonIgnore
    public String address() {
        return addresses.get(0);
    }

    /** Where the node's HTTP port listens, if it said so in a form that can be read. */
    @JsonIgnore
    public Optional<Endpoint> http() {
        return Endpoint.parse(httpEndpoint);
    }

    /** Whether the mount is live (has a source or a connected relay) on this node's Icecast. */
    public boolean hasMount(String mount) {
        return listenersByMount.containsKey(mount);
    }
}
