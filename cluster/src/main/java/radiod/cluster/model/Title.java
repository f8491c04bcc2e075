package radiod.cluster.model;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A mount's current song title, at {@code titles/<mount>}: set by its encoder's metadata update (on any node) or by
 * an operator, read by every node's listeners (ICY {@code StreamTitle}), status pages and radioctl.
 *
 * @param title   the title as listeners see it (UTF-8, no control characters, at most {@value #MAX_BYTES} bytes)
 * @param session the source session it was sent for, or empty when set by hand; when that session's encoder leaves,
 *                the title goes with it. {@link #SOME_ENCODER} when the node that took the update knew no session of
 *                the mount yet: the title goes once no node holds an encoder of the mount
 * @param by      who set it: the node that took the update, or {@code radioctl}
 * @param at      when, epoch milliseconds
 */
public record Title(String title, String session, String by, long at) {
    /** ICY carries at most 4080 bytes of metadata; a title is kept well inside that. */
    public static final int MAX_BYTES = 1024;
    /**
     * The session of an encoder's title whose node knew none of the mount's yet (its encoder had just connected to
     * another node): never a real session's id, which is {@code <address>-<time>-<n>}.
     */
    public static final String SOME_ENCODER = "?";

    public Title {
        title = Objects.requireNonNullElse(title, "");
        session = Objects.requireNonNullElse(session, "");
        by = Objects.requireNonNullElse(by, "");
        String problem = problem(title);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /** Why {@code title} cannot be a title, or null when it can. */
    public static String problem(String title) {
        if (title.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            return "title longer than " + MAX_BYTES + " bytes";
        }
        int[] points = title.codePoints().toArray();
        for (int i = 0; i < points.length; i++) {
            int type = Character.getType(points[i]);
            if (type == Character.CONTROL || type == Character.SURROGATE || type == Character.UNASSIGNED
                    || points[i] == 0xfffd) {
                return "title contains a control character or binary data (at character " + i + ")";
            }
        }
        return null;
    }
}
