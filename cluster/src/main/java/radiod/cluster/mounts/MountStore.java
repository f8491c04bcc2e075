package radiod.cluster.mounts;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Txn;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Json;
import radiod.cluster.model.Mount;
import radiod.cluster.model.MountPath;

/**
 * The permanent mount definitions at {@code mounts/<path>}, as operators change them.
 *
 * <p>Invariant: every write is one etcd transaction guarded by a compare, so a write either happens whole,
 * on exactly the state the caller saw, or not at all: {@link #create} only where no mount is, {@link #update}
 * and {@link #delete(String, long)} only at the revision the caller read, and a transcoded mount only while
 * its source mount exists. Every call waits at most the options' call timeout
 * ({@link radiod.cluster.etcd.EtcdUnavailableException} otherwise).
 */
public final class MountStore {
    private static final Logger log = LoggerFactory.getLogger(MountStore.class);

    private final Client client;
    private final EtcdOptions options;
    private final Keys keys;

    public MountStore(Client client, EtcdOptions options) {
        this.client = client;
        this.options = options;
        this.keys = options.keys();
    }

    /**
     * Stores a new mount.
     *
     * @return the mount's mod revision
     * @throws MountExistsException   if a mount with that path exists
     * @throws MountNotFoundException if the mount is transcoded and its source mount does not exist
     */
    public long create(Mount mount) {
        ByteSequence key = keys.mount(mount.path());
        String source = mount.isTranscoded() ? mount.transcoding().sourceMount() : null;
        TxnResponse r = EtcdClients.await(
                guardedPut(mount, new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0)), source).commit(),
                options, "creating mount " + mount.path());
        if (r.isSucceeded()) {
            return r.getHeader().getRevision();
        }
        if (!r.getGetResponses().get(0).getKvs().isEmpty()) {
            throw new MountExistsException(mount.path());
        }
        throw sourceMissing(mount.path(), source);
    }

    /** The mount and its mod revision, or empty if there is none at that path. */
    public Optional<Versioned<Mount>> get(String path) {
        MountPath.validate(path);
        GetResponse r = EtcdClients.await(client.getKVClient().get(keys.mount(path)), options, "reading mount " + path);
        if (r.getKvs().isEmpty()) {
            return Optional.empty();
        }
        KeyValue kv = r.getKvs().get(0);
        return Optional.of(new Versioned<>(decode(path, kv), kv.getModRevision()));
    }

    /**
     * Replaces a mount, if it is still at the mod revision the caller read.
     *
     * @return the new mod revision
     * @throws MountChangedException  if someone else changed or deleted the mount since
     * @throws MountNotFoundException if the mount is transcoded and its source mount does not exist
     */
    public long update(Mount mount, long expectedModRevision) {
        ByteSequence key = keys.mount(mount.path());
        String source = mount.isTranscoded() ? mount.transcoding().sourceMount() : null;
        TxnResponse r = EtcdClients.await(
                guardedPut(mount, new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(expectedModRevision)), source).commit(),
                options, "updating mount " + mount.path());
        if (r.isSucceeded()) {
            return r.getHeader().getRevision();
        }
        long actual = modRevision(r.getGetResponses().get(0));
        if (actual != expectedModRevision) {
            throw new MountChangedException(mount.path(), expectedModRevision, actual);
        }
        throw sourceMissing(mount.path(), source);
    }

    /**
     * Deletes a mount whatever its revision, and its title in the same transaction.
     *
     * @return whether there was one
     */
    public boolean delete(String path) {
        MountPath.validate(path);
        TxnResponse r = EtcdClients.await(client.getKVClient().txn()
                .Then(Op.delete(keys.mount(path), DeleteOption.DEFAULT), Op.delete(keys.title(path), DeleteOption.DEFAULT))
                .commit(), options, "deleting mount " + path);
        return r.getDeleteResponses().get(0).getDeleted() > 0;
    }

    /**
     * Deletes a mount, if it is still at the mod revision the caller read, and its title in the same transaction (a
     * title left behind would come back with a new mount of the same path).
     *
     * @throws MountChangedException if someone else changed or deleted the mount since
     */
    public void delete(String path, long expectedModRevision) {
        MountPath.validate(path);
        ByteSequence key = keys.mount(path);
        TxnResponse r = EtcdClients.await(client.getKVClient().txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(expectedModRevision)))
                .Then(Op.delete(key, DeleteOption.DEFAULT), Op.delete(keys.title(path), DeleteOption.DEFAULT))
                .Else(Op.get(key, GetOption.DEFAULT))
                .commit(), options, "deleting mount " + path);
        if (!r.isSucceeded()) {
            throw new MountChangedException(path, expectedModRevision, modRevision(r.getGetResponses().get(0)));
        }
    }

    /** Every mount that can be decoded, sorted by path; corrupt values are logged and skipped. */
    public List<Versioned<Mount>> list() {
        GetResponse r = EtcdClients.await(client.getKVClient().get(keys.mounts(),
                GetOption.builder().isPrefix(true).build()), options, "listing mounts");
        List<Versioned<Mount>> mounts = new ArrayList<>();
        for (KeyValue kv : r.getKvs()) {
            String key = kv.getKey().toString(StandardCharsets.UTF_8);
            String path = "/" + key.substring(keys.prefix().length() + Keys.MOUNTS.length());
            if (!MountPath.isValid(path)) {
                log.warn("skipping mount at {}: {} is not a valid mount path", key, path);
                continue;
            }
            Json.decode(key, kv.getValue().getBytes(), Mount.class)
                    .filter(m -> samePath(key, path, m))
                    .ifPresent(m -> mounts.add(new Versioned<>(m, kv.getModRevision())));
        }
        mounts.sort(Comparator.comparing(v -> v.value().path()));
        return List.copyOf(mounts);
    }

    /** The transcoded mounts made from {@code path}, sorted by path. */
    public List<Mount> transcodedFrom(String path) {
        return list().stream().map(Versioned::value)
                .filter(m -> m.isTranscoded() && m.transcoding().sourceMount().equals(path))
                .toList();
    }

    /**
     * Puts the mount if {@code guard} holds (and the source mount exists, if given); otherwise reads the
     * mount's key, so that the caller can tell which compare failed.
     */
    private Txn guardedPut(Mount mount, Cmp guard, String source) {
        ByteSequence key = keys.mount(mount.path());
        Txn txn = client.getKVClient().txn();
        if (source == null) {
            txn.If(guard);
        } else {
            txn.If(guard, new Cmp(keys.mount(source), Cmp.Op.GREATER, CmpTarget.createRevision(0)));
        }
        return txn.Then(Op.put(key, ByteSequence.from(Json.encode(mount)), PutOption.DEFAULT))
                .Else(Op.get(key, GetOption.DEFAULT));
    }

    private Mount decode(String path, KeyValue kv) {
        String key = kv.getKey().toString(StandardCharsets.UTF_8);
        Mount m;
        try {
            m = Json.decodeStrict(kv.getValue().getBytes(), Mount.class);
        } catch (IllegalArgumentException e) {
            throw new CorruptMountException(path, key, firstLine(e.getMessage()));
        }
        if (!m.path().equals(path)) {
            throw new CorruptMountException(path, key, "it names mount " + m.path());
        }
        return m;
    }

    private static boolean samePath(String key, String path, Mount m) {
        if (m.path().equals(path)) {
            return true;
        }
        log.warn("skipping mount at {}: it names mount {}", key, m.path());
        return false;
    }

    private static long modRevision(GetResponse r) {
        return r.getKvs().isEmpty() ? 0 : r.getKvs().get(0).getModRevision();
    }

    private static MountNotFoundException sourceMissing(String path, String source) {
        return new MountNotFoundException(source, "source mount " + source + " of " + path
                + " does not exist (create it first, or see `radioctl list-mounts`)");
    }

    private static String firstLine(String s) {
        return s == null ? "unreadable" : s.lines().findFirst().orElse("unreadable");
    }
}
