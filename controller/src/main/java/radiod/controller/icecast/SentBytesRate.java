package radiod.controller.icecast;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Turns Icecast's per-source {@code total_bytes_sent} counters into bits per second. Icecast 2.4.4 refreshes
 * those counters only every 5 s, so a rate is taken between two observed changes of a counter (never from the
 * first one, whose start is unknown), and a counter that has not moved for two periods means nothing is sent (and the next change only
 * re-anchors).
 * A source that restarts (new {@code stream_start}) or a counter that goes back starts over.
 */
final class SentBytesRate {
    /** One source's counter as read from {@code /admin/stats}. */
    record Counter(String streamStart, long bytesSent) {
    }

    private static final long STALE_NANOS = TimeUnit.SECONDS.toNanos(11);

    private record State(String streamStart, long bytes, long changedAt, boolean sawChange, long bps) {
    }

    private final Map<String, State> states = new HashMap<>();

    /** Takes a reading of all sources at {@code nowNanos}; returns the total rate in bits per second. */
    long update(Map<String, Counter> counters, long nowNanos) {
        states.keySet().retainAll(counters.keySet());
        long total = 0;
        for (Map.Entry<String, Counter> e : counters.entrySet()) {
            Counter c = e.getValue();
            State s = states.get(e.getKey());
            State next;
            if (s == null || !s.streamStart().equals(c.streamStart()) || c.bytesSent() < s.bytes()) {
                next = new State(c.streamStart(), c.bytesSent(), nowNanos, false, 0);
            } else if (c.bytesSent() > s.bytes()) {
                long bps = s.sawChange() && nowNanos > s.changedAt()
                        ? (c.bytesSent() - s.bytes()) * 8 * 1_000_000_000L / (nowNanos - s.changedAt())
                        : 0;
                next = new State(c.streamStart(), c.bytesSent(), nowNanos, true, bps);
            } else if (nowNanos - s.changedAt() > STALE_NANOS) {
                next = new State(s.streamStart(), s.bytes(), s.changedAt(), false, 0);
            } else {
                next = s;
            }
            states.put(e.getKey(), next);
            total += next.bps();
        }
        return total;
    }

    void reset() {
        states.clear();
    }
}
