package radiod.radioctl;

/** radioctl's exit codes, so that scripts can tell what went wrong without reading the message. */
public final class ExitCode {
    /** Done. */
    public static final int OK = 0;
    /** Anything not covered below (e.g. a corrupt value in etcd). */
    public static final int OTHER = 1;
    /** A bad command line or an invalid value; nothing was written. */
    public static final int USAGE = 2;
    /** The mount (or node) named does not exist. */
    public static final int NOT_FOUND = 3;
    /** The mount exists already, someone else changed it meanwhile, or other mounts depend on it. */
    public static final int CONFLICT = 4;
    /** etcd did not answer within the timeout. */
    public static final int ETCD_UNAVAILABLE = 5;
    /** {@code status}: no node holds the master key (the report is printed all the same). */
    public static final int NO_MASTER = 6;
    /** Some nodes did not answer (radioctl listeners): what the others answered was printed. */
    public static final int PARTIAL = 7;
    /** {@code drain --wait}: drained, but listeners were still connected to the node when the wait ended. */
    public static final int LISTENERS_LEFT = 8;

    private ExitCode() {
    }
}
