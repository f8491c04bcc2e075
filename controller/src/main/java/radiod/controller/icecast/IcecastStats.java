package radiod.controller.icecast;

import java.util.Map;

/**
 * What the local Icecast said in one status read.
 *
 * @param up               whether it answered with its status
 * @param listeners        listeners over all mounts (on the master, connected relays count as listeners)
 * @param listenersByMount listeners per mount path, for mounts whose source (or relay) is live here only
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
