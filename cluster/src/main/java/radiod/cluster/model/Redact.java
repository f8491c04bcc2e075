package radiod.cluster.model;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Secrets kept out of what is printed or logged: the password in a URL's user info
 * ({@code http://user:pass@host/} becomes {@code http://user:***@host/}).
 */
public final class Redact {
    /** What a hidden secret is shown as. */
    public static final String MASK = "***";

    /** scheme://, then the authority up to the last '@' before the path, query or fragment. */
    private static final Pattern USER_INFO = Pattern.compile("^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)@", Pattern.DOTALL);

    private Redact() {
    }

    /**
     * The URL with the password of its user info replaced by {@value #MASK}; user info without a password
     * (often a token) is replaced whole. Anything else, and null, comes back unchanged.
     */
    public static String url(String url) {
        if (url == null) {
            return null;
        }
        Matcher m = USER_INFO.matcher(url);
        if (!m.find()) {
            return url;
        }
        String userInfo = m.group(2);
        int colon = userInfo.indexOf(':');
        String shown = colon < 0 ? MASK : userInfo.substring(0, colon) + ":" + MASK;
        return m.group(1) + shown + "@" + url.substring(m.end());
    }

    /** Whether the URL carries user info, which {@link #url(String)} hides. */
    public static boolean hasUserInfo(String url) {
        return url != null && USER_INFO.matcher(url).find();
    }
}
