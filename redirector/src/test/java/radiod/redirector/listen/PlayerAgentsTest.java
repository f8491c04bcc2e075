package radiod.redirector.listen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * Which players are proxied rather than redirected: the defaults catch old players and hardware radios, configured
 * patterns match as documented, and bad ones are named.
 */
class PlayerAgentsTest {
    @Test
    void theDefaultsProxyOldPlayersAndHardwareRadiosAndRedirectTheRest() {
        PlayerAgents agents = PlayerAgents.of(PlayerAgents.DEFAULTS);
        for (String old : List.of("WinampMPEG/5.66, Ultravox/2.1", "winampmpeg/2.8", "NSPlayer/12.00.19041.3636 WMFSDK/12.00",
                "iTunes/9.2.1 (Macintosh; Intel Mac OS X 10.5.8) AppleWebKit/533.16", "Reciva/1.0", "Frontier Silicon IR",
                "FSL IR/0.1", "Roku SoundBridge/3.0", "RMA/1.0 (compatible; RealMedia)", "xmms/1.2.10",
                "Shoutcast Server Version 2.6")) {
            assertTrue(agents.needsProxy(old), old);
        }
        for (String modern : List.of("Lavf/60.16.100", "VLC/3.0.20 LibVLC/3.0.20", "mpv 0.37.0", "mpg123/1.31.2",
                "iTunes/12.12.9 (Macintosh; OS X 13.4)", "AppleCoreMedia/1.0.0.21A329 (iPhone; U; CPU OS 17_0 like Mac OS X)",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
                "Mozilla/5.0 WinampMPEG/5.66", "Sonos/79.1-56030 (ZPS12)", "GStreamer souphttpsrc 1.22.0")) {
            assertFalse(agents.needsProxy(modern), modern);
        }
        assertFalse(agents.needsProxy(null));
        assertFalse(agents.needsProxy(""));
    }

    @Test
    void configuredPatternsMatchAnywhereUnlessAnchoredAndBadOnesAreNamed() {
        PlayerAgents agents = PlayerAgents.of(List.of("SmartSpeaker", "^Old|Ancient"));
        assertTrue(agents.needsProxy("Brand SmartSpeaker/2"));
        assertTrue(agents.needsProxy("OldPlayer"));
        assertTrue(agents.needsProxy("Very Ancient"));
        assertFalse(agents.needsProxy("Not Old"));
        assertFalse(PlayerAgents.of(List.of()).needsProxy("WinampMPEG/5.66"));
        var e = assertThrows(IllegalArgumentException.class, () -> PlayerAgents.of(List.of("ok", "(broken")));
        assertTrue(e.getMessage().contains("'(broken'"), e.getMessage());
    }

    @Test
    void aPatternMeansTogetherWithOthersWhatItMeansAlone() {
        // Each compiles alone; inside one alternation \Q would quote the group's ')', a comment swallow it, group
        // numbers shift and names clash.
        PlayerAgents agents = PlayerAgents.of(List.of("^WinampMPEG/", "\\Qa.b", "(?x)old # a comment", "(x)", "(a)\\1",
                "(?<n>y)z", "(?<n>q)r", "^+%"));
        assertTrue(agents.needsProxy("WinampMPEG/5.66"));
        assertTrue(agents.needsProxy("player a.b"));
        assertFalse(agents.needsProxy("player a-b"));
        assertTrue(agents.needsProxy("OLD"));
        assertTrue(agents.needsProxy("aa"));
        assertTrue(agents.needsProxy("yz"));
        assertTrue(agents.needsProxy("qr"));
        assertFalse(agents.needsProxy("ab"));
        assertTrue(agents.needsProxy("%"));
        assertFalse(agents.needsProxy("a%"));
    }

    @Test
    void settingsValidateWhatTheyAreGiven() {
        HttpFrontSettings s = new HttpFrontSettings("node1", "0.0.0.0", 8080, null, null, "http://radio.example.org//", 5,
                "127.0.0.1", 8100);
        assertEquals("http://radio.example.org", s.clusterUrl());
        assertEquals(PlayerAgents.DEFAULTS, s.proxyUserAgents());
        assertTrue(s.effectiveEventLoops() >= 1);
        var e = assertThrows(IllegalArgumentException.class, () -> new HttpFrontSettings("node1", "0.0.0.0", 8080,
                "icecast_active,weighted,nope", null, null, 5, "127.0.0.1", 8100));
        assertTrue(e.getMessage().contains("valid stages"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new HttpFrontSettings("node1", "0.0.0.0", 8080, null, null,
                "ftp://radio.example.org", 5, "127.0.0.1", 8100));
        assertTrue(e.getMessage().contains("cluster URL 'ftp://radio.example.org'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new HttpFrontSettings("node1", "0.0.0.0", 8080, null, null,
                null, 0, "127.0.0.1", 8100));
        assertTrue(e.getMessage().contains("retry-after"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new HttpFrontSettings("node1", "0.0.0.0", 70000, null, null,
                null, 5, "127.0.0.1", 8100));
        assertTrue(e.getMessage().contains("http port"), e.getMessage());
    }
}
