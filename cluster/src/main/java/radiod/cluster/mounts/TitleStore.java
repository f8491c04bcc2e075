package radiod.cluster.mounts;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.PutOption;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Json;
import radiod.cluster.model.Kick;
import radiod.cluster.model.MountPath;
import radiod.cluster.model.Title;

/**
 * Song titles at {@code titles/<mount>} and kick requests at {@code kicks/<mount>}.
 *
 * <p>A title is written once per change (a song, every few minutes; a node writes at most a few a second per mount,
 * see the source front), so etcd carries it without noticing, and it outlives any node: a new master, or a node
 * that restarts, reads the current title from its view. A kick lives on a lease of its own and expires by itself.
 * Every call is bounded by the options' call timeout.
 */
public final class TitleStore {
    private final Client client;
    private final EtcdOptions options;
    private final Keys keys;

    public TitleStore(Client client, EtcdOptions options) {
        this.client = client;
        this.options = options;
        this.keys = options.keys();
    }

    /** Writes the mount's title. */
    public CompletableFuture<Void> set(String mount, Title title) {
        MountPath.validate(mount);
        return client.getKVClient().put(keys.title(mount), ByteSequence.from(Json.encode(title)))
                .orTimeout(options.callTimeout().toMillis(), TimeUnit.MILLISECONDS).thenApply(r -> null);
    }

    /** The mount's title as stored, if it has a readable one. */
    public Optional<Title> get(String mount) {
        MountPath.validate(mount);
        return EtcdClients.await(client.getKVClient().get(keys.title(mount)), options, "reading the title of " + mount)
                .getKvs().stream().findFirst().flatMap(TitleStore::decode);
    }

    /**
     * Removes the mount's title if it was set for {@code session} (and nobody has changed it since it was read), so
     * a title goes with the encoder that sent it, and never takes a newer encoder's title along.
     *
     * @return whether a title was removed
     */
    public CompletableFuture<Boolean> clearIfSession(String mount, String session) {
        MountPath.validate(mount);
        if (session.isEmpty()) {
            return CompletableFuture.completedFuture(false);
        }
        ByteSequence key = keys.title(mount);
        long timeout = options.callTimeout().toMillis();
        return client.getKVClient().get(key).orTimeout(timeout, TimeUnit.MILLISECONDS).thenCompose(r -> {
            Optional<KeyValue> kv = r.getKvs().stream().findFirst();
            if (kv.isEmpty() || !kv.flatMap(TitleStore::decode).map(t -> t.session().equals(session)).orElse(false)) {
                return CompletableFuture.completedFuture(false);
            }
            return client.getKVClient().txn()
                    .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(kv.get().getModRevision())))
                    .Then(Op.delete(key, DeleteOption.DEFAULT))
                    .commit().orTimeout(timeout, TimeUnit.MILLISECONDS).thenApply(t -> t.isSucceeded());
        });
    }

    /** Removes the mount's title, whoever set it (a deleted mount). */
    public void delete(String mount) {
        MountPath.validate(mount);
        EtcdClients.await(client.getKVClient().delete(keys.title(mount)), options, "deleting the title of " + mount);
    }

    /**
     * Asks every node to disconnect the mount's encoder: a key on a lease of {@code ttl}, so it goes by itself.
     *
     * @return the etcd revision of the request (encoders taken at or after it are not affected)
     */
    public long kick(String mount, Kick kick, Duration ttl) {
        MountPath.validate(mount);
        long lease = EtcdClients.await(client.getLeaseClient().grant(Math.max(1, ttl.toSeconds())), options,
                "granting a lease for a kick").getID();
        return EtcdClients.await(client.getKVClient().put(keys.kick(mount), ByteSequence.from(Json.encode(kick)),
                PutOption.builder().withLeaseId(lease).build()), options, "kicking the source of " + mount)
                .getHeader().getRevision();
    }

    private static Optional<Title> decode(KeyValue kv) {
        return Json.decode(kv.getKey().toString(java.nio.charset.StandardCharsets.UTF_8), kv.getValue().getBytes(),
                Title.class);
    }
}
