package radiod.controller.tls;

import java.lang.reflect.Field;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

import com.google.protobuf.ByteString;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Txn;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Op;
import radiod.cluster.model.Json;
import radiod.cluster.tls.TlsCertificate;
import radiod.testkit.Delegate;

/**
 * A real jetcd client whose transactions go through the test's hand when they write a key the test names (the
 * certificate, the challenges): to lose one's answer, with or without etcd applying it. Everything else is the real
 * client's.
 */
final class CertificateWrites {
    /** The real commit, as the client would send it. */
    @FunctionalInterface
    interface Commit {
        CompletableFuture<TxnResponse> send() throws Throwable;
    }

    /** What becomes of one transaction that writes a named key: {@code commit.send()} for what etcd does with it. */
    @FunctionalInterface
    interface Hand {
        CompletableFuture<TxnResponse> commit(Op.PutOp write, Commit commit) throws Throwable;
    }

    private CertificateWrites() {
    }

    /** The client, its transactions that put a key {@code key} accepts handed to {@code hand}. */
    static Client around(Client real, Predicate<String> key, Hand hand) {
        KV kv = Delegate.of(KV.class, real.getKVClient(), (method, args, call) -> method.getName().equals("txn")
                ? txn((Txn) call.call(), key, hand) : call.call());
        return Delegate.of(Client.class, real, (method, args, call) -> method.getName().equals("getKVClient")
                ? kv : call.call());
    }

    private static Txn txn(Txn real, Predicate<String> key, Hand hand) {
        Op.PutOp[] named = new Op.PutOp[1];
        return Delegate.of(Txn.class, real, (method, args, call) -> {
            if (method.getName().equals("Then")) {
                for (Object op : (Object[]) args[0]) {
                    if (op instanceof Op.PutOp put && named[0] == null && key.test(key(put))) {
                        named[0] = put;
                    }
                }
            }
            if (method.getName().equals("commit") && named[0] != null) {
                @SuppressWarnings("unchecked")
                Commit send = () -> (CompletableFuture<TxnResponse>) call.call();
                return hand.commit(named[0], send);
            }
            return call.call();
        });
    }

    /** The key an operation writes (jetcd keeps it to itself). */
    static String key(Op op) {
        return field(Op.class, "key", op).toStringUtf8();
    }

    /** The certificate a put writes, when it writes one. */
    static Optional<TlsCertificate> certificate(Op.PutOp put) {
        return Json.decode(key(put), field(Op.PutOp.class, "value", put).toByteArray(), TlsCertificate.class);
    }

    private static ByteString field(Class<?> type, String name, Object of) {
        try {
            Field f = type.getDeclaredField(name);
            f.setAccessible(true);
            return (ByteString) f.get(of);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("jetcd's " + type.getSimpleName() + " has no " + name + " field", e);
        }
    }
}
