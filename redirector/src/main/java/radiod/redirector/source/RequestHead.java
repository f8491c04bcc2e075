package radiod.redirector.source;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import io.vertx.core.buffer.Buffer;

/**
 * The head of a request on the source port: {@code PUT /m HTTP/1.1}, {@code SOURCE /m HTTP/1.0},
 * {@code SOURCE /m ICE/1.0}, or a probe ({@code OPTIONS *}, {@code GET /admin/!POKE}), with its headers.
 * Header names are lower-cased; the bytes themselves are replayed verbatim to Icecast, never re-rendered.
 */
record RequestHead(String method, String target, String version, Map<String, String> headers) {
    private static final Pattern METHOD = Pattern.compile("[A-Z]{1,16}");
    private static final Pattern VERSION = Pattern.compile("HTTP/1\\.[01]|ICE/1\\.0");
    /** The longest target taken: room for a metadata update with a long title, percent-encoded. */
    static final int MAX_TARGET = 8192;

    record Credentials(String user, String password) {
    }

    RequestHead {
        headers = Map.copyOf(headers);
    }

    /**
     * Parses a complete head (request line, header lines, blank line).
     *
     * @throws IllegalArgumentException when the request line is not {@code METHOD TARGET VERSION}
     */
    static RequestHead parse(Buffer head) {
        String text = head.toString(StandardCharsets.ISO_8859_1);
        String[] lines = text.split("\r?\n");
        String[] line = requestLine(lines.length == 0 ? "" : lines[0]); // blank lines alone split to nothing
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            String name = colon > 0 ? lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT) : "";
            if (!name.isEmpty()) { // " : x" names nothing
                headers.putIfAbsent(name, lines[i].substring(colon + 1).trim());
            }
        }
        return new RequestHead(line[0], line[1], line[2], headers);
    }

    /**
     * Splits and checks a request line, so that a client sending something else is refused at its first line.
     *
     * @throws IllegalArgumentException when the line is not {@code METHOD TARGET VERSION}, with a target that is
     *                                  {@code *} or starts with {@code /}
     */
    static String[] requestLine(String line) {
        String[] parts = line.split(" ", -1);
        if (parts.length != 3 || !METHOD.matcher(parts[0]).matches() || !VERSION.matcher(parts[2]).matches()
                || !(parts[1].equals("*") || parts[1].startsWith("/")) || parts[1].length() > MAX_TARGET) {
            throw new IllegalArgumentException("not a request line");
        }
        return parts;
    }

    String header(String lowerCaseName) {
        return headers.get(lowerCaseName);
    }

    /** The target without its query string. */
    String path() {
        int q = target.indexOf('?');
        return q < 0 ? target : target.substring(0, q);
    }

    /** User and password of a Basic Authorization header, if there is a well-formed one. */
    Optional<Credentials> credentials() {
        String auth = headers.get("authorization");
        if (auth == null || !auth.regionMatches(true, 0, "Basic ", 0, 6)) {
            return Optional.empty();
        }
        try {
            String decoded = new String(Base64.getDecoder().decode(auth.substring(6).trim()), StandardCharsets.UTF_8);
            int colon = decoded.indexOf(':');
            return colon < 0 ? Optional.empty()
                    : Optional.of(new Credentials(decoded.substring(0, colon), decoded.substring(colon + 1)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * Where the head ends in {@code buf} (the index after its blank line, which may be bare LFs as old encoders
     * send), or -1 if it has not ended yet. Scanning starts at {@code from}, so a head arriving in pieces is
     * scanned once.
     */
    static int end(Buffer buf, int from) {
        int len = buf.length();
        for (int i = Math.max(0, from); i < len; i++) {
            if (buf.getByte(i) != '\n') {
                continue;
            }
            if (i + 1 < len && buf.getByte(i + 1) == '\n') {
                return i + 2;
            }
            if (i + 2 < len && buf.getByte(i + 1) == '\r' && buf.getByte(i + 2) == '\n') {
                return i + 3;
            }
        }
        return -1;
    }

    /** Whether the bytes so far can be the start of a request line (a method, then a space). */
    static boolean couldStartRequestLine(Buffer buf) {
        // METHOD (1-16 upper-case letters) then a space: anything else is refused without waiting for a line end.
        int n = Math.min(buf.length(), 17);
        for (int i = 0; i < n; i++) {
            byte b = buf.getByte(i);
            if (b == ' ') {
                return i > 0;
            }
            if (b < 'A' || b > 'Z') {
                return false;
            }
        }
        return buf.length() < 17;
    }

    /** Index of the first LF, or -1. */
    static int firstLineEnd(Buffer buf) {
        for (int i = 0; i < buf.length(); i++) {
            if (buf.getByte(i) == '\n') {
                return i;
            }
        }
        return -1;
    }
}
