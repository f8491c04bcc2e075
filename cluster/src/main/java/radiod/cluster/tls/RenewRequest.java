package radiod.cluster.tls;

import java.util.Objects;

/**
 * An operator's request, at {@code tls/renew}, that the certificate be renewed now. It is outstanding while its etcd
 * revision is newer than the certificate's.
 *
 * @param by who asked
 * @param at when, epoch milliseconds
 */
public record RenewRequest(String by, long at) {
    public RenewRequest {
        by = Objects.requireNonNullElse(by, "");
    }
}
