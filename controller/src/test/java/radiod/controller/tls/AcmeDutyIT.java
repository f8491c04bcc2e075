package radiod.controller.tls;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.Client;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.tls.AcmeStatus;
import radiod.cluster.tls.RenewRequest;
import radiod.cluster.tls.TlsCertificate;
import radiod.cluster.tls.TlsKey;
import radiod.cluster.tls.TlsState;
import radiod.cluster.tls.TlsStore;
import radiod.cluster.view.ClusterSnapshot;
import radiod.cluster.view.ClusterView;
import radiod.dns.server.DnsServer;
import radiod.dns.zone.DnsSettings;
import radiod.testkit.EtcdCluster;
import radiod.testkit.Pebble;
import radiod.testkit.Ports;
import radiod.testkit.etcd.EtcdPrefix;

/**
 * The ACME duty against a real CA on loopback: Debian's pebble, validating DNS-01 against a real radiod DNS server that
 * answers from a cluster view of the same etcd. Simulated nodes (each its own etcd client, lease, view, duty and
 * certificate loader) obtain a wildcard certificate that every one of them loads, renew it when asked, move the duty
 * when its holder dies, and record and retry a failed attempt.
 */
class AcmeDutyIT {
    static final String ZONE = "radio.test";
    /** Fast retries for the tests; everything else as in production. */
    static final AcmeDuty.Timing TIMING = new AcmeDuty.Timing(Duration.ofSeconds(1), Duration.ofSeconds(4),
            Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(10),
            Duration.ofMillis(250));

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();
    @RegisterExtension
    final EtcdPrefix keys = EtcdPrefix.on(etcd, "acme-it");

    static Vertx vertx;
    static DnsServer dns;
    static Pebble pebble;
    /** The view the DNS server answers from (the test's prefix); while {@link #dnsBroken}, an empty one. */
    static final AtomicReference<ClusterView> dnsView = new AtomicReference<>();
    static volatile boolean dnsBroken;

    EtcdOptions options;
    Client client;
    TlsStore store;
    final List<Participant> participants = new ArrayList<>();

    @BeforeAll
    static void startDnsAndPebble() throws Exception {
        vertx = Vertx.vertx();
        dns = new DnsServer(vertx, DnsSettings.defaults(ZONE).withListen("127.0.0.1", Ports.free("127.0.0.1")), () -> {
            ClusterView v = dnsView.get();
            return v == null || dnsBroken ? ClusterSnapshot.EMPTY : v.current();
        }, new SimpleMeterRegistry());
        dns.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        pebble = Pebble.start("127.0.0.1:" + dns.port(), Map.of());
    }

    @AfterAll
    static void stopDnsAndPebble() throws Exception {
        if (pebble != null) {
            pebble.close();
        }
        if (dns != null) {
            dns.close();
        }
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @BeforeEach
    void setUp() {
        options = EtcdOptions.of(etcd.endpoints()).withPrefix(keys.prefix());
        client = EtcdClients.connect(options);
        store = new TlsStore(client, options);
        ClusterView v = new ClusterView(client, options.keys(), Duration.ofSeconds(2)).start();
        ClusterView old = dnsView.getAndSet(v);
        if (old != null) {
            old.close();
        }
        dnsBroken = false;
    }

    @AfterEach
    void tearDown() {
        participants.forEach(Participant::close);
        client.close();
    }

    AcmeSettings settings() {
        return AcmeSettings.of(pebble.directory()).withCaFile(pebble.httpsCa()).withEmail("hostmaster@radio.test");
    }

    Participant participant(String name) {
        Participant p = new Participant(name, options, ZONE, settings(), TIMING).start();
        participants.add(p);
        return p;
    }

    ClusterSnapshot view() {
        return dnsView.get().current();
    }

    TlsState tls() {
        return view().tls();
    }

    /** The DNS server's view once it satisfies {@code condition} (awaited: it may lag the nodes' views by a moment). */
    TlsState tlsWhen(java.util.function.Predicate<TlsState> condition) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() -> condition.test(tls()));
        return tls();
    }

    /** The one participant holding the duty (awaited). */
    Participant holder(List<Participant> among) {
        await().atMost(Duration.ofSeconds(15)).until(() -> among.stream().filter(p -> p.duty.isHolder()).count() == 1);
        return among.stream().filter(p -> p.duty.isHolder()).findFirst().orElseThrow();
    }

    /** Waits until every one of {@code nodes} serves a certificate other than those in {@code old}; returns its serial. */
    String awaitServedByAll(List<Participant> nodes, Set<String> old, Duration within) {
        await().atMost(within).pollInterval(Duration.ofMillis(20)).until(() -> nodes.stream().allMatch(p ->
                p.servedSerial() != null && !old.contains(p.servedSerial())));
        String serial = nodes.get(0).servedSerial();
        for (Participant p : nodes) {
            assertEquals(serial, p.servedSerial(), p.name + " serves the same certificate");
        }
        return serial;
    }

    /** The chain verifies up to pebble's root (fetched from pebble, which makes a new one at every start). */
    static void assertChainsToPebblesRoot(String chainPem) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        X509Certificate root = Pem.certificates(pebble.root()).get(0);
        List<X509Certificate> chain = Pem.certificates(chainPem);
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(chain), params);
    }

    @Test
    void everyNodeServesTheWildcardCertificateAForcedRenewalReplacesItAndADeadHolderHandsTheDutyOn() throws Exception {
        long start = System.currentTimeMillis();
        List<Participant> all = List.of(participant("node1"), participant("node2"), participant("node3"));
        String first = awaitServedByAll(all, Set.of(), Duration.ofSeconds(60));
        TlsCertificate stored = tlsWhen(t -> t.certificate().isPresent()).certificate().orElseThrow();
        long lastLoaded = all.stream().mapToLong(p -> p.applied.get(0).atMillis()).max().orElseThrow();
        System.out.printf("figure: certificate from pebble stored %d ms after the nodes started; every node loaded it"
                + " %d ms after it was stored%n", stored.at() - start, lastLoaded - stored.at());

        Participant holder = holder(all);
        assertEquals(holder.name, stored.by(), "stored by the holder");
        assertEquals(Set.of(ZONE, "*." + ZONE), Set.copyOf(stored.names()));
        assertEquals(first, stored.serial());
        Participant.Applied served = all.get(1).applied.get(0);
        assertEquals(stored.chain(), served.chain());
        assertChainsToPebblesRoot(served.chain());
        X509Certificate leaf = Pem.certificates(served.chain()).get(0);
        assertTrue(Pem.matches(Pem.privateKey(served.key()), leaf.getPublicKey()), "the key is the certificate's");
        assertTrue(served.origin().contains("tls/certificate"), served.origin());
        AcmeStatus status = tlsWhen(t -> t.status().map(st -> st.outcome().equals(AcmeStatus.OK)).orElse(false))
                .status().orElseThrow();
        assertEquals(0, status.failures());
        assertEquals(holder.name, tls().holder().orElseThrow().node());
        assertTrue(tls().challenges().isEmpty(), "the challenges are deleted in the certificate's transaction");
        assertEquals(1.0, holder.attempts("success"));
        for (Participant p : all) {
            assertEquals(0.0, p.attempts("failure"), p.name);
            assertEquals(1, p.applied.size(), p.name + " loaded it once");
        }

        long asked = System.currentTimeMillis();
        store.requestRenewal(new RenewRequest("test", asked));
        String second = awaitServedByAll(all, Set.of(first), Duration.ofSeconds(60));
        System.out.printf("figure: forced renewal: every node serves the new certificate %d ms after the request%n",
                System.currentTimeMillis() - asked);
        assertNotEquals(first, second, "a new serial");
        TlsState renewed = tlsWhen(t -> t.certificate().map(c -> c.serial().equals(second)).orElse(false));
        assertFalse(renewed.renewRequested(), "the request is served");
        assertChainsToPebblesRoot(renewed.certificate().orElseThrow().chain());

        long crashed = System.currentTimeMillis();
        holder.crash();
        List<Participant> rest = all.stream().filter(p -> p != holder).toList();
        Participant next = holder(rest);
        System.out.printf("figure: the duty moved to %s %d ms after its holder died (lease TTL 3 s)%n", next.name,
                System.currentTimeMillis() - crashed);
        await().atMost(Duration.ofSeconds(10)).until(() -> tls().holder().map(h -> h.node().equals(next.name)).orElse(false));
        store.requestRenewal(new RenewRequest("test", System.currentTimeMillis()));
        String third = awaitServedByAll(rest, Set.of(first, second), Duration.ofSeconds(60));
        assertEquals(next.name, tlsWhen(t -> t.certificate().map(c -> c.serial().equals(third)).orElse(false))
                .certificate().orElseThrow().by(), "renewed by the new holder");
        assertNotEquals(second, third);
        assertEquals(1.0, next.attempts("success"));
    }

    @Test
    void aFailedAttemptIsRecordedAndRetriedAfterABackoffUntilItSucceeds() throws Exception {
        dnsBroken = true; // the DNS server answers as if no challenge were there: the CA cannot validate
        Participant p = participant("node1");
        await().atMost(Duration.ofSeconds(60)).until(() -> tls().status()
                .map(s -> s.outcome().equals(AcmeStatus.FAILED)).orElse(false));
        AcmeStatus failed = tls().status().orElseThrow();
        assertTrue(failed.error().contains("could not validate"), failed.error());
        assertEquals("node1", failed.holder());
        assertTrue(failed.failures() >= 1);
        assertTrue(failed.nextAttempt() > failed.lastAttempt(), "a retry is scheduled after a backoff");
        assertTrue(tls().certificate().isEmpty());
        await().atMost(Duration.ofSeconds(10)).until(() -> tls().challenges().isEmpty());
        assertTrue(p.attempts("failure") >= 1);

        // Retried after the backoff (1 s, then 2 s: the test's timing), and counted in a row.
        tlsWhen(t -> t.status().map(s -> s.outcome().equals(AcmeStatus.FAILED) && s.failures() >= 2).orElse(false));
        assertTrue(p.attempts("failure") >= 2);

        dnsBroken = false;
        await().atMost(Duration.ofSeconds(60)).until(() -> p.servedSerial() != null);
        AcmeStatus ok = tlsWhen(t -> t.certificate().isPresent() && t.status().isPresent()).status().orElseThrow();
        assertEquals(AcmeStatus.OK, ok.outcome());
        assertEquals(0, ok.failures());
        assertEquals("", ok.error());
        assertEquals(1.0, p.attempts("success"));
        assertNotNull(tls().certificate().orElseThrow().serial());
    }

    /** The serials of the certificates the duty tried to write, in order, and when it first did. */
    static final class Writes {
        final List<String> serials = new CopyOnWriteArrayList<>();
        final AtomicInteger lost = new AtomicInteger();

        String first() {
            return serials.get(0);
        }
    }

    Participant participantWhoseCertificateWrites(String name, Writes writes, CertificateWrites.Hand hand) {
        Participant p = new Participant(name, options, ZONE, settings(), TIMING, real -> CertificateWrites.around(real,
                k -> k.endsWith("tls/certificate"), (put, commit) -> {
                    writes.serials.add(CertificateWrites.certificate(put).orElseThrow().serial());
                    return hand.commit(put, commit);
                }));
        participants.add(p);
        return p;
    }

    /** The certificate the CA issued is the one stored, the only one ordered; the attempt counted once, as a success. */
    void assertStoredOnceAsIssued(Participant p, Writes writes) {
        TlsState stored = tlsWhen(t -> t.certificate().isPresent() && t.status()
                .map(st -> st.outcome().equals(AcmeStatus.OK)).orElse(false));
        assertEquals(writes.first(), stored.certificate().orElseThrow().serial(), "the certificate the CA issued first");
        assertEquals(Set.of(writes.first()), Set.copyOf(writes.serials), "no other certificate was ordered");
        assertEquals(0, stored.status().orElseThrow().failures());
        // A write etcd applied shows in the view before the duty, at its next tick, finds it there and counts it.
        await().atMost(Duration.ofSeconds(5)).until(() -> p.attempts("success") == 1.0);
        assertEquals(0.0, p.attempts("failure"), "etcd's silence is not the CA's failure");
        await().atMost(Duration.ofSeconds(10)).until(() -> tls().challenges().isEmpty());
        await().atMost(Duration.ofSeconds(30)).until(() -> writes.first().equals(p.servedSerial()));
    }

    @Test
    void aCertificateWhoseWritesEtcdDidNotAnswerIsStoredWhenItAnswersAndNoOtherIsOrdered() {
        Writes writes = new Writes();
        // The first three writes of the certificate never reach etcd: the holder's own, then two of the retries.
        Participant p = participantWhoseCertificateWrites("node1", writes, (put, commit) ->
                writes.lost.getAndIncrement() < 3
                        ? CompletableFuture.failedFuture(new IOException("test: etcd gives no answer"))
                        : commit.send());
        assertStoredOnceAsIssued(p, writes);
        assertTrue(writes.serials.size() >= 4, "written again until etcd took it: " + writes.serials.size());
    }

    @Test
    void aCertificateWhoseWriteEtcdAppliedButWhoseAnswerWasLostIsKeptAsStored() {
        Writes writes = new Writes();
        Participant p = participantWhoseCertificateWrites("node1", writes, (put, commit) -> {
            if (writes.lost.getAndIncrement() > 0) {
                return commit.send();
            }
            commit.send().get(10, TimeUnit.SECONDS); // applied by etcd; its answer is lost on the way back
            return CompletableFuture.failedFuture(new IOException("test: the answer is lost"));
        });
        assertStoredOnceAsIssued(p, writes);
        assertEquals(1, writes.serials.size(), "seen as stored, not written again");
    }

    @Test
    void aCertificateIssuedToANodeThatLostTheDutyIsStoredUnlessANewerOneIs() {
        Writes writes = new Writes();
        // Between the CA's issuance and the write, the duty's key goes (the holder lost it): the write's guard fails.
        Participant p = participantWhoseCertificateWrites("node1", writes, (put, commit) -> {
            if (writes.lost.getAndIncrement() == 0) {
                EtcdClients.await(client.getKVClient().delete(store.keys().acmeHolder()), options, "test");
            }
            return commit.send();
        });
        assertStoredOnceAsIssued(p, writes);
        assertEquals(2, writes.serials.size(), "the guarded write, then the one guarded by the stored certificate");

        // A certificate older than the stored one is never written over it.
        TlsCertificate stored = tls().certificate().orElseThrow();
        TlsCertificate older = new TlsCertificate(stored.chain(), stored.names(), stored.issuer(),
                stored.notBefore() - 1, stored.notAfter() - 1, "0ld", "node9", stored.at());
        TlsStore.Saved saved = store.saveUnlessNewer(older, new TlsKey("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----", "0ld"),
                tls().status().orElseThrow(), List.of());
        assertEquals(TlsStore.Saved.Outcome.NEWER, saved.outcome());
        assertEquals(stored.serial(), store.certificate().orElseThrow().serial());
    }

    @Test
    void anAttemptEtcdCutShortIsTriedAgainWithinSecondsAndIsNotCountedAsTheCasFailure() {
        // Production's CA backoff (30 s, doubling to an hour): a cut counted as the CA's failure would wait 15–30 s.
        AcmeDuty.Timing timing = new AcmeDuty.Timing(Duration.ofSeconds(30), Duration.ofHours(1), TIMING.propagation(),
                TIMING.validation(), TIMING.order(), TIMING.http(), TIMING.tick());
        List<Long> challengeWrites = new CopyOnWriteArrayList<>();
        Participant p = new Participant("node1", options, ZONE, settings(), timing, real -> CertificateWrites.around(
                real, k -> k.contains("acme/challenges/"), (put, commit) -> {
                    challengeWrites.add(System.nanoTime());
                    return challengeWrites.size() == 1
                            ? CompletableFuture.failedFuture(new IOException("test: etcd gives no answer"))
                            : commit.send();
                }));
        participants.add(p);
        AcmeStatus ok = tlsWhen(t -> t.certificate().isPresent() && t.status()
                .map(st -> st.outcome().equals(AcmeStatus.OK)).orElse(false)).status().orElseThrow();
        long againMillis = TimeUnit.NANOSECONDS.toMillis(challengeWrites.get(1) - challengeWrites.get(0));
        // The wait is drawn from [2.5, 5] s; then a tick (250 ms here) and a new order. Counted as the CA's failure,
        // it would be 15-30 s.
        long bound = AcmeDuty.ETCD_RETRY_FIRST.toMillis() + 2000;
        System.out.printf("figure: an attempt etcd cut short was tried again %d ms later (bound %d ms)%n", againMillis,
                bound);
        assertTrue(againMillis <= bound, againMillis + " ms");
        assertEquals(0, ok.failures());
        // The stored status shows in the view before the duty, back from its write, counts the success.
        await().atMost(Duration.ofSeconds(5)).until(() -> p.attempts("success") == 1.0);
        assertEquals(1.0, p.attempts("etcd_unavailable"));
        assertEquals(0.0, p.attempts("failure"));
    }
}
