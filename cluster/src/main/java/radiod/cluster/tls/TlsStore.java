package radiod.cluster.tls;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.EtcdUnavailableException;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Json;

/**
 * The TLS keys in etcd: the certificate ({@code tls/certificate}) and its key ({@code secret/tls/key}), written together
 * in one transaction; the ACME duty's challenges, status and account key; the operator's renewal request. Every call
 * waits at most the options' call timeout and throws {@link radiod.cluster.etcd.EtcdUnavailableException} past it.
 */
public final class TlsStore {
    private final Client client;
    private final EtcdOptions options;
    private final Keys keys;

    public TlsStore(Client client, EtcdOptions options) {
        this.client = client;
        this.options = options;
        this.keys = options.keys();
    }

    public Keys keys() {
        return keys;
    }

    /**
     * Asks the node holding the ACME duty to renew the certificate now.
     *
     * @return the etcd revision of the request: it is served once the certificate's revision is newer
     */
    public long requestRenewal(RenewRequest request) {
        return EtcdClients.await(client.getKVClient().put(keys.tlsRenew(), ByteSequence.from(Json.encode(request))),
                options, "requesting a certificate renewal").getHeader().getRevision();
    }

    /** The certificate as stored, if there is a readable one. */
    public Optional<TlsCertificate> certificate() {
        return EtcdClients.await(client.getKVClient().get(keys.tlsCertificate()), options, "reading the certificate")
                .getKvs().stream().findFirst().flatMap(kv -> decode(kv, TlsCertificate.class));
    }

    /** The ACME account's key, if one was made. */
    public Optional<AcmeAccount> account() {
        return EtcdClients.await(client.getKVClient().get(keys.acmeAccount()), options, "reading the ACME account")
                .getKvs().stream().findFirst().flatMap(kv -> decode(kv, AcmeAccount.class));
    }

    /**
     * Stores the account unless one is stored already (another holder made it first).
     *
     * @return the account stored now: {@code account}, or the one that was there
     */
    public AcmeAccount createAccount(AcmeAccount account) {
        ByteSequence key = keys.acmeAccount();
        var r = EtcdClients.await(client.getKVClient().txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                .Then(Op.put(key, ByteSequence.from(Json.encode(account)), PutOption.DEFAULT))
                .Else(Op.get(key, GetOption.DEFAULT))
                .commit(), options, "storing the ACME account");
        if (r.isSucceeded()) {
            return account;
        }
        return r.getGetResponses().get(0).getKvs().stream().findFirst().flatMap(kv -> decode(kv, AcmeAccount.class))
                .orElseThrow(() -> new IllegalStateException("the ACME account at " + keys.prefix() + Keys.ACME_ACCOUNT
                        + " is not readable: delete it and a new account is made"));
    }

    /** Replaces the stored account (the stored one was unreadable). */
    public void replaceAccount(AcmeAccount account) {
        EtcdClients.await(client.getKVClient().put(keys.acmeAccount(), ByteSequence.from(Json.encode(account))), options,
                "storing the ACME account");
    }

    /**
     * The create revision of the duty's key {@code acme/holder} if it is held under {@code lease}: what
     * {@link #save} compares, so that a node that lost the duty meanwhile cannot overwrite its successor's work.
     */
    public OptionalLong holderRevision(long lease) {
        return EtcdClients.await(client.getKVClient().get(keys.acmeHolder()), options, "reading the ACME holder")
                .getKvs().stream().filter(kv -> kv.getLease() == lease).mapToLong(KeyValue::getCreateRevision).findFirst();
    }

    /** Writes the challenge records, all in one transaction, on {@code lease} (they go if the node does). */
    public long putChallenges(Map<String, AcmeChallenge> challenges, long lease) {
        List<Op> ops = new ArrayList<>();
        PutOption onLease = PutOption.builder().withLeaseId(lease).build();
        challenges.forEach((id, c) -> ops.add(Op.put(keys.acmeChallenge(id), ByteSequence.from(Json.encode(c)), onLease)));
        return EtcdClients.await(client.getKVClient().txn().Then(ops.toArray(Op[]::new)).commit(), options,
                "writing the ACME challenges").getHeader().getRevision();
    }

    public void deleteChallenges(Collection<String> ids) {
        if (ids.isEmpty()) {
            return;
        }
        List<Op> ops = new ArrayList<>();
        ids.forEach(id -> ops.add(Op.delete(keys.acmeChallenge(id), DeleteOption.DEFAULT)));
        EtcdClients.await(client.getKVClient().txn().Then(ops.toArray(Op[]::new)).commit(), options,
                "deleting the ACME challenges");
    }

    /** Writes the duty's status; returns the revision it was written at. */
    public long putStatus(AcmeStatus status) {
        return EtcdClients.await(client.getKVClient().put(keys.tlsStatus(), ByteSequence.from(Json.encode(status))), options,
                "writing the ACME status").getHeader().getRevision();
    }

    /**
     * Stores a new certificate with its key and the duty's status, and deletes the challenges, in one transaction, if
     * the duty's key was still created at {@code holderRevision} (this node still holds it).
     *
     * @return the revision it was stored at, or empty when the duty had moved and nothing was written
     */
    public OptionalLong save(TlsCertificate certificate, TlsKey key, AcmeStatus status, Collection<String> challengeIds,
                             long holderRevision) {
        var r = EtcdClients.await(client.getKVClient().txn()
                .If(new Cmp(keys.acmeHolder(), Cmp.Op.EQUAL, CmpTarget.createRevision(holderRevision)))
                .Then(certificateOps(certificate, key, status, challengeIds))
                .commit(), options, "storing the certificate");
        return r.isSucceeded() ? OptionalLong.of(r.getHeader().getRevision()) : OptionalLong.empty();
    }

    /** What {@link #saveUnlessNewer} did, and the revision the stored certificate has. */
    public record Saved(Outcome outcome, long revision) {
        public enum Outcome {
            /** Written now. */
            STORED,
            /** Already there: an earlier write whose answer was lost had been applied. */
            ALREADY,
            /** Not written: a certificate issued after it (or at the same moment) is stored. */
            NEWER
        }
    }

    /**
     * Stores the certificate, its key and the status as {@link #save} does, deleting the challenges, but guarded by
     * the stored certificate instead of the duty: written unless the same certificate (by serial) or one issued after
     * it is stored, compared on the stored one's revision so that a write in between is seen. For a certificate whose
     * first write found the duty moved or got no answer: the CA issued it, and it is as good as any.
     */
    public Saved saveUnlessNewer(TlsCertificate certificate, TlsKey key, AcmeStatus status,
                                 Collection<String> challengeIds) {
        for (int tries = 1; ; tries++) {
            Optional<KeyValue> current = EtcdClients.await(client.getKVClient().get(keys.tlsCertificate()), options,
                    "reading the certificate").getKvs().stream().findFirst();
            long seen = current.map(KeyValue::getModRevision).orElse(0L);
            Optional<TlsCertificate> stored = current.flatMap(kv -> decode(kv, TlsCertificate.class));
            if (stored.isPresent() && stored.get().serial().equals(certificate.serial())) {
                return new Saved(Saved.Outcome.ALREADY, seen);
            }
            if (stored.isPresent() && stored.get().notBefore() >= certificate.notBefore()) {
                return new Saved(Saved.Outcome.NEWER, seen);
            }
            var r = EtcdClients.await(client.getKVClient().txn()
                    .If(new Cmp(keys.tlsCertificate(), Cmp.Op.EQUAL, CmpTarget.modRevision(seen)))
                    .Then(certificateOps(certificate, key, status, challengeIds))
                    .commit(), options, "storing the certificate");
            if (r.isSucceeded()) {
                return new Saved(Saved.Outcome.STORED, r.getHeader().getRevision());
            }
            // Another certificate was stored between the read and the write: look again (few ever write it).
            if (tries == 10) {
                throw new EtcdUnavailableException("storing the certificate: it changed under each of 10 writes", null);
            }
        }
    }

    /** The certificate's transaction: it, its key and the status written, the challenges deleted. */
    private Op[] certificateOps(TlsCertificate certificate, TlsKey key, AcmeStatus status,
                                Collection<String> challengeIds) {
        List<Op> ops = new ArrayList<>();
        ops.add(Op.put(keys.tlsCertificate(), ByteSequence.from(Json.encode(certificate)), PutOption.DEFAULT));
        ops.add(Op.put(keys.tlsKey(), ByteSequence.from(Json.encode(key)), PutOption.DEFAULT));
        ops.add(Op.put(keys.tlsStatus(), ByteSequence.from(Json.encode(status)), PutOption.DEFAULT));
        challengeIds.forEach(id -> ops.add(Op.delete(keys.acmeChallenge(id), DeleteOption.DEFAULT)));
        return ops.toArray(Op[]::new);
    }

    private static <T> Optional<T> decode(KeyValue kv, Class<T> type) {
        return Json.decode(kv.getKey().toString(StandardCharsets.UTF_8), kv.getValue().getBytes(), type);
    }
}
