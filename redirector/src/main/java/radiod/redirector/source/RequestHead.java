package radiod.redirector.source;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The head of a request on the source port: {@code PUT /m HTTP/1.1}, {@code SOURCE /m HTTP/1.0},
 * {@code SOURCE /m ICE/1.0}, or anything else, with its headers. Parsed leniently, as Icecast does.
 */
record RequestHead(String method, String target, String version, Map<String, String> headers) {

    /** @throws IllegalArgumentException when the request line is not METHOD TARGET VERSION */
    static RequestHead parse(byte[] head) {
        String text = new String(head, StandardCharsets.ISO_8859_1);
        String[] lines = text.split("\r?\n");
        String[] parts = lines[0].split(" ");
        if (parts.length != 3 || parts[0].isEmpty() || parts[1].isEmpty()
                || !(parts[2].startsWith("HTTP/") || parts[2].startsWith("ICE/"))) {
            throw new IllegalArgumentException("bad request line");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
        }
        return new RequestHead(parts[0], parts[1], parts[2], headers);
    }

    /** The target without its query string. */
    String path() {
        int q = target.indexOf('?');
        return q < 0 ? target : target.substring(0, q);
    }

    /** user:password from a Basic Authorization header, if there is one. */
    Optional<String[]> basicCredentials() {
        String auth = headers.get("authorization");
        if (auth == null || !auth.regionMatches(true, 0, "Basic ", 0, 6)) {
            return Optional.empty();
        }
        try {
            String decoded = new String(Base64.getDecoder().decode(auth.substring(6).trim()), StandardCharsets.UTF_8);
            int colon = decoded.indexOf(':');
            return colon < 0 ? Optional.empty() : Optional.of(new String[] {decoded.substring(0, colon), decoded.substring(colon + 1)});
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** Where the head ends (index after the blank line), or -1 if not yet complete. */
    static int end(byte[] buf, int len) {
        for (int i = 0; i + 1 < len; i++) {
            if (buf[i] == '\n') {
                if (buf[i + 1] == '\n') {
                    return i + 2;
                }
                if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n') {
                    return i + 3;
                }
            }
        }
        return -1;
    }
}
