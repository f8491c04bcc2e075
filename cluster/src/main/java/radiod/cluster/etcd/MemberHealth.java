package radiod.cluster.etcd;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which etcd members to talk to, judged from rounds of probes ({@link MemberProbe}): a member is kept away from after
 * {@link #FAILURES_TO_LEAVE} failed probes in a row (no answer in time, or no raft leader), and talked to again
 * after {@link #ANSWERS_TO_RETURN} good ones in a row, so one slow answer on a busy machine does not rebuild the
 * client, nor does a member that flickers back for a moment. When no member is good every one is used: there is
 * nothing better to try, and a node that cannot reach a quorum must find out from its calls, not from the probe.
 * Not thread-safe: one prober calls it.
 */
final class MemberHealth {
    static final int FAILURES_TO_LEAVE = 2;
    static final int ANSWERS_TO_RETURN = 3;

    private final List<String> all;
    private final Map<String, Integer> failuresInARow = new HashMap<>();
    private final Map<String, Integer> answersInARow = new HashMap<>();
    private final Map<String, String> keptAway = new HashMap<>();

    MemberHealth(List<String> all) {
        this.all = List.copyOf(all);
    }

    /**
     * One round: for each member probed, null when it answered well, else why not. Returns the members to use,
     * in the configured order.
     */
    List<String> record(Map<String, String> failures) {
        for (String member : all) {
            if (!failures.containsKey(member)) {
                continue; // not probed this round
            }
            String why = failures.get(member);
            if (why == null) {
                failuresInARow.put(member, 0);
                int answers = answersInARow.merge(member, 1, Integer::sum);
                if (answers >= ANSWERS_TO_RETURN) {
                    keptAway.remove(member);
                }
            } else {
                answersInARow.put(member, 0);
                int failed = failuresInARow.merge(member, 1, Integer::sum);
                if (failed >= FAILURES_TO_LEAVE) {
                    keptAway.put(member, why);
                }
            }
        }
        return use();
    }

    /** The members to use now. */
    List<String> use() {
        List<String> good = new ArrayList<>();
        for (String member : all) {
            if (!keptAway.containsKey(member)) {
                good.add(member);
            }
        }
        return good.isEmpty() ? all : good;
    }

    /** The members kept away from, and why. */
    Map<String, String> keptAway() {
        return Map.copyOf(keptAway);
    }
}
