package radiod.radioctl.connect;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Timeouts as operators write them: {@code 5s}, {@code 500ms}, {@code 1m}, or a bare number of seconds. */
public final class Durations {
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m)?");
    /** Longer than any sensible wait on etcd; guards against a typo making radioctl hang for hours. */
    public static final Duration MAX = Duration.ofMinutes(5);

    private Durations() {
    }

    /** Parses a timeout of at most {@link #MAX}; throws naming {@code what}, the value and the allowed forms. */
    public static Duration parse(String what, String text) {
        return parse(what, text, MAX);
    }

    /** Parses a duration of more than 0 and at most {@code max} (whole minutes); throws naming {@code what}. */
    public static Duration parse(String what, String text, Duration max) {
        Matcher m = DURATION.matcher(text == null ? "" : text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(what + " '" + text + "' is not a duration: use e.g. 5s, 500ms, 1m or 5 (seconds)");
        }
        double n = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        long millis = Math.round(switch (unit) {
            case "ms" -> n;
            case "m" -> n * 60_000;
            default -> n * 1000;
        });
        Duration d = Duration.ofMillis(millis);
        if (d.isZero() || d.compareTo(max) > 0) {
            throw new IllegalArgumentException(what + " '" + text + "' is out of range: use more than 0 and at most "
                    + max.toMinutes() + "m");
        }
        return d;
    }
}
