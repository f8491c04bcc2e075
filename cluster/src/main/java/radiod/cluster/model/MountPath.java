package radiod.cluster.model;

import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Mount paths as listeners and encoders use them: {@code /live.mp3}. A leading slash, then segments
 * of letters, digits, dot, dash and underscore; no empty or dot-only segments; at most 100 characters;
 * nothing that collides with radiod's own paths.
 */
public final class MountPath {
    public static final int MAX_LENGTH = 100;
    private static final Pattern PATH = Pattern.compile("(/[A-Za-z0-9][A-Za-z0-9._-]*)+");
    private static final Set<String> RESERVED_FIRST_SEGMENTS = Set.of(
            "admin", "metrics", "status.json", "status-json.xsl", "status.xsl", "server_version.xsl", "health");
    private static final String ALLOWED =
            "a leading '/', then letters, digits, '.', '-', '_' (each segment starting with a letter or digit), "
                    + "at most " + MAX_LENGTH + " characters, e.g. /live.mp3";

    private MountPath() {
    }

    /** Returns the path if valid, else throws naming the path and what is allowed. */
    public static String validate(String path) {
        if (path == null || path.isEmpty()) {
            throw new IllegalArgumentException("mount path is missing: use " + ALLOWED);
        }
        if (path.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("mount path '" + abbreviate(path) + "' is too long (" + path.length()
                    + " characters): use " + ALLOWED);
        }
        if (!PATH.matcher(path).matches()) {
            throw new IllegalArgumentException("mount path '" + path + "' is not valid: use " + ALLOWED);
        }
        String first = path.substring(1).split("/", 2)[0].toLowerCase(Locale.ROOT);
        if (RESERVED_FIRST_SEGMENTS.contains(first)) {
            throw new IllegalArgumentException("mount path '" + path + "' is reserved by radiod or Icecast");
        }
        String lower = path.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".m3u") || lower.endsWith(".pls")) {
            throw new IllegalArgumentException("mount path '" + path
                    + "' ends like a playlist (.m3u/.pls), which radiod serves itself for every mount");
        }
        return path;
    }

    public static boolean isValid(String path) {
        try {
            validate(path);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String abbreviate(String s) {
        return s.substring(0, 40) + "…";
    }
}
