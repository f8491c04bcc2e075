package radiod.radioctl.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import radiod.cluster.model.ListenerSession;

/** radioctl listeners' table: sorted, readable, and never a terminal escape from a listener's user agent. */
class ListenersReportTest {
    static final long T = 1_795_000_000_000L;

    @Test
    void listenersAreSortedByNodeMountAndTimeWithReadableBytes() {
        ListenersReport r = ListenersReport.of(List.of(
                new ListenerSession("node2", "/live.mp3", "203.0.113.9", "VLC/3.0.20", null, T + 5000, 1_234_567),
                new ListenerSession("node1", "/live.mp3", "2001:db8::7", "mpv 0.35", null, T + 9000, 999),
                new ListenerSession("node1", "/live.mp3", "198.51.100.1", null, null, T, 64_000)), List.of());
        assertEquals("""
                NODE   MOUNT      ADDRESS       USER AGENT  CONNECTED SINCE       BYTES
                node1  /live.mp3  198.51.100.1  -           2026-11-18T11:06:40Z  64.0 kB
                node1  /live.mp3  2001:db8::7   mpv 0.35    2026-11-18T11:06:49Z  999 B
                node2  /live.mp3  203.0.113.9   VLC/3.0.20  2026-11-18T11:06:45Z  1.2 MB
                """, r.render());
        assertEquals("2026-11-18T11:06:40Z", r.listeners().get(0).connectedSince());
    }

    @Test
    void aUserAgentCannotWriteToTheTerminal() {
        ListenersReport r = ListenersReport.of(List.of(new ListenerSession("node1", "/live.mp3", "192.0.2.1",
                "evil\u001b[2J\u001b]0;title\u0007\r\n\\x", null, T, 1)), List.of());
        String text = r.render();
        assertFalse(text.contains("\u001b") || text.contains("\u0007") || text.contains("\r"), text);
        assertTrue(text.contains("evil\\x1b[2J\\x1b]0;title\\x07\\x0d\\x0a\\\\x"), text);
    }

    @Test
    void withoutListenersItSaysSo() {
        assertEquals("no listeners\n", ListenersReport.of(List.of(), List.of()).render());
        assertEquals("no listeners on the nodes that answered\n", ListenersReport.of(List.of(),
                List.of(new ListenersReport.Unanswered("node3", "http://x", "connection refused"))).render());
    }
}
