package radiod.cluster.mounts;

/**
 * A compare-and-swap on a mount failed: someone else changed or deleted it after it was read.
 * Nothing was written; the caller should read the mount again and decide anew.
 */
public final class MountChangedException extends RuntimeException {
    private final String path;
    private final long expectedModRevision;
    private final long actualModRevision;

    /**
     * @param actualModRevision the mount's mod revision now, or 0 if it was deleted
     */
    public MountChangedException(String path, long expectedModRevision, long actualModRevision) {
        super(actualModRevision == 0
                ? "mount " + path + " was deleted by someone else after it was read (at revision " + expectedModRevision
                        + "); nothing was written"
                : "mount " + path + " was changed by someone else after it was read (revision " + expectedModRevision
                        + ", now " + actualModRevision + "); nothing was written: look at it again (`radioctl show-mount "
                        + path + "`) and retry");
        this.path = path;
        this.expectedModRevision = expectedModRevision;
        this.actualModRevision = actualModRevision;
    }

    public String path() {
        return path;
    }

    public long expectedModRevision() {
        return expectedModRevision;
    }

    /** The mount's mod revision when the swap failed; 0 if it no longer exists. */
    public long actualModRevision() {
        return actualModRevision;
    }
}
