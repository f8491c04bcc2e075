package radiod.cluster.etcd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

class MemberHealthTest {
    static final List<String> ALL = List.of("http://a:2379", "http://b:2379", "http://c:2379");

    /** A round in which {@code bad} failed and every other member answered. */
    static Map<String, String> round(String... bad) {
        Map<String, String> r = new HashMap<>();
        ALL.forEach(m -> r.put(m, null));
        for (String b : bad) {
            r.put(b, "no status answer within 450 ms");
        }
        return r;
    }

    @Test
    void aMemberIsLeftAfterTwoFailedProbesInARowAndTakenBackAfterThreeAnswers() {
        MemberHealth h = new MemberHealth(ALL);
        assertEquals(ALL, h.record(round()));
        assertEquals(ALL, h.record(round(ALL.get(1))), "one slow answer is not enough to rebuild the client");
        assertEquals(List.of(ALL.get(0), ALL.get(2)), h.record(round(ALL.get(1))));
        assertEquals(Map.of(ALL.get(1), "no status answer within 450 ms"), h.keptAway());
        assertEquals(List.of(ALL.get(0), ALL.get(2)), h.record(round()));
        assertEquals(List.of(ALL.get(0), ALL.get(2)), h.record(round()));
        assertEquals(ALL, h.record(round()), "three answers in a row bring it back");
        assertEquals(Map.of(), h.keptAway());
    }

    @Test
    void failuresThatAreNotInARowDoNotCount() {
        MemberHealth h = new MemberHealth(ALL);
        for (int i = 0; i < 10; i++) {
            assertEquals(ALL, h.record(round(ALL.get(0))));
            assertEquals(ALL, h.record(round()));
        }
    }

    @Test
    void aMemberThatFlickersBackForAMomentStaysAway() {
        MemberHealth h = new MemberHealth(ALL);
        h.record(round(ALL.get(2)));
        h.record(round(ALL.get(2)));
        h.record(round());
        h.record(round());
        assertEquals(List.of(ALL.get(0), ALL.get(1)), h.record(round(ALL.get(2))));
        h.record(round());
        h.record(round());
        assertEquals(ALL, h.record(round()));
    }

    @Test
    void whenNoMemberAnswersEveryOneIsTried() {
        MemberHealth h = new MemberHealth(ALL);
        h.record(round(ALL.toArray(String[]::new)));
        assertEquals(ALL, h.record(round(ALL.toArray(String[]::new))));
        assertEquals(3, h.keptAway().size());
        // the node's own side of a partition comes back one member at a time
        h.record(round(ALL.get(1), ALL.get(2)));
        h.record(round(ALL.get(1), ALL.get(2)));
        assertEquals(List.of(ALL.get(0)), h.record(round(ALL.get(1), ALL.get(2))));
    }

    static final Set<String> NONE_REACHED = Set.copyOf(ALL);

    @Test
    void aMemberReachedAfterTwoRoundsThatReachedNoneCallsForANewClientOnce() {
        MemberHealth h = new MemberHealth(ALL);
        Map<String, String> down = round(ALL.toArray(String[]::new));
        h.record(round());
        assertFalse(h.reachedAfterSilence());
        h.record(down, NONE_REACHED);
        h.record(down, NONE_REACHED);
        assertFalse(h.reachedAfterSilence(), "nothing to connect to yet");
        h.record(round(ALL.get(1), ALL.get(2)), Set.of(ALL.get(1), ALL.get(2)));
        assertTrue(h.reachedAfterSilence(), "the first member back: a new client now, not at gRPC's next attempt");
        h.record(round(ALL.get(1), ALL.get(2)), Set.of(ALL.get(1), ALL.get(2)));
        assertFalse(h.reachedAfterSilence(), "once");
    }

    @Test
    void oneRoundThatReachedNoMemberIsABlipNotAnOutage() {
        MemberHealth h = new MemberHealth(ALL);
        h.record(round(ALL.toArray(String[]::new)), NONE_REACHED);
        h.record(round());
        assertFalse(h.reachedAfterSilence());
    }

    @Test
    void membersThatAnswerWithoutARaftLeaderWereReached() {
        MemberHealth h = new MemberHealth(ALL);
        Map<String, String> noLeader = new HashMap<>();
        ALL.forEach(m -> noLeader.put(m, "it has no raft leader"));
        for (int i = 0; i < 5; i++) {
            assertEquals(ALL, h.record(noLeader, Set.of()));
        }
        h.record(round());
        assertFalse(h.reachedAfterSilence(), "the client's connections never failed: nothing to renew");
    }

    @Test
    void aSingleMemberRestarted() {
        List<String> one = List.of(ALL.get(0));
        MemberHealth h = new MemberHealth(one);
        Map<String, String> down = Map.of(ALL.get(0), "unreachable (io exception)");
        for (int i = 0; i < 4; i++) {
            assertEquals(one, h.record(down, Set.copyOf(one)), "the only member is used all the same");
        }
        assertEquals(one, h.record(Map.of(ALL.get(0), "it has no raft leader"), Set.of()));
        assertTrue(h.reachedAfterSilence());
    }
}
