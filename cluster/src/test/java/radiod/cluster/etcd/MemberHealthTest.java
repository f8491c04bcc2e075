package radiod.cluster.etcd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
}
