package radiod.controller.icecast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** Icecast binds the node's loopback address (or 127.0.0.1) and nothing else. */
class IcecastSettingsTest {
    static final Path DIR = Path.of("/var/lib/radiod/icecast");

    @Test
    void icecastBindsTheNodesLoopbackAddressOrElse127001() {
        assertEquals("127.0.0.1", IcecastSettings.bindFor("0.0.0.0"));
        assertEquals("127.0.0.1", IcecastSettings.bindFor("::"));
        assertEquals("127.0.0.1", IcecastSettings.bindFor("203.0.113.10"));
        assertEquals("127.0.0.1", IcecastSettings.bindFor("2001:db8::10"));
        assertEquals("127.0.0.1", IcecastSettings.bindFor("192.0.2.11"));
        assertEquals("127.0.0.12", IcecastSettings.bindFor("127.0.0.12"), "one machine, several nodes: each its own");
        assertEquals("::1", IcecastSettings.bindFor("::1"));
    }

    @Test
    void settingsRefuseEveryAddressButLoopback() {
        for (String bind : new String[] {"0.0.0.0", "::", "203.0.113.10", "192.0.2.11", "2001:db8::1", "localhost",
                "128.0.0.1", "127.0.0.256", "", " "}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> IcecastSettings.of(DIR, bind, 8100, null), bind);
            assertTrue(e.getMessage().contains("loopback"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> IcecastSettings.of(DIR, null, 8100, null));
        for (String bind : new String[] {"127.0.0.1", "127.0.0.11", "127.255.255.254", "::1", "0:0:0:0:0:0:0:1"}) {
            IcecastSettings s = IcecastSettings.of(DIR, bind, 8100, null);
            assertEquals(bind, s.localHost(), "radiod reaches its Icecast where it listens");
        }
        assertEquals("http://[::1]:8100", IcecastSettings.of(DIR, "::1", 8100, null).localUrl());
    }
}
