package radiod.cluster.etcd;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which etcd members to talk to, judged from rounds of probes ({@link MemberProbe}): a member is kept away from after
 * {@link #FAILURES_TO_LEAVE} failed probes in a row (no answer in time, or no raft leader), and talked to again
 * after {@link #ANSWERS_TO_RETURN} good ones in a row, so one slow answer on a busy machine does not rebuild the
 * client, nor does a member that flickers back for a moment. When no member is good every one is used: there is
 * nothing better to try, and a node that cannot reach a quorum must find out from its calls, not from the probe.
 * Not thread-safe: one prober calls it.
 *
 * <p>It also says when a member is reached again after {@link #SILENT_ROUNDS_TO_RENEW} or more rounds in which none
 * was ({@link #reachedAfterSilence}): by then the client's gRPC channel is waiting out a reconnect backoff that grows
 * from 1 s by 1.6 times per failed attempt up to 2 minutes, and only a new client talks to etcd at once. Rounds
 * without an answer because this process stalled (starved of CPU, a long GC) count too, and cost one needless but
 * harmless renewal: telling them from a dead network would need the client's own channel, which jetcd keeps.
 */
final class MemberHealth {
    static final int FAILURES_TO_LEAVE = 2;
    static final int ANSWERS_TO_RETURN = 3;
    static final int SILENT_ROUNDS_TO_RENEW = 2;

    private final List<String> all;
    private final Map<String, Integer> failuresInARow = new HashMap<>();
    private final Map<String, Integer> answersInARow = new HashMap<>();
    private final Map<String, String> keptAway = new HashMap<>();
    /** Rounds in a row in which no member was reached at all. */
    private int silentRounds;
    private boolean reachedAfterSilence;

    MemberHealth(List<String> all) {
        this.all = List.copyOf(all);
    }

    /** {@link #record(Map, Set)} for a round in which every member that failed was reached all the same. */
    List<String> record(Map<String, String> failures) {
        return record(failures, Set.of());
    }

    /**
     * One round: for each member probed, null when it answered well, else why not; {@code unreached}, the members
     * that could not be asked at all (no connection, no answer in time), as opposed to those that answered badly
     * (no raft leader). Returns the members to use, in the configured order.
     */
    List<String> record(Map<String, String> failures, Set<String> unreached) {
        boolean noneReached = failures.keySet().stream().allMatch(unreached::contains);
        reachedAfterSilence = !noneReached && silentRounds >= SILENT_ROUNDS_TO_RENEW;
        silentRounds = noneReached ? silentRounds + 1 : 0;
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

    /**
     * Whether the last round reached a member after {@link #SILENT_ROUNDS_TO_RENEW} or more rounds that reached
     * none: the moment to build a new client rather than wait for gRPC's next reconnect attempt.
     */
    boolean reachedAfterSilence() {
        return reachedAfterSilence;
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
