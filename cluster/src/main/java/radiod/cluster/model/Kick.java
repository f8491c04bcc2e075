package radiod.cluster.model;

import java.util.Objects;

/**
 * An operator's request, at {@code kicks/<mount>}, that the mount's encoder be disconnected wherever it is
 * connected. The key lives on a short lease; a node closes the encoders of that mount it took before the key was
 * written (by etcd revision), so an encoder that reconnects afterwards is not kicked again.
 *
 * @param by who asked
 * @param at when, epoch milliseconds
 */
public record Kick(String by, long at) {
    public Kick {
        by = Objects.requireNonNullElse(by, "");
    }
}
