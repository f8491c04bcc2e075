package radiod.redirector.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import org.junit.jupiter.api.Test;

import io.vertx.core.buffer.Buffer;

/**
 * The source front reads an encoder's request head however it arrives, accepts encoders' and probes' request lines,
 * refuses others, and keeps colons in Basic passwords.
 */
class RequestHeadTest {
    static Buffer b(String s) {
        return Buffer.buffer(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void headEndsAtItsBlankLineWithCrLfOrBareLf() {
        assertEquals(27, RequestHead.end(b("SOURCE /a ICE/1.0\r\nA: b\r\n\r\nDATA"), 0));
        assertEquals(24, RequestHead.end(b("SOURCE /a ICE/1.0\nA: b\n\nDATA"), 0));
        assertEquals(-1, RequestHead.end(b("SOURCE /a ICE/1.0\r\nA: b\r\n\r"), 0));
    }

    @Test
    void headSplitAcrossReadsIsFoundWhenScanningFromJustBeforeTheNewBytes() {
        Buffer head = b("PUT /a HTTP/1.1\r\nA: b\r\n\r");
        assertEquals(-1, RequestHead.end(head, 0));
        int scanFrom = head.length() - 3;
        head.appendBuffer(b("\nMP3"));
        assertEquals(head.length() - 3, RequestHead.end(head, scanFrom));
    }

    @Test
    void requestLinesOfEncodersAndProbesAreAcceptedAndOthersRefused() {
        RequestHead.requestLine("SOURCE /live.mp3 ICE/1.0");
        RequestHead.requestLine("PUT /live.mp3 HTTP/1.1");
        RequestHead.requestLine("OPTIONS * HTTP/1.1");
        for (String bad : new String[] {"", "SOURCE", "SOURCE /a", "GET http://x/a HTTP/1.1", "SOURCE /a SHOUT/1.0",
                "source /a HTTP/1.0", "SOURCE  /a HTTP/1.0", "GET /a HTTP/9.9", "SOURCE /a ICE/2.0", "SOURCE /a HTTP/2.0", "SOURCE /" + "a".repeat(RequestHead.MAX_TARGET) + " HTTP/1.0"}) {
            assertThrows(IllegalArgumentException.class, () -> RequestHead.requestLine(bad), bad);
        }
    }

    @Test
    void aHeadOfBlankLinesAloneIsRefusedAsNotARequest() {
        for (String blank : new String[] {"\n", "\r\n", "\n\n", "\r\n\r\n", ""}) {
            assertThrows(IllegalArgumentException.class, () -> RequestHead.parse(b(blank)), blank);
        }
    }

    @Test
    void aHeaderLineWithABlankNameIsIgnored() {
        RequestHead head = RequestHead.parse(b("SOURCE /a HTTP/1.0\r\n  : x\r\nice-name: n\r\n\r\n"));
        assertEquals(java.util.Map.of("ice-name", "n"), head.headers());
    }

    @Test
    void basicCredentialsKeepColonsInThePassword() {
        String auth = Base64.getEncoder().encodeToString("source:pa:ss".getBytes(StandardCharsets.UTF_8));
        RequestHead head = RequestHead.parse(b("SOURCE /a?x=1 HTTP/1.0\r\nauthorization: Basic " + auth + "\r\n\r\n"));
        assertEquals("/a", head.path());
        assertEquals(new RequestHead.Credentials("source", "pa:ss"), head.credentials().orElseThrow());
        assertTrue(RequestHead.parse(b("SOURCE /a HTTP/1.0\r\nAuthorization: Basic !!!\r\n\r\n")).credentials().isEmpty());
        assertTrue(RequestHead.parse(b("SOURCE /a HTTP/1.0\r\nAuthorization: Digest x\r\n\r\n")).credentials().isEmpty());
    }
}
