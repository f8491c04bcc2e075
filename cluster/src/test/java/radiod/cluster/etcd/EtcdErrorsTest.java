package radiod.cluster.etcd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.Test;

import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdExceptionFactory;
import io.grpc.Status;

/** etcd failures told apart by their type and code, wherever they sit in the cause chain, never by their text. */
class EtcdErrorsTest {

    @Test
    void aLeaseNotFoundIsRecognisedThroughJetcdsExceptionAndOurWrapper() {
        var jetcd = EtcdExceptionFactory.newEtcdException(ErrorCode.NOT_FOUND, "whatever the server says");
        var wrapped = new EtcdUnavailableException("keeping lease alive: …", new ExecutionException(jetcd));
        assertTrue(EtcdErrors.isNotFound(wrapped));
        assertEquals(Status.Code.NOT_FOUND, EtcdErrors.code(wrapped));
    }

    @Test
    void theGrpcStatusCodeIsReadFromAStatusException() {
        var grpc = Status.PERMISSION_DENIED.withDescription("not a word about it").asRuntimeException();
        assertEquals(Status.Code.PERMISSION_DENIED, EtcdErrors.code(new CompletionException(grpc)));
        assertTrue(EtcdErrors.isDenied(new CompletionException(grpc)));
        assertTrue(EtcdErrors.isDenied(Status.UNAUTHENTICATED.asException()));
        assertFalse(EtcdErrors.isNotFound(grpc));
    }

    @Test
    void aMessageThatMerelyMentionsNotFoundIsNotANotFound() {
        var unavailable = Status.UNAVAILABLE.withDescription("NOT_FOUND refused").asRuntimeException();
        assertFalse(EtcdErrors.isNotFound(new EtcdUnavailableException("NOT_FOUND", unavailable)));
        assertFalse(EtcdErrors.isNotFound(new RuntimeException("etcdserver: requested lease not found")));
        assertEquals(Status.Code.UNKNOWN, EtcdErrors.code(new RuntimeException("NOT_FOUND")));
    }

    @Test
    void compactionAndRefusedConnectionsAreFoundByType() {
        assertTrue(EtcdErrors.isCompacted(new RuntimeException(EtcdExceptionFactory.newCompactedException(42))));
        assertFalse(EtcdErrors.isCompacted(EtcdExceptionFactory.newEtcdException(ErrorCode.OUT_OF_RANGE, "compacted")));
        assertTrue(EtcdErrors.isConnectionRefused(new RuntimeException(new ConnectException("x"))));
        assertFalse(EtcdErrors.isConnectionRefused(new RuntimeException("Connection refused")));
    }

    @Test
    void aDefiniteNoIsAnsweredAndATimeoutOrNoLeaderIsNot() {
        assertTrue(EtcdErrors.isAnswered(new EtcdUnavailableException("revoke", Status.PERMISSION_DENIED.asRuntimeException())));
        assertTrue(EtcdErrors.isAnswered(EtcdExceptionFactory.newEtcdException(ErrorCode.NOT_FOUND, "lease not found")));
        assertFalse(EtcdErrors.isAnswered(new EtcdUnavailableException("revoke", Status.UNAVAILABLE.asRuntimeException())));
        assertFalse(EtcdErrors.isAnswered(new EtcdUnavailableException("revoke: etcd did not answer within 1000 ms",
                new TimeoutException())));
        assertFalse(EtcdErrors.isAnswered(new IllegalStateException("the node's etcd client was rebuilt")));
    }

    @Test
    void aCauseIsFoundByTypeAnywhereInTheChain() {
        var deep = new EtcdUnavailableException("keeping lease alive", new ExecutionException(new IllegalStateException("x")));
        assertTrue(EtcdErrors.isCausedBy(deep, IllegalStateException.class));
        assertFalse(EtcdErrors.isCausedBy(deep, ConnectException.class));
    }

    @Test
    void aCyclicCauseChainEnds() {
        RuntimeException a = new RuntimeException("a");
        RuntimeException b = new RuntimeException("b", a);
        a.initCause(b);
        assertEquals(Status.Code.UNKNOWN, EtcdErrors.code(a));
    }
}
