package radiod.cluster.tls;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The TLS part of a cluster snapshot: the certificate and its key, the ACME duty's holder, status and challenges, and
 * an outstanding renewal request. {@link #toString()} never shows the key.
 *
 * @param certificate         the cluster's certificate, if one is stored (and readable)
 * @param certificateRevision the etcd revision it was written at (0 without one)
 * @param key                 its private key; always absent in what radioctl reads (it may not read it)
 * @param holder              the node holding the ACME duty
 * @param status              the duty's last attempt
 * @param challenges          DNS-01 challenge records by id
 * @param renew               the last renewal request, if any
 * @param renewRevision       the etcd revision it was written at (0 without one)
 */
public record TlsState(Optional<TlsCertificate> certificate, long certificateRevision, Optional<TlsKey> key,
                       Optional<AcmeHolder> holder, Optional<AcmeStatus> status, Map<String, AcmeChallenge> challenges,
                       Optional<RenewRequest> renew, long renewRevision) {
    public static final TlsState NONE = new TlsState(Optional.empty(), 0, Optional.empty(), Optional.empty(),
            Optional.empty(), Map.of(), Optional.empty(), 0);

    public TlsState {
        certificate = Objects.requireNonNull(certificate);
        key = Objects.requireNonNull(key);
        holder = Objects.requireNonNull(holder);
        status = Objects.requireNonNull(status);
        challenges = Map.copyOf(challenges);
        renew = Objects.requireNonNull(renew);
    }

    /** Whether a renewal request is newer than the certificate (or there is no certificate to be newer than). */
    public boolean renewRequested() {
        return renew.isPresent() && renewRevision > certificateRevision;
    }

    /** The challenge values by owner name (lower case, no final dot), in id order. */
    public Map<String, List<String>> challengeValues() {
        Map<String, List<String>> out = new java.util.TreeMap<>();
        new java.util.TreeMap<>(challenges).values().forEach(c ->
                out.computeIfAbsent(c.host(), h -> new java.util.ArrayList<>()).add(c.value()));
        return out;
    }

    @Override
    public String toString() {
        return "TlsState[certificate=" + certificate.map(c -> c.names() + " serial " + c.serial()).orElse("none")
                + ", key=" + (key.isPresent() ? "***" : "none") + ", holder=" + holder.map(AcmeHolder::node).orElse("none")
                + ", status=" + status.orElse(null) + ", challenges=" + challenges.keySet() + ", renewRevision="
                + renewRevision + "]";
    }
}
