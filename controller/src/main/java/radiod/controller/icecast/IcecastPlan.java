package radiod.controller.icecast;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;

/**
 * What the local Icecast should serve, derived from the cluster view and this node's role. Plans are values:
 * equal plans render equal configs, so nothing is reloaded when nothing relevant changed.
 *
 * @param role        MASTER takes sources, RELAY pulls mounts from the master, STANDBY (no master yet) serves nothing
 * @param mounts      MASTER: every mount of the cluster; RELAY: the mounts live on the master's Icecast, as the
 *                    master last published. Relaying only live mounts means a relay connects the moment the
 *                    source is there, instead of failing early and waiting out Icecast's retry delay.
 * @param masterHost  the master's address (RELAY only)
 * @param masterPort  the master's Icecast port (RELAY only)
 */
public record IcecastPlan(Role role, List<Mount> mounts, String masterHost, int masterPort) {
    public enum Role { MASTER, RELAY, STANDBY }

    public static final IcecastPlan STANDBY = new IcecastPlan(Role.STANDBY, List.of(), null, 0);

    public IcecastPlan {
        mounts = List.copyOf(mounts);
    }

    /**
     * @param view   the view as this node may act on it (see {@code RadiodNode.actionableView()}): it names this
     *               node master only while this node holds the election
     * @param myName this node's name
     */
    public static IcecastPlan of(ClusterSnapshot view, String myName) {
        List<Mount> mounts = new ArrayList<>(view.mounts().values());
        mounts.sort(Comparator.comparing(Mount::path));
        return view.master()
                .map(m -> m.name().equals(myName)
                        ? new IcecastPlan(Role.MASTER, mounts, null, 0)
                        : new IcecastPlan(Role.RELAY, mounts.stream()
                                .filter(mount -> view.node(m.name()).map(s -> s.hasMount(mount.path())).orElse(false))
                                .toList(), m.address(), m.icecastPort()))
                .orElse(STANDBY);
    }
}
