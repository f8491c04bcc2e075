package radiod.controller.icecast;

import java.util.Comparator;
import java.util.List;
import java.util.Objects;

import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.MountPath;
import radiod.cluster.view.ClusterSnapshot;

/**
 * What the local Icecast should serve: the part of the cluster view that ends up in icecast.xml and nothing
 * else, so two plans are equal exactly when they would configure Icecast the same way, and the supervisor can
 * skip the reload when a view change (a node's listener count, a mount's bitrate) does not concern Icecast.
 *
 * @param role       MASTER takes sources; RELAY pulls every mount from the master; STANDBY (no master yet)
 *                   serves nothing
 * @param mounts     by path; MASTER: with source credentials (and an upstream URL for relayed mounts);
 *                   RELAY: without them, nothing is accepted from sources
 * @param masterHost the master's Icecast address (RELAY only)
 * @param masterPort the master's Icecast port (RELAY only)
 */
public record IcecastPlan(Role role, List<MountPlan> mounts, String masterHost, int masterPort) {
    public enum Role { MASTER, RELAY, STANDBY }

    /** No master yet: Icecast runs, but serves nothing and accepts no source. */
    public static final IcecastPlan STANDBY = new IcecastPlan(Role.STANDBY, List.of(), null, 0);

    /**
     * One mount as Icecast needs it.
     *
     * @param path           e.g. {@code /live.mp3}
     * @param sourceUser     MASTER: user encoders authenticate with; RELAY: null
     * @param sourcePassword MASTER: encoder password; RELAY: null
     * @param upstreamUrl    MASTER: an external {@code http://} URL to relay instead of a live source; else null
     * @param fallbackMount  where listeners go while the mount has no source; null for none
     * @param maxListeners   listener limit on this node; 0 for none
     */
    public record MountPlan(String path, String sourceUser, String sourcePassword, String upstreamUrl,
                            String fallbackMount, int maxListeners) {
        public MountPlan {
            MountPath.validate(path);
            if (fallbackMount != null) {
                MountPath.validate(fallbackMount);
            }
            if ((sourceUser == null) != (sourcePassword == null)) {
                throw new IllegalArgumentException("mount " + path + ": source user and password go together");
            }
            if (maxListeners < 0) {
                throw new IllegalArgumentException("mount " + path + ": max listeners must be 0 (no limit) or more, got "
                        + maxListeners);
            }
        }

        @Override
        public String toString() {
            return "MountPlan[" + path + (sourceUser == null ? "" : ", source user " + sourceUser + ", password hidden")
                    + (upstreamUrl == null ? "" : ", relays an upstream URL")
                    + (fallbackMount == null ? "" : ", fallback " + fallbackMount)
                    + (maxListeners == 0 ? "" : ", max " + maxListeners) + "]";
        }

        /** As the master serves it: sources connect with the mount's credentials. */
        public static MountPlan onMaster(Mount m) {
            return new MountPlan(m.path(), m.sourceUser(), m.sourcePassword(), m.upstreamUrl(), m.fallbackMount(),
                    m.maxListeners());
        }

        /** As a relay serves it: pulled from the master, no source accepted. */
        public static MountPlan onRelay(Mount m) {
            return new MountPlan(m.path(), null, null, null, m.fallbackMount(), m.maxListeners());
        }
    }

    public IcecastPlan {
        Objects.requireNonNull(role, "role");
        mounts = mounts.stream().sorted(Comparator.comparing(MountPlan::path)).toList();
        if (mounts.stream().map(MountPlan::path).distinct().count() != mounts.size()) {
            throw new IllegalArgumentException("a plan has each mount path once, got " + mounts);
        }
        switch (role) {
            case MASTER -> {
                if (masterHost != null || masterPort != 0) {
                    throw new IllegalArgumentException("a MASTER plan has no master host or port");
                }
                for (MountPlan m : mounts) {
                    if (m.sourceUser() == null) {
                        throw new IllegalArgumentException("MASTER plan: mount " + m.path() + " has no source credentials");
                    }
                }
            }
            case RELAY -> {
                if (masterHost == null || masterHost.isBlank() || masterPort < 1 || masterPort > 65535) {
                    throw new IllegalArgumentException("a RELAY plan needs the master's host and a port 1-65535, got "
                            + masterHost + ":" + masterPort);
                }
                for (MountPlan m : mounts) {
                    if (m.sourceUser() != null || m.upstreamUrl() != null) {
                        throw new IllegalArgumentException("RELAY plan: mount " + m.path()
                                + " must not carry source credentials or an upstream URL");
                    }
                }
            }
            case STANDBY -> {
                if (!mounts.isEmpty() || masterHost != null || masterPort != 0) {
                    throw new IllegalArgumentException("a STANDBY plan has no mounts and no master");
                }
            }
        }
    }

    public static IcecastPlan master(List<MountPlan> mounts) {
        return new IcecastPlan(Role.MASTER, mounts, null, 0);
    }

    public static IcecastPlan relay(String masterHost, int masterPort, List<MountPlan> mounts) {
        return new IcecastPlan(Role.RELAY, mounts, masterHost, masterPort);
    }

    /**
     * The plan for node {@code myName}: MASTER if the view names it master, RELAY from the master's Icecast
     * otherwise, STANDBY while there is no master. Every mount is served in both roles, transcoded ones included
     * (liquidsoap pushes them to the master like any encoder).
     *
     * @param view   the view as this node may act on it: it must name this node master only while this node
     *               holds the election (see {@code RadiodNode.actionableView()})
     */
    public static IcecastPlan of(ClusterSnapshot view, String myName) {
        Objects.requireNonNull(myName, "myName");
        if (view.master().isEmpty()) {
            return STANDBY;
        }
        MasterInfo master = view.master().get();
        if (master.name().equals(myName)) {
            return master(view.mounts().values().stream().map(MountPlan::onMaster).toList());
        }
        return relay(master.address(), master.icecastPort(),
                view.mounts().values().stream().map(MountPlan::onRelay).toList());
    }

    @Override
    public String toString() {
        String paths = mounts.stream().map(MountPlan::path).toList().toString();
        return switch (role) {
            case MASTER -> "MASTER " + paths;
            case RELAY -> "RELAY from " + masterHost + ":" + masterPort + " " + paths;
            case STANDBY -> "STANDBY";
        };
    }
}
