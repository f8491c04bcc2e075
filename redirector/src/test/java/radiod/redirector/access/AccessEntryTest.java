package radiod.redirector.access;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/** The access log's line: Icecast's access.log (combined log format + seconds connected), escaped so it stays one line. */
class AccessEntryTest {
    static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    static final long END = ZonedDateTime.of(2026, 11, 22, 13, 50, 16, 0, BERLIN).toInstant().toEpochMilli();
    /** What a combined-log parser (GoAccess, AWStats, Apache's own docs) splits a line with. */
    static final Pattern COMBINED = Pattern.compile(
            "^(\\S+) (\\S+) (\\S+) \\[([^]]+)] \"((?:[^\"\\\\]|\\\\.)*)\" (\\d{3}) (\\d+|-) \"((?:[^\"\\\\]|\\\\.)*)\" "
                    + "\"((?:[^\"\\\\]|\\\\.)*)\" (\\d+)$");

    @Test
    void aSessionIsOneCombinedLogLinePlusTheSecondsConnected() {
        AccessEntry e = new AccessEntry("203.0.113.7", END, "GET /_stream/live.mp3 HTTP/1.1", 200, 1234567,
                "http://radio.example.org/", "VLC/3.0.20 LibVLC/3.0.20", 75);
        assertEquals("203.0.113.7 - - [22/Nov/2026:13:50:16 +0100] \"GET /_stream/live.mp3 HTTP/1.1\" 200 1234567 "
                + "\"http://radio.example.org/\" \"VLC/3.0.20 LibVLC/3.0.20\" 75", e.format(BERLIN));
    }

    @Test
    void absentFieldsAreADashAndAnErrorHasNoBytes() {
        AccessEntry e = new AccessEntry("2001:db8::7", END, "GET /_stream/gone.mp3 HTTP/1.0", 404, 0, null, "", 0);
        assertEquals("2001:db8::7 - - [22/Nov/2026:12:50:16 +0000] \"GET /_stream/gone.mp3 HTTP/1.0\" 404 0 \"-\" \"-\" 0",
                e.format(ZoneId.of("UTC")));
    }

    @Test
    void quotesBackslashesAndControlCharactersCannotBreakOutOfTheirField() {
        String agent = "Evil \"agent\" \\ with\r\nforged line\t\u0000\u007f";
        AccessEntry e = new AccessEntry("198.51.100.1", END, "GET /_stream/live.mp3?x=\"a\" HTTP/1.1", 200, 5,
                "ref\"erer", agent, 3);
        String line = e.format(BERLIN);
        assertFalse(line.contains("\n") || line.contains("\r") || line.contains("\t") || line.contains("\u0000"), line);
        assertTrue(line.endsWith("\"Evil \\\"agent\\\" \\\\ with\\x0d\\x0aforged line\\x09\\x00\\x7f\" 3"), line);
        Matcher m = COMBINED.matcher(line);
        assertTrue(m.matches(), line);
        assertEquals("198.51.100.1", m.group(1));
        assertEquals("GET /_stream/live.mp3?x=\\\"a\\\" HTTP/1.1", m.group(5));
        assertEquals("200", m.group(6));
        assertEquals("ref\\\"erer", m.group(8));
        assertEquals("3", m.group(10));
    }

    @Test
    void bytesOutsideAsciiAreWrittenAsTheBytesTheyWere() {
        // Vert.x hands headers over as ISO-8859-1, one char per byte received: "é" in UTF-8 arrives as Ã©.
        AccessEntry fromTheWire = new AccessEntry("192.0.2.1", END, "GET / HTTP/1.1", 200, 1, null,
                "Lecteur \u00c3\u00a9t\u00c3\u00a9", 1);
        assertTrue(fromTheWire.format(BERLIN).contains("\"Lecteur \\xc3\\xa9t\\xc3\\xa9\""), fromTheWire.format(BERLIN));
        AccessEntry wide = new AccessEntry("192.0.2.1", END, "GET / HTTP/1.1", 200, 1, null, "\u266b \ud83c\udfb5", 1);
        assertTrue(wide.format(BERLIN).contains("\"\\xe2\\x99\\xab \\xf0\\x9f\\x8e\\xb5\""), wide.format(BERLIN));
    }

    @Test
    void everyLineOfManyOddAgentsStillParses() {
        List<String> lines = new ArrayList<>();
        for (int c = 0; c < 0x180; c++) {
            lines.add(new AccessEntry("192.0.2.1", END, "GET /x HTTP/1.1", 200, c, "" + (char) c, "a" + (char) c + "\"",
                    c).format(BERLIN));
        }
        for (String l : lines) {
            assertTrue(COMBINED.matcher(l).matches(), l);
        }
    }
}
