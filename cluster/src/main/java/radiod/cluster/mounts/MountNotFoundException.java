package radiod.cluster.mounts;

/** A mount that an operation needs is not stored (any more); nothing was written. */
public final class MountNotFoundException extends RuntimeException {
    private final String path;

    public MountNotFoundException(String path) {
        this(path, "mount " + path + " does not exist (see `radioctl list-mounts`)");
    }

    public MountNotFoundException(String path, String message) {
        super(message);
        this.path = path;
    }

    public String path() {
        return path;
    }
}
