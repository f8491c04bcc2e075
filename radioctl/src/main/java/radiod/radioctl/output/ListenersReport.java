package radiod.radioctl.output;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.List;

import radiod.cluster.model.ListenerSession;

/**
 * What {@code radioctl listeners} found: every listener the live nodes reported, and the nodes that did not answer.
 *
 * @param listeners  sorted by node, mount and connection time
 * @param unanswered nodes whose listeners are missing from {@code listeners}
 */
public record ListenersReport(List<Listener> listeners, List<Unanswered> unanswered) {
    /**
     * One listener.
     *
     * @param connectedAt    epoch milliseconds
     * @param connectedSince the same as an ISO-8601 instant
     * @param bytes          stream bytes sent to it so far
     */
    public record Listener(String node, String mount, String address, String userAgent, String referer,
                           long connectedAt, String connectedSince, long bytes) {
        static Listener of(ListenerSession s) {
            return new Listener(s.node(), s.mount(), s.address(), s.userAgent(), s.referer(), s.connectedAt(),
                    Instant.ofEpochMilli(s.connectedAt()).truncatedTo(ChronoUnit.SECONDS).toString(), s.bytes());
        }
    }

    /** A node that did not answer, where it was asked, and why. */
    public record Unanswered(String node, String url, String error) {
    }

    public static ListenersReport of(List<ListenerSession> sessions, List<Unanswered> unanswered) {
        List<Listener> listeners = sessions.stream().map(Listener::of)
                .sorted(Comparator.comparing(Listener::node).thenComparing(Listener::mount)
                        .thenComparingLong(Listener::connectedAt))
                .toList();
        return new ListenersReport(listeners, unanswered.stream().sorted(Comparator.comparing(Unanswered::node)).toList());
    }

    /** The table people read; user agents with anything but printable ASCII escaped, so no terminal is fooled. */
    public String render() {
        if (listeners.isEmpty()) {
            return "no listeners" + (unanswered.isEmpty() ? "" : " on the nodes that answered") + "\n";
        }
        Table t = new Table("NODE", "MOUNT", "ADDRESS", "USER AGENT", "CONNECTED SINCE", "BYTES");
        for (Listener l : listeners) {
            t.row(l.node(), l.mount(), printable(l.address()), printable(l.userAgent()), l.connectedSince(),
                    Units.bytes(l.bytes()));
        }
        return t.render();
    }

    /** {@code s} with control characters, backslashes and non-ASCII as escapes; null stays null (shown as -). */
    static String printable(String s) {
        if (s == null || s.isEmpty()) {
            return null;
        }
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x7f && c != '\\') {
                sb.append(c);
            } else if (c == '\\') {
                sb.append("\\\\");
            } else if (c <= 0xff) {
                sb.append(String.format("\\x%02x", (int) c));
            } else {
                sb.append(String.format("\\u%04x", (int) c));
            }
        }
        return sb.toString();
    }
}
