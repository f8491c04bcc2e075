package radiod.radioctl;

/** An expected failure of a command, worded for the operator, with the exit code it ends radioctl with. */
public final class Failure extends RuntimeException {
    private final int exitCode;

    public Failure(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public static Failure usage(String message) {
        return new Failure(ExitCode.USAGE, message);
    }

    public static Failure notFound(String message) {
        return new Failure(ExitCode.NOT_FOUND, message);
    }

    public static Failure conflict(String message) {
        return new Failure(ExitCode.CONFLICT, message);
    }

    public int exitCode() {
        return exitCode;
    }
}
