package radiod.controller.icecast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.model.Transcoding;
import radiod.cluster.view.ClusterSnapshot;
import radiod.controller.icecast.IcecastPlan.MountPlan;

/**
 * What Icecast must be told (mounts and fallbacks) changes only when mounts do: a master change gives an equal plan,
 * so Icecast is not reloaded, and a plan carries no credentials.
 */
class IcecastPlanTest {
    static final Mount LIVE = new Mount("/live.mp3", "source", "s3cret", null, null, 0, 128, null);
    static final Mount JAZZ = new Mount("/jazz.mp3", "dj", "jazzpw", null, "/live.mp3", 50, 0, null);
    static final Mount LOW = new Mount("/live-64.mp3", "source", "lowpw", null, null, 0, 0,
            new Transcoding("/live.mp3", "mp3", 64, 0, 0, null));

    static MasterInfo master(String name, String address) {
        return new MasterInfo(name, List.of(address), 8100, 8000, 8080, 1);
    }

    static NodeStatus node(String name, String address, Map<String, Integer> listeners) {
        return new NodeStatus(name, List.of(address), 8080, 8000, 8100, 5353, true, false, false,
                listeners.values().stream().mapToInt(Integer::intValue).sum(), listeners, 0, 0, 0, List.of(), "test", 1);
    }

    static ClusterSnapshot view(Optional<MasterInfo> master, Mount... mounts) {
        Map<String, Mount> byPath = new java.util.HashMap<>();
        for (Mount m : mounts) {
            byPath.put(m.path(), m);
        }
        return new ClusterSnapshot(7, Map.of("node1", node("node1", "127.0.0.11", Map.of()),
                "node2", node("node2", "127.0.0.12", Map.of())), master, byPath, Map.of(), Map.of());
    }

    @Test
    void everyMountIsServedWithItsFallbackAndNothingElseTranscodedOnesIncluded() {
        IcecastPlan plan = IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), LIVE, JAZZ, LOW));

        assertEquals(List.of(new MountPlan("/jazz.mp3", "/live.mp3"), new MountPlan("/live-64.mp3", null),
                new MountPlan("/live.mp3", null)), plan.mounts(), "by path, with only the fallback");
        assertTrue(plan.mounts().get(0).declared(), "a mount with a fallback needs a <mount>");
        assertFalse(plan.mounts().get(1).declared(), "any other is served by Icecast's defaults");
        assertFalse(plan.mounts().get(2).declared());
    }

    @Test
    void aMasterChangeGivesAnEqualPlanSoIcecastIsNotReloaded() {
        IcecastPlan underNode1 = IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), LIVE, JAZZ));
        IcecastPlan underNode2 = IcecastPlan.of(view(Optional.of(master("node2", "127.0.0.12")), LIVE, JAZZ));
        IcecastPlan noMaster = IcecastPlan.of(view(Optional.empty(), LIVE, JAZZ));

        assertEquals(underNode1, underNode2);
        assertEquals(underNode1, noMaster, "no master: mounts are still declared, feeds come back with a master");
        assertEquals(underNode1.hashCode(), underNode2.hashCode());
        assertEquals(2, noMaster.mounts().size());
    }

    @Test
    void noMountsGiveTheEmptyPlan() {
        assertEquals(IcecastPlan.EMPTY, IcecastPlan.of(ClusterSnapshot.EMPTY));
        assertEquals(IcecastPlan.EMPTY, IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")))));
        assertTrue(IcecastPlan.EMPTY.mounts().isEmpty());
    }

    @Test
    void plansAreEqualWhenNothingIcecastUsesChanged() {
        ClusterSnapshot before = view(Optional.of(master("node1", "127.0.0.11")), LIVE, JAZZ);
        // Credentials, user, limit, bitrate: all kept by radiod, none by Icecast.
        Mount liveChanged = new Mount("/live.mp3", "other", "changed", null, null, 500, 320, null);
        Mount jazzChanged = new Mount("/jazz.mp3", "dj2", "jazzpw2", null, "/live.mp3", 7, 96, null);
        ClusterSnapshot after = new ClusterSnapshot(99,
                Map.of("node1", node("node1", "127.0.0.11", Map.of("/live.mp3", 40)),
                        "node3", node("node3", "127.0.0.13", Map.of())),
                Optional.of(new MasterInfo("node3", List.of("127.0.0.13"), 8100, 8000, 8080, 12345)),
                Map.of("/live.mp3", liveChanged, "/jazz.mp3", jazzChanged), Map.of("/x.mp3", "node3"), Map.of());

        assertEquals(IcecastPlan.of(before), IcecastPlan.of(after));
        assertEquals(IcecastPlan.of(before).hashCode(), IcecastPlan.of(after).hashCode());
    }

    @Test
    void plansDifferWhenAMountComesGoesOrChangesItsFallback() {
        IcecastPlan plan = IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), LIVE, JAZZ));

        assertNotEquals(plan, IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), LIVE, JAZZ, LOW)));
        assertNotEquals(plan, IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), LIVE)));
        Mount jazzFallsBackElsewhere = new Mount("/jazz.mp3", "dj", "jazzpw", null, "/live-64.mp3", 50, 0, null);
        assertNotEquals(plan, IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), LIVE, jazzFallsBackElsewhere)));
        Mount jazzWithoutFallback = new Mount("/jazz.mp3", "dj", "jazzpw", null, null, 50, 0, null);
        assertNotEquals(plan, IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), LIVE, jazzWithoutFallback)));
    }

    @Test
    void inconsistentPlansAreRefusedNamingTheProblem() {
        MountPlan live = MountPlan.of(LIVE);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new IcecastPlan(List.of(live, new MountPlan("/live.mp3", "/jazz.mp3"))));
        assertTrue(e.getMessage().contains("/live.mp3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new MountPlan("live.mp3", null));
        assertThrows(IllegalArgumentException.class, () -> new MountPlan("/live.mp3", "/<x>.mp3"));
        assertThrows(IllegalArgumentException.class, () -> new MountPlan("/admin/x.mp3", null));
    }

    @Test
    void aPlanCarriesAndPrintsNoCredentials() {
        IcecastPlan plan = IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), LIVE, JAZZ));

        String printed = plan + " " + plan.mounts();
        assertFalse(printed.contains("s3cret") || printed.contains("jazzpw") || printed.contains("dj"), printed);
        assertEquals(List.of("path", "fallbackMount"), java.util.Arrays.stream(MountPlan.class.getRecordComponents())
                .map(java.lang.reflect.RecordComponent::getName).toList(), "nothing but what icecast.xml needs");
        assertNull(plan.mounts().get(1).fallbackMount());
    }
}
