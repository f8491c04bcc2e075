package radiod.cluster.mounts;

import java.util.Objects;

/**
 * A value as read from etcd together with the key's mod revision, which a later compare-and-swap
 * ({@link MountStore#update}) names to be sure nobody changed the value in between.
 */
public record Versioned<T>(T value, long modRevision) {
    public Versioned {
        Objects.requireNonNull(value, "value");
        if (modRevision < 1) {
            throw new IllegalArgumentException("mod revision must be positive, got " + modRevision);
        }
    }
}
