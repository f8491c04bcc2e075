package radiod.cluster.tls;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.PutOption;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.model.Json;
import radiod.cluster.view.ClusterSnapshot;
import radiod.cluster.view.ClusterView;
import radiod.cluster.view.Snapshots;
import radiod.testkit.EtcdCluster;
import radiod.testkit.etcd.EtcdPrefix;

/**
 * The TLS keys in a real etcd: the certificate and its key stored together only by the duty's holder, challenges that
 * go with their lease, the view that carries it all, and the one-shot snapshot (radioctl's) that leaves the secrets out.
 */
class TlsStoreIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();
    @RegisterExtension
    final EtcdPrefix keys = EtcdPrefix.on(etcd, "tls-it");
    static final String CHAIN = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    static final String KEY = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n";

    EtcdOptions options;
    Client client;
    TlsStore store;
    ClusterView view;

    @BeforeEach
    void setUp() {
        options = EtcdOptions.of(etcd.endpoints()).withPrefix(keys.prefix());
        client = EtcdClients.connect(options);
        store = new TlsStore(client, options);
        view = new ClusterView(client, options.keys(), Duration.ofSeconds(2)).start();
    }

    @AfterEach
    void tearDown() {
        view.close();
        client.close();
    }

    long lease() {
        return EtcdClients.await(client.getLeaseClient().grant(30), options, "grant").getID();
    }

    /** Holds {@code acme/holder} under {@code lease}, as the duty's election does; its create revision. */
    long hold(long lease) {
        EtcdClients.await(client.getKVClient().put(options.keys().acmeHolder(),
                ByteSequence.from(Json.encode(new AcmeHolder("node1", 1))), PutOption.builder().withLeaseId(lease).build()),
                options, "hold");
        return store.holderRevision(lease).orElseThrow();
    }

    static TlsCertificate certificate(String serial) {
        return new TlsCertificate(CHAIN, List.of("radio.test", "*.radio.test"), "CN=test", 1, 2_000_000_000_000L, serial,
                "node1", 1);
    }

    static AcmeStatus ok() {
        return new AcmeStatus("node1", 1, AcmeStatus.OK, "", 2, 0, 1, 0);
    }

    @Test
    void theHolderStoresCertificateKeyAndStatusTogetherAndTheChallengesGoInTheSameTransaction() {
        long lease = lease();
        long holder = hold(lease);
        assertEquals(OptionalLong.empty(), store.holderRevision(lease + 1), "not held under another lease");
        store.putChallenges(Map.of("node1-1-0", new AcmeChallenge("_acme-challenge.radio.test.", "abc", "node1", 1)), lease);
        await().atMost(Duration.ofSeconds(5)).until(() -> view.current().tls().challenges().containsKey("node1-1-0"));

        OptionalLong stored = store.save(certificate("0a"), new TlsKey(KEY, "0a"), ok(), List.of("node1-1-0"), holder);
        assertTrue(stored.isPresent());
        await().atMost(Duration.ofSeconds(5)).until(() -> view.current().revision() >= stored.getAsLong());
        ClusterSnapshot s = view.current();
        assertEquals("0a", s.tls().certificate().orElseThrow().serial());
        assertEquals("0a", s.tls().key().orElseThrow().serial(), "the view (radiod's) has the key");
        assertEquals(stored.getAsLong(), s.tls().certificateRevision());
        assertTrue(s.tls().challenges().isEmpty());
        assertEquals(AcmeStatus.OK, s.tls().status().orElseThrow().outcome());
        assertFalse(s.toString().contains("PRIVATE KEY"), "a snapshot never prints the key");

        // radioctl's read: everything but secret/, at one revision.
        ClusterSnapshot oneShot = Snapshots.read(client, options.keys(), 5000);
        assertEquals("0a", oneShot.tls().certificate().orElseThrow().serial());
        assertTrue(oneShot.tls().key().isEmpty(), "the secrets are not read");
        assertEquals("node1", oneShot.tls().holder().orElseThrow().node());

        long renew = store.requestRenewal(new RenewRequest("radioctl", 3));
        await().atMost(Duration.ofSeconds(5)).until(() -> view.current().tls().renewRequested());
        assertEquals(renew, view.current().tls().renewRevision());
        OptionalLong again = store.save(certificate("0b"), new TlsKey(KEY, "0b"), ok(), List.of(), holder);
        await().atMost(Duration.ofSeconds(5)).until(() -> view.current().revision() >= again.getAsLong());
        assertFalse(view.current().tls().renewRequested(), "a certificate newer than the request serves it");
    }

    @Test
    void aNodeThatLostTheDutyStoresNothing() {
        long lease = lease();
        long holder = hold(lease);
        EtcdClients.await(client.getLeaseClient().revoke(lease), options, "revoke");
        long other = hold(lease());
        assertTrue(other != holder);
        assertEquals(OptionalLong.empty(), store.save(certificate("0c"), new TlsKey(KEY, "0c"), ok(), List.of(), holder));
        assertTrue(store.certificate().isEmpty());
    }

    @Test
    void challengesGoWithTheirLease() {
        long lease = lease();
        store.putChallenges(Map.of("node1-1-0", new AcmeChallenge("_acme-challenge.radio.test.", "abc", "node1", 1),
                "node1-1-1", new AcmeChallenge("_acme-challenge.radio.test.", "def", "node1", 1)), lease);
        await().atMost(Duration.ofSeconds(5)).until(() -> view.current().tls().challenges().size() == 2);
        assertEquals(Map.of("_acme-challenge.radio.test", List.of("abc", "def")), view.current().tls().challengeValues());
        EtcdClients.await(client.getLeaseClient().revoke(lease), options, "revoke"); // the node died
        await().atMost(Duration.ofSeconds(5)).until(() -> view.current().tls().challenges().isEmpty());
    }

    @Test
    void theAccountIsMadeOnceAndAnUnreadableOneIsSaidSo() {
        AcmeAccount first = new AcmeAccount(KEY, "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n", "node1", 1);
        AcmeAccount second = new AcmeAccount(KEY, "-----BEGIN PUBLIC KEY-----\nMFkx\n-----END PUBLIC KEY-----\n", "node2", 2);
        assertEquals(first, store.createAccount(first));
        assertEquals(first, store.createAccount(second), "the first one made stays");
        assertEquals(first, store.account().orElseThrow());
        assertFalse(first.toString().contains("MIGH"), "the key is never printed");
        EtcdClients.await(client.getKVClient().put(options.keys().acmeAccount(), ByteSequence.from("{", java.nio.charset
                .StandardCharsets.UTF_8)), options, "corrupt");
        assertTrue(store.account().isEmpty());
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> store.createAccount(second));
        assertTrue(e.getMessage().contains("secret/acme/account is not readable: delete it"), e.getMessage());
    }
}
