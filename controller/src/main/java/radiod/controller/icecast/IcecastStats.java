package radiod.controller.icecast;

import java.util.Map;

/**
 * What the local Icecast said in its last status poll.
 *
 * @param up               whether it answered
 * @param listeners        listeners over all mounts
 * @param listenersByMount listeners per mount that has a live source (or connected relay)
 */
public record IcecastStats(boolean up, int listeners, Map<String, Integer> listenersByMount) {
    public static final IcecastStats DOWN = new IcecastStats(false, 0, Map.of());

    public IcecastStats {
        listenersByMount = Map.copyOf(listenersByMount);
    }
}
