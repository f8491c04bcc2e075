package radiod.cluster.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A URL's password is masked wherever radiod prints one, and everything else is kept as it was. */
class RedactTest {
    @Test
    void theUserInfosPasswordIsMaskedAndTheRestKept() {
        assertEquals("http://user:***@up.example.org:8000/live?x=1#f",
                Redact.url("http://user:pa:ss@up.example.org:8000/live?x=1#f"));
        assertEquals("http://user:***@up.example.org/", Redact.url("http://user:p%40ss@up.example.org/"));
        // An '@' typed into the password unencoded: everything up to the last one before the path is user info.
        assertEquals("http://user:***@host/a@b", Redact.url("http://user:p@ss@host/a@b"));
        assertEquals("HTTPS://u:***@[::1]:8443/x", Redact.url("HTTPS://u:secret@[::1]:8443/x"));
        // Without a colon the user info may be a token: all of it goes.
        assertEquals("http://***@host/x", Redact.url("http://token123@host/x"));
        assertEquals("http://:***@host/x", Redact.url("http://:secret@host/x"));
    }

    @Test
    void urlsWithoutUserInfoAndOtherTextAreUnchanged() {
        for (String s : new String[] {"http://up.example.org:8000/live", "http://host/a@b", "http://host?q=a@b",
                "encoder", "user:pass@host", "", "mp3 64k from /live.mp3"}) {
            assertEquals(s, Redact.url(s), s);
            assertFalse(Redact.hasUserInfo(s), s);
        }
        assertNull(Redact.url(null));
        assertTrue(Redact.hasUserInfo("http://u:p@h/"));
    }

    @Test
    void aMountsInvalidUpstreamUrlIsNamedWithoutItsPassword() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Mount("/a.mp3", null, "pw", "https://relay:s3cret@up.example.org/a", null, 0, 0, null));
        assertEquals("upstream URL 'https://relay:***@up.example.org/a' of /a.mp3 is not valid: use http://host[:port]/path "
                + "(Icecast relays plain HTTP)", e.getMessage());
        // A '/' in the password ends the authority early: the URL does not parse and is not shown at all.
        e = assertThrows(IllegalArgumentException.class,
                () -> new Mount("/a.mp3", null, "pw", "http://relay:s3/cret@up.example.org/a", null, 0, 0, null));
        assertFalse(e.getMessage().contains("s3"), e.getMessage());
        assertTrue(e.getMessage().startsWith("upstream URL (not shown: it has an '@' outside user info) of /a.mp3"),
                e.getMessage());
    }
}
