package radiod.redirector.access;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * One finished listener session, as a line of the access log: Icecast's access.log format, which is the combined
 * log format plus the seconds the listener stayed:
 *
 * <pre>
 * 203.0.113.7 - - [22/Nov/2026:13:50:16 +0100] "GET /_stream/live.mp3 HTTP/1.1" 200 1234567 "-" "VLC/3.0.20 LibVLC/3.0.20" 75
 * </pre>
 *
 * <p>As Icecast does, the time is when the session ended (it started {@code seconds} earlier). The request line,
 * referer and user agent are quoted with {@code "} and {@code \} escaped by a backslash and every byte outside
 * printable ASCII written as {@code \xhh} (as Apache does), so a line is always one line and its fields always
 * split where they should; an absent field is {@code -}.
 *
 * @param address     the listener's address (see {@link ClientAddresses})
 * @param endMillis   when the session ended, epoch milliseconds
 * @param requestLine the request line as the client sent it, e.g. {@code GET /_stream/live.mp3 HTTP/1.1}
 * @param status      the response's status
 * @param bytes       body bytes sent
 * @param referer     the {@code Referer} header, or null
 * @param userAgent   the {@code User-Agent} header, or null
 * @param seconds     how long the listener was connected, whole seconds
 */
public record AccessEntry(String address, long endMillis, String requestLine, int status, long bytes, String referer,
                          String userAgent, long seconds) {
    private static final DateTimeFormatter CLF = DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT);

    /** The line, without its line feed, with the time in {@code zone}. */
    public String format(ZoneId zone) {
        StringBuilder sb = new StringBuilder(160);
        sb.append(address == null || address.isEmpty() ? "-" : escape(address)).append(" - - [")
                .append(CLF.format(Instant.ofEpochMilli(endMillis).atZone(zone))).append("] ");
        quoted(sb, requestLine);
        sb.append(' ').append(status).append(' ').append(Math.max(0, bytes)).append(' ');
        quoted(sb, referer);
        sb.append(' ');
        quoted(sb, userAgent);
        sb.append(' ').append(Math.max(0, seconds));
        return sb.toString();
    }

    private static void quoted(StringBuilder sb, String value) {
        sb.append('"').append(value == null || value.isEmpty() ? "-" : escape(value)).append('"');
    }

    /**
     * {@code value} with {@code "} and {@code \} backslash-escaped and everything but printable ASCII as
     * {@code \xhh}: control characters, DEL, and each byte of the UTF-8 form of anything else (HTTP headers come
     * as ISO-8859-1, one char per byte: those are written as the byte they were).
     */
    static String escape(String value) {
        StringBuilder sb = null;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            boolean plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
            if (plain) {
                if (sb != null) {
                    sb.append(c);
                }
                continue;
            }
            if (sb == null) {
                sb = new StringBuilder(value.length() + 16).append(value, 0, i);
            }
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c <= 0xff) {
                hex(sb, c);
            } else {
                int end = Character.isHighSurrogate(c) && i + 1 < value.length()
                        && Character.isLowSurrogate(value.charAt(i + 1)) ? i + 2 : i + 1;
                for (byte b : value.substring(i, end).getBytes(StandardCharsets.UTF_8)) {
                    hex(sb, b & 0xff);
                }
                i = end - 1;
            }
        }
        return sb == null ? value : sb.toString();
    }

    private static void hex(StringBuilder sb, int b) {
        sb.append("\\x").append(Character.forDigit(b >> 4, 16)).append(Character.forDigit(b & 0xf, 16));
    }
}
