package radiod.controller.tls;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import radiod.cluster.tls.TlsCertificate;
import radiod.cluster.tls.TlsKey;
import radiod.cluster.tls.TlsState;
import radiod.cluster.view.ClusterSnapshot;

/** Every node's loader: what it hands to the TLS servers, and what it keeps from them. */
class CertificateLoaderTest {
    record Call(String chain, String key, String origin) {
    }

    final List<Call> calls = new CopyOnWriteArrayList<>();
    final AtomicBoolean refuse = new AtomicBoolean();
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final CertificateLoader loader = new CertificateLoader((chain, key, origin) -> {
        if (refuse.get()) {
            throw new IllegalStateException("the TLS server refused it");
        }
        calls.add(new Call(chain, key, origin));
    }, "/radiod/", registry);
    long revision;

    @AfterEach
    void close() {
        loader.close();
    }

    ClusterSnapshot snapshot(Optional<TlsCertificate> certificate, Optional<TlsKey> key) {
        revision++;
        return ClusterSnapshot.EMPTY.withTls(new TlsState(certificate, certificate.isPresent() ? revision : 0, key,
                Optional.empty(), Optional.empty(), Map.of(), Optional.empty(), 0));
    }

    ClusterSnapshot snapshot(TestChains.Issued issued) {
        return snapshot(Optional.of(issued.certificate()), Optional.of(issued.tlsKey()));
    }

    double count(String outcome) {
        return registry.get("radiod.acme.certificate.loads").tag("outcome", outcome).counter().count();
    }

    /** Hands {@code s} to the loader and waits until it has looked at it (one more outcome counted, or none expected). */
    void load(ClusterSnapshot s, String outcome) {
        double before = count(outcome);
        loader.changed(s);
        await().atMost(Duration.ofSeconds(5)).until(() -> count(outcome) > before);
    }

    @Test
    void aGoodPairIsHandedOnOnceWithItsOrigin() {
        TestChains.Issued a = TestChains.issue("radio.test", "*.radio.test");
        load(snapshot(a), "applied");
        assertEquals(1, calls.size());
        assertEquals(a.certificate().chain(), calls.get(0).chain());
        assertEquals(a.tlsKey().key(), calls.get(0).key());
        assertTrue(calls.get(0).origin().contains("/radiod/tls/certificate") && calls.get(0).origin()
                .contains(a.certificate().serial()), calls.get(0).origin());
        assertEquals(a.certificate().serial(), loader.appliedSerial());

        TestChains.Issued b = TestChains.issue("radio.test", "*.radio.test");
        loader.changed(snapshot(a)); // the same pair again, in a later view (another key changed): not handed on again
        load(snapshot(b), "applied");
        assertEquals(List.of(a.certificate().chain(), b.certificate().chain()), calls.stream().map(Call::chain).toList());
    }

    @Test
    void aPairThatFailsACheckIsNotHandedOnAndTheLastGoodOneStays() {
        TestChains.Issued good = TestChains.issue("radio.test", "*.radio.test");
        load(snapshot(good), "applied");
        TestChains.Issued other = TestChains.issue("radio.test", "*.radio.test");

        // The key of another certificate, as it says.
        load(snapshot(Optional.of(good.certificate()), Optional.of(other.tlsKey())), "rejected");
        // Another certificate's key claiming to be this one's.
        load(snapshot(Optional.of(good.certificate()), Optional.of(new TlsKey(other.tlsKey().key(),
                good.certificate().serial()))), "rejected");
        // An expired certificate.
        Instant now = Instant.now();
        TestChains.Issued expired = TestChains.issue(now.minus(Duration.ofDays(10)), now.minus(Duration.ofSeconds(1)),
                "radio.test");
        load(snapshot(expired), "rejected");
        // A chain that only looks like PEM.
        TlsCertificate garbage = new TlsCertificate("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
                List.of("radio.test"), "", 1, 2, "", "node1", 1);
        load(snapshot(Optional.of(garbage), Optional.of(good.tlsKey())), "rejected");
        // A key that is not one.
        load(snapshot(Optional.of(good.certificate()), Optional.of(new TlsKey(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", good.certificate().serial()))), "rejected");

        assertEquals(1, calls.size(), "nothing but the good pair was handed on");
        assertEquals(5.0, count("rejected"));
        assertEquals(good.certificate().serial(), loader.appliedSerial());

        TestChains.Issued next = TestChains.issue("radio.test", "*.radio.test");
        load(snapshot(next), "applied");
        assertEquals(next.certificate().chain(), calls.get(1).chain());
    }

    @Test
    void aRefusalIsCountedAndTheNextPairIsTriedAgain() {
        refuse.set(true);
        TestChains.Issued a = TestChains.issue("radio.test", "*.radio.test");
        load(snapshot(a), "refused");
        assertTrue(calls.isEmpty());
        refuse.set(false);
        TestChains.Issued b = TestChains.issue("radio.test", "*.radio.test");
        load(snapshot(b), "applied");
        assertEquals(b.certificate().chain(), calls.get(0).chain());
    }

    @Test
    void aCertificateWithoutItsKeyOrNoneAtAllIsLeftAlone() {
        TestChains.Issued a = TestChains.issue("radio.test");
        loader.changed(snapshot(Optional.of(a.certificate()), Optional.empty()));
        loader.changed(snapshot(Optional.empty(), Optional.empty()));
        load(snapshot(a), "applied"); // the loader's thread handles snapshots in order: the two before are done
        assertEquals(1, calls.size());
        assertEquals(0.0, count("rejected"));
    }
}
