package radiod.redirector.carry;

import java.util.Locale;
import java.util.Map;

/**
 * The header lines of an encoder's request that describe its stream ({@code Content-Type}, {@code ice-*},
 * {@code icy-*}), as they are handed to every node's Icecast with that stream. Anything else (credentials, hosts,
 * connection handling) stays behind; values are cut to printable characters and a bounded length.
 */
public final class StreamHeaders {
    static final int MAX_VALUE = 256;
    static final int MAX_LINES = 24;

    private StreamHeaders() {
    }

    /** {@code Name: value\r\n} lines from lower-cased request headers. */
    public static String lines(Map<String, String> headers) {
        StringBuilder b = new StringBuilder(256);
        int n = 0;
        for (Map.Entry<String, String> h : headers.entrySet()) {
            String name = h.getKey().toLowerCase(Locale.ROOT);
            if (!(name.equals("content-type") || name.startsWith("ice-") || name.startsWith("icy-"))
                    || !name.matches("[a-z0-9-]{1,40}") || name.equals("icy-metadata")) {
                continue;
            }
            String value = printable(h.getValue());
            if (value.isEmpty() || ++n > MAX_LINES) {
                continue;
            }
            b.append(name).append(": ").append(value).append("\r\n");
        }
        return b.toString();
    }

    /** Such lines as a map of lower-case names to values. */
    public static Map<String, String> parse(String lines) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (String line : lines.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                out.putIfAbsent(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
        }
        return out;
    }

    /** The {@code Content-Type} in such lines, or null. */
    public static String contentType(String lines) {
        for (String line : lines.split("\r\n")) {
            if (line.regionMatches(true, 0, "content-type:", 0, 13)) {
                return line.substring(13).trim();
            }
        }
        return null;
    }

    private static String printable(String v) {
        StringBuilder b = new StringBuilder(Math.min(v.length(), MAX_VALUE));
        for (int i = 0; i < v.length() && b.length() < MAX_VALUE; i++) {
            char c = v.charAt(i);
            if (c >= 0x20 && c != 0x7f) {
                b.append(c);
            }
        }
        return b.toString().trim();
    }
}
