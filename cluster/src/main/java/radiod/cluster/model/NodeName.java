package radiod.cluster.model;

import java.util.regex.Pattern;

/** Node names are DNS labels, so that {@code <node>.<zone>} is a valid name. */
public final class NodeName {
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    private NodeName() {
    }

    /** Returns the name if valid, else throws with what is allowed. */
    public static String validate(String name) {
        if (name == null || !LABEL.matcher(name).matches()) {
            throw new IllegalArgumentException("node name " + (name == null ? "(missing)" : "'" + name + "'")
                    + " is not valid: use 1-63 lowercase letters, digits and inner hyphens (a DNS label)");
        }
        return name;
    }
}
