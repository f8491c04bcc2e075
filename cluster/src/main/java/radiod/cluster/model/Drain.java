package radiod.cluster.model;

import java.util.Objects;

/** An operator's request, at {@code drain/<node>}, that a node take no new listeners and no mastership. */
public record Drain(String reason, long since) {
    public Drain {
        reason = Objects.requireNonNullElse(reason, "");
    }
}
