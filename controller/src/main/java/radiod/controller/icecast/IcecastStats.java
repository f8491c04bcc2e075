package radiod.controller.icecast;

import java.util.Map;

/**
 * What the local Icecast said in one status read.
 *
 * @param up               whether it answered with its status
 * @param listeners        Icecast's listeners over all mounts: radiod's own readers of the mounts, not the node's listeners (radiod counts those)
 * @param listenersByMount Icecast's listeners per mount path, for mounts whose source (radiod's feed) is live here only
 * @param bandwidthBps     outgoing stream bandwidth, bits per second (see {@link IcecastStatusReader})
 */
public record IcecastStats(boolean up, int listeners, Map<String, Integer> listenersByMount, long bandwidthBps) {
    public static final IcecastStats DOWN = new IcecastStats(false, 0, Map.of(), 0);

    public IcecastStats {
        listenersByMount = Map.copyOf(listenersByMount);
        if (listeners < 0 || bandwidthBps < 0) {
            throw new IllegalArgumentException("listeners and bandwidth cannot be negative, got " + listeners
                    + " and " + bandwidthBps);
        }
    }
}
