package radiod.cluster.admin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.Keys;

/**
 * The cluster's admin token at {@code admin/token}: a random 256-bit secret (64 hex digits) that the nodes'
 * {@code /_admin/} endpoints ask for as a bearer token, and that radioctl reads from etcd to call them. Created by
 * the first node that starts, with a put-if-absent transaction, so every node ends with the same one; a permanent
 * key (no lease). Deleting it makes the nodes agree on a new one within seconds (a rotation).
 */
public final class AdminTokens {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Client client;
    private final EtcdOptions options;
    private final ByteSequence key;

    public AdminTokens(Client client, EtcdOptions options) {
        this.client = client;
        this.options = options;
        this.key = options.keys().adminToken();
    }

    /** A new random token: 32 bytes from {@link SecureRandom}, as 64 lowercase hex digits. */
    public static String generate() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /**
     * Whether {@code offered} is {@code expected}, in time that does not depend on where they differ (both are
     * hashed first, so their lengths do not show either). False when either is null or empty.
     */
    public static boolean matches(String expected, String offered) {
        if (expected == null || offered == null || expected.isEmpty() || offered.isEmpty()) {
            return false;
        }
        return MessageDigest.isEqual(sha256(expected), sha256(offered));
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** The token, or empty if no node has created one yet. Waits at most the call timeout. */
    public Optional<String> get() {
        return EtcdClients.await(client.getKVClient().get(key), options, "reading the admin token")
                .getKvs().stream().findFirst().map(AdminTokens::value).filter(t -> !t.isEmpty());
    }

    /**
     * The token, created first if there is none: one transaction that puts a new token only where the key does not
     * exist and reads the key otherwise, so concurrent first nodes agree on one. Does not wait: the future fails
     * after the call timeout.
     */
    public CompletableFuture<String> getOrCreate() {
        String fresh = generate();
        return client.getKVClient().txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                .Then(Op.put(key, Keys.bytes(fresh), PutOption.DEFAULT))
                .Else(Op.get(key, GetOption.DEFAULT))
                .commit()
                .orTimeout(options.callTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .thenApply((TxnResponse r) -> {
                    if (r.isSucceeded()) {
                        return fresh;
                    }
                    String existing = r.getGetResponses().isEmpty() ? "" : r.getGetResponses().get(0).getKvs()
                            .stream().findFirst().map(AdminTokens::value).orElse("");
                    if (existing.isEmpty()) {
                        throw new EmptyTokenException(options.keys().prefix() + Keys.ADMIN_TOKEN);
                    }
                    return existing;
                });
    }

    /** The token's key exists but holds nothing (or only blanks): an operator's mistake no node mends by itself. */
    public static final class EmptyTokenException extends IllegalStateException {
        EmptyTokenException(String key) {
            super(key + " in etcd is empty; delete it so that a node creates a new one");
        }
    }

    private static String value(KeyValue kv) {
        return kv.getValue().toString(StandardCharsets.UTF_8).strip();
    }
}
