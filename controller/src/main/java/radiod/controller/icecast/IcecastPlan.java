package radiod.controller.icecast;

import java.util.Comparator;
import java.util.List;

import radiod.cluster.model.Mount;
import radiod.cluster.model.MountPath;
import radiod.cluster.view.ClusterSnapshot;

/**
 * What the local Icecast should serve: the part of the cluster view that ends up in icecast.xml and nothing
 * else, so two plans are equal exactly when they would configure Icecast the same way, and the supervisor can
 * skip the reload when a view change (a new master, a node's listener count, a mount's bitrate) does not concern
 * Icecast.
 *
 * <p>Every node's Icecast is configured alike: radiod feeds every live mount to it as that mount's only source
 * (docs/ARCHITECTURE.md), with the Icecast's own random source password, which Icecast takes for any mount without a
 * reload. So no mount carries credentials, there are no {@code <relay>}s, and who is master is not in the plan:
 * a master change never reloads Icecast. A mount is declared only for its fallback; its listener limit is kept by
 * the load-balancing pipeline from radiod's own counts (Icecast sees only radiod's readers).
 *
 * @param mounts by path
 */
public record IcecastPlan(List<MountPlan> mounts) {
    /** No mounts: nothing is declared (a feed is still taken for any mount). */
    public static final IcecastPlan EMPTY = new IcecastPlan(List.of());

    /**
     * One mount's settings on Icecast.
     *
     * @param path          e.g. {@code /live.mp3}
     * @param fallbackMount where listeners go while the mount has no source; null for none
     */
    public record MountPlan(String path, String fallbackMount) {
        public MountPlan {
            MountPath.validate(path);
            if (fallbackMount != null) {
                MountPath.validate(fallbackMount);
            }
        }

        public static MountPlan of(Mount m) {
            return new MountPlan(m.path(), m.fallbackMount());
        }

        /** Whether Icecast needs a {@code <mount>} for it (the defaults serve any other). */
        public boolean declared() {
            return fallbackMount != null;
        }
    }

    public IcecastPlan {
        mounts = mounts.stream().sorted(Comparator.comparing(MountPlan::path)).toList();
        if (mounts.stream().map(MountPlan::path).distinct().count() != mounts.size()) {
            throw new IllegalArgumentException("a plan has each mount path once, got " + mounts);
        }
    }

    /** The plan for any node of a cluster in this view. */
    public static IcecastPlan of(ClusterSnapshot view) {
        return new IcecastPlan(view.mounts().values().stream().map(MountPlan::of).toList());
    }

    @Override
    public String toString() {
        return mounts.stream().map(MountPlan::path).toList().toString();
    }
}
