package radiod.cluster.mounts;

/** The value stored for a mount cannot be decoded; it can still be deleted and created again. */
public final class CorruptMountException extends RuntimeException {
    private final String path;

    public CorruptMountException(String path, String key, String reason) {
        super("mount " + path + " is stored corrupt at " + key + " (" + reason + "): delete it with `radioctl delete-mount "
                + path + "` and create it again");
        this.path = path;
    }

    public String path() {
        return path;
    }
}
