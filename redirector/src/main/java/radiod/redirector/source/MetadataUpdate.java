package radiod.redirector.source;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.IllegalCharsetNameException;
import java.nio.charset.StandardCharsets;
import java.nio.charset.UnsupportedCharsetException;
import java.util.HashMap;
import java.util.Map;

import radiod.cluster.model.MountPath;
import radiod.cluster.model.Title;

/**
 * Icecast's metadata update, as encoders send it to the host and port they stream to:
 * {@code GET /admin/metadata?mode=updinfo&mount=/live.mp3&song=Artist%20-%20Title[&charset=UTF-8]}, or
 * {@code artist} and {@code title} instead of {@code song} (joined {@code "artist - title"}, as Icecast does).
 * Parameters are percent-decoded to bytes and then read in {@code charset}; without one, as UTF-8 when they are valid
 * UTF-8 and as ISO-8859-1 otherwise (what older encoders send). Anything else is refused with a reason.
 */
record MetadataUpdate(String mount, String title) {
    /** The paths Icecast 2.4 answers a metadata update on (raw and XSL flavours). */
    static boolean isMetadataPath(String path) {
        return path.equals("/admin/metadata") || path.equals("/admin/metadata.xsl");
    }

    /** Why an update was refused: the status line and a message for the encoder's log. */
    static final class Refused extends Exception {
        private final String status;

        Refused(String status, String message) {
            super(message, null, false, false);
            this.status = status;
        }

        String status() {
            return status;
        }
    }

    /** The mount the query names, checked, before anything else is read (credentials are checked against it). */
    static String mountOf(String target) throws Refused {
        Map<String, byte[]> q = query(target);
        byte[] mode = q.get("mode");
        if (mode == null || !new String(mode, StandardCharsets.ISO_8859_1).equals("updinfo")) {
            throw new Refused("400 Bad Request", "mode must be updinfo");
        }
        byte[] mount = q.get("mount");
        if (mount == null || mount.length == 0) {
            throw new Refused("400 Bad Request", "missing parameter mount");
        }
        String path = new String(mount, StandardCharsets.ISO_8859_1);
        if (!MountPath.isValid(path)) {
            throw new Refused("400 Bad Request", "not a mount path: " + printable(path));
        }
        return path;
    }

    /** Reads the whole update; {@link #mountOf} must have accepted the target. */
    static MetadataUpdate parse(String target) throws Refused {
        String mount = mountOf(target);
        Map<String, byte[]> q = query(target);
        Charset charset = null;
        byte[] cs = q.get("charset");
        if (cs != null && cs.length > 0) {
            String name = new String(cs, StandardCharsets.ISO_8859_1);
            try {
                charset = Charset.forName(name);
            } catch (IllegalCharsetNameException | UnsupportedCharsetException e) {
                throw new Refused("400 Bad Request", "unknown charset " + printable(name));
            }
        }
        String title;
        byte[] song = q.get("song");
        if (song != null) {
            title = decode(song, charset, "song");
        } else if (q.containsKey("title")) {
            title = decode(q.get("title"), charset, "title");
            if (q.containsKey("artist")) {
                String artist = decode(q.get("artist"), charset, "artist");
                title = artist.isEmpty() ? title : artist + " - " + title;
            }
        } else {
            throw new Refused("400 Bad Request", "missing parameter song (or artist and title)");
        }
        String problem = Title.problem(title);
        if (problem != null) {
            throw new Refused("400 Bad Request", problem);
        }
        return new MetadataUpdate(mount, title);
    }

    private static String decode(byte[] bytes, Charset charset, String what) throws Refused {
        Charset c = charset;
        if (c == null) {
            c = valid(bytes, StandardCharsets.UTF_8) ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1;
        }
        try {
            return c.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new Refused("400 Bad Request", what + " is not valid " + c.name());
        }
    }

    private static boolean valid(byte[] bytes, Charset charset) {
        try {
            charset.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    /** The query's parameters, percent- and plus-decoded to bytes; the first of a repeated name wins. */
    static Map<String, byte[]> query(String target) throws Refused {
        Map<String, byte[]> params = new HashMap<>();
        int q = target.indexOf('?');
        if (q < 0) {
            return params;
        }
        for (String pair : target.substring(q + 1).split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = new String(unescape(eq < 0 ? pair : pair.substring(0, eq)), StandardCharsets.ISO_8859_1);
            params.putIfAbsent(name, eq < 0 ? new byte[0] : unescape(pair.substring(eq + 1)));
        }
        return params;
    }

    private static byte[] unescape(String s) throws Refused {
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '+') {
                out.write(' ');
            } else if (c == '%') {
                if (i + 2 >= s.length() || Character.digit(s.charAt(i + 1), 16) < 0 || Character.digit(s.charAt(i + 2), 16) < 0) {
                    throw new Refused("400 Bad Request", "bad percent-encoding in the query");
                }
                out.write(Character.digit(s.charAt(i + 1), 16) * 16 + Character.digit(s.charAt(i + 2), 16));
                i += 2;
            } else {
                out.write(c & 0xff);
            }
        }
        return out.toByteArray();
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            b.append(c < 0x20 || c > 0x7e ? '?' : c);
            if (b.length() > 64) {
                return b.append('…').toString();
            }
        }
        return b.toString();
    }
}
