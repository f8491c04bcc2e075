package radiod.cluster.mounts;

/** A mount could not be created because one with that path is already stored; nothing was written. */
public final class MountExistsException extends RuntimeException {
    private final String path;

    public MountExistsException(String path) {
        super("mount " + path + " already exists (use `radioctl edit-mount`)");
        this.path = path;
    }

    public String path() {
        return path;
    }
}
