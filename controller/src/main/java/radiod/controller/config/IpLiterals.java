package radiod.controller.config;

import java.util.regex.Pattern;

/** Recognises IP literals without resolving names. */
final class IpLiterals {
    private static final Pattern V4 = Pattern.compile(
            "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");
    private static final Pattern V6 = Pattern.compile("[0-9A-Fa-f:.]+");

    private IpLiterals() {
    }

    static boolean isIp(String s) {
        return s != null && (V4.matcher(s).matches() || (s.contains(":") && V6.matcher(s).matches()));
    }
}
