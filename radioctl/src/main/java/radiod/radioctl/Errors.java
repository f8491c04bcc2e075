package radiod.radioctl;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import io.grpc.Status;
import radiod.cluster.etcd.EtcdErrors;
import radiod.cluster.etcd.EtcdUnavailableException;
import radiod.cluster.model.Redact;
import radiod.cluster.mounts.CorruptMountException;
import radiod.cluster.mounts.MountChangedException;
import radiod.cluster.mounts.MountExistsException;
import radiod.cluster.mounts.MountNotFoundException;
import radiod.radioctl.connect.Settings;
import radiod.radioctl.output.Printer;

/** Turns what went wrong into one line on standard error and radioctl's {@link ExitCode}. */
public final class Errors {
    /** How the stores name their writes: a timeout there leaves the outcome unknown (etcd may apply it later). */
    /**
     * How etcd says, by gRPC status code, that it was reached but did not accept radioctl's credentials: a missing
     * user name or a wrong password is INVALID_ARGUMENT (etcd's own choice), an expired or unknown token
     * UNAUTHENTICATED, and a request that the user may not make PERMISSION_DENIED.
     */
    private static final Set<Status.Code> AUTH_FAILURES = EnumSet.of(Status.Code.INVALID_ARGUMENT,
            Status.Code.UNAUTHENTICATED, Status.Code.PERMISSION_DENIED);
    private static final List<String> WRITES = List.of("creating ", "updating ", "deleting ", "draining ", "undraining ");

    private Errors() {
    }

    /**
     * @param settings the resolved settings, or null if resolving them failed
     * @return the exit code
     */
    public static int report(RuntimeException e, Printer printer, Settings settings) {
        if (e instanceof Failure f) {
            printer.error(f.getMessage());
            return f.exitCode();
        }
        if (e instanceof MountExistsException || e instanceof MountChangedException) {
            printer.error(e.getMessage());
            return ExitCode.CONFLICT;
        }
        if (e instanceof MountNotFoundException) {
            printer.error(e.getMessage());
            return ExitCode.NOT_FOUND;
        }
        if (e instanceof CorruptMountException) {
            printer.error(e.getMessage());
            return ExitCode.OTHER;
        }
        if (e instanceof EtcdUnavailableException u) {
            String where = settings == null ? ""
                    : " at " + String.join(",", settings.etcd().endpoints().stream().map(Redact::url).toList());
            String m = u.getMessage() == null ? "" : u.getMessage();
            Status.Code code = EtcdErrors.code(u);
            boolean authenticated = settings != null
                    && (settings.etcd().username() != null || settings.etcd().certFile() != null);
            if (authenticated && code == Status.Code.PERMISSION_DENIED) {
                // Authenticated, but the user's etcd roles do not cover this request, which etcd refused whole.
                String who = settings.etcd().username() != null ? "user " + settings.etcd().username()
                        : "the user of the client certificate";
                printer.error("etcd" + where + " refused " + who + " this request (" + m + "): its etcd role does "
                        + "not allow it (a read-only user can run status, list-mounts, show-mount and listeners; "
                        + "changes need a user with the radioctl role)");
                return ExitCode.OTHER;
            }
            if (AUTH_FAILURES.contains(code)) {
                printer.error("etcd" + where + " refused radioctl (" + m
                        + "); check --etcd-user/--etcd-password or the config file");
                return ExitCode.OTHER;
            }
            boolean write = WRITES.stream().anyMatch(m::startsWith);
            printer.error("etcd" + where + " is unreachable (" + m + "); "
                    + (write ? "the change may or may not have been made, look once etcd answers; " : "")
                    + "check --endpoints, RADIOCTL_ENDPOINTS or the config file");
            return ExitCode.ETCD_UNAVAILABLE;
        }
        if (e instanceof IllegalArgumentException) {
            printer.error(e.getMessage());
            return ExitCode.USAGE;
        }
        printer.error("unexpected error: " + e);
        return ExitCode.OTHER;
    }
}
