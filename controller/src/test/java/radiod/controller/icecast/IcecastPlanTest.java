package radiod.controller.icecast;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import radiod.controller.icecast.IcecastPlan.Role;

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
    void withoutAMasterTheNodeStandsBy() {
        IcecastPlan plan = IcecastPlan.of(view(Optional.empty(), LIVE), "node1");

        assertEquals(IcecastPlan.STANDBY, plan);
        assertTrue(plan.mounts().isEmpty());
    }

    @Test
    void theMasterServesEveryMountWithItsSourceCredentialsTranscodedOnesIncluded() {
        IcecastPlan plan = IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), LIVE, JAZZ, LOW), "node1");

        assertEquals(Role.MASTER, plan.role());
        assertEquals(List.of("/jazz.mp3", "/live-64.mp3", "/live.mp3"), plan.mounts().stream().map(MountPlan::path).toList());
        MountPlan jazz = plan.mounts().get(0);
        assertEquals("dj", jazz.sourceUser());
        assertEquals("jazzpw", jazz.sourcePassword());
        assertEquals("/live.mp3", jazz.fallbackMount());
        assertEquals(50, jazz.maxListeners());
        assertNull(plan.masterHost());
    }

    @Test
    void anotherNodeRelaysEveryMountFromTheMastersIcecastAndTakesNoSource() {
        IcecastPlan plan = IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), LIVE, JAZZ, LOW), "node2");

        assertEquals(Role.RELAY, plan.role());
        assertEquals("127.0.0.11", plan.masterHost());
        assertEquals(8100, plan.masterPort());
        assertEquals(3, plan.mounts().size());
        assertTrue(plan.mounts().stream().allMatch(m -> m.sourceUser() == null && m.sourcePassword() == null));
        assertEquals("/live.mp3", plan.mounts().get(0).fallbackMount());
    }

    @Test
    void plansAreEqualWhenNothingIcecastUsesChanged() {
        ClusterSnapshot before = view(Optional.of(master("node1", "127.0.0.11")), LIVE, JAZZ);
        Mount liveAt320 = new Mount("/live.mp3", "source", "s3cret", null, null, 0, 320, null);
        ClusterSnapshot after = new ClusterSnapshot(99,
                Map.of("node1", node("node1", "127.0.0.11", Map.of("/live.mp3", 40)),
                        "node3", node("node3", "127.0.0.13", Map.of())),
                Optional.of(new MasterInfo("node1", List.of("127.0.0.11"), 8100, 8000, 8080, 12345)),
                Map.of("/live.mp3", liveAt320, "/jazz.mp3", JAZZ), Map.of("/x.mp3", "node3"), Map.of());

        assertEquals(IcecastPlan.of(before, "node2"), IcecastPlan.of(after, "node2"));
        assertEquals(IcecastPlan.of(before, "node1"), IcecastPlan.of(after, "node1"));
        assertEquals(IcecastPlan.of(before, "node2").hashCode(), IcecastPlan.of(after, "node2").hashCode());
    }

    @Test
    void plansDifferWhenTheMasterMovesOrAMountChanges() {
        IcecastPlan relay = IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), LIVE), "node2");

        assertNotEquals(relay, IcecastPlan.of(view(Optional.of(master("node3", "127.0.0.13")), LIVE), "node2"));
        assertNotEquals(relay, IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), LIVE, JAZZ), "node2"));
        IcecastPlan onMaster = IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), LIVE), "node1");
        Mount newPassword = new Mount("/live.mp3", "source", "changed", null, null, 0, 128, null);
        assertNotEquals(onMaster, IcecastPlan.of(view(Optional.of(master("node1", "127.0.0.11")), newPassword), "node1"));
    }

    @Test
    void inconsistentPlansAreRefusedNamingTheProblem() {
        MountPlan withCredentials = MountPlan.onMaster(LIVE);
        MountPlan bare = MountPlan.onRelay(LIVE);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> IcecastPlan.relay("127.0.0.11", 8100, List.of(withCredentials)));
        assertTrue(e.getMessage().contains("/live.mp3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> IcecastPlan.master(List.of(bare)));
        assertThrows(IllegalArgumentException.class, () -> IcecastPlan.relay("127.0.0.11", 0, List.of(bare)));
        assertThrows(IllegalArgumentException.class, () -> IcecastPlan.master(List.of(withCredentials, withCredentials)));
        assertThrows(IllegalArgumentException.class, () -> new IcecastPlan(Role.STANDBY, List.of(bare), null, 0));
    }

    @Test
    void aPlanNeverPrintsPasswords() {
        IcecastPlan plan = IcecastPlan.master(List.of(MountPlan.onMaster(LIVE)));

        assertTrue(!plan.toString().contains("s3cret") && !plan.mounts().get(0).toString().contains("s3cret"),
                plan + " " + plan.mounts());
    }
}
