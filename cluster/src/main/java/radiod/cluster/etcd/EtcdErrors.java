package radiod.cluster.etcd;

import java.net.ConnectException;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.common.exception.EtcdException;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;

/**
 * What went wrong with an etcd call, by type and never by message text: the gRPC status code carried by a
 * {@link StatusRuntimeException}/{@link StatusException}, jetcd's {@link EtcdException} error code, or a
 * {@link ConnectException}, found anywhere in the cause chain (jetcd and our own {@link EtcdUnavailableException}
 * wrap them).
 */
public final class EtcdErrors {
    private EtcdErrors() {
    }

    /** The gRPC code of the first status-bearing throwable in the chain; {@link Status.Code#UNKNOWN} if none. */
    public static Status.Code code(Throwable t) {
        return status(t).orElse(Status.Code.UNKNOWN);
    }

    /** The lease or key the call named does not exist (e.g. a keep-alive or revoke of an expired lease). */
    public static boolean isNotFound(Throwable t) {
        return code(t) == Status.Code.NOT_FOUND;
    }

    /** A watch or read asked for a revision etcd has compacted away: re-read, then watch from the new revision. */
    public static boolean isCompacted(Throwable t) {
        return isCausedBy(t, CompactedException.class);
    }

    /** {@code t} or one of its causes is a {@code type}. */
    public static boolean isCausedBy(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c : chain(t)) {
            if (type.isInstance(c)) {
                return true;
            }
        }
        return false;
    }

    /**
     * etcd answered the call, with a definite no (the lease or key does not exist, the caller may not, the request is
     * wrong): asking again will not change it. Anything else (a timeout, no leader, unreachable) may go another way
     * when asked again.
     */
    public static boolean isAnswered(Throwable t) {
        return switch (code(t)) {
            case NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED, INVALID_ARGUMENT, FAILED_PRECONDITION -> true;
            default -> false;
        };
    }

    /** etcd refused the caller: bad credentials, or a role that does not allow the request. */
    public static boolean isDenied(Throwable t) {
        Status.Code c = code(t);
        return c == Status.Code.UNAUTHENTICATED || c == Status.Code.PERMISSION_DENIED;
    }

    /** The peer's host answered the TCP connection with a reset: up, but nothing listens there. */
    public static boolean isConnectionRefused(Throwable t) {
        return isCausedBy(t, ConnectException.class);
    }

    private static Optional<Status.Code> status(Throwable t) {
        for (Throwable c : chain(t)) {
            if (c instanceof StatusRuntimeException s) {
                return Optional.of(s.getStatus().getCode());
            }
            if (c instanceof StatusException s) {
                return Optional.of(s.getStatus().getCode());
            }
            if (c instanceof EtcdException e && e.getErrorCode() != null) {
                // jetcd's codes are gRPC's, one for one and by name.
                return Optional.of(Status.Code.valueOf(e.getErrorCode().name()));
            }
        }
        return Optional.empty();
    }

    /** The throwable and its causes, each once (a cycle ends the walk). */
    private static Iterable<Throwable> chain(Throwable t) {
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        List<Throwable> out = new ArrayList<>();
        for (Throwable c = t; c != null && seen.put(c, Boolean.TRUE) == null; c = c.getCause()) {
            out.add(c);
        }
        return out;
    }
}
