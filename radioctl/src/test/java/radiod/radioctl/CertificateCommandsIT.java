package radiod.radioctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import com.fasterxml.jackson.databind.JsonNode;

import radiod.cluster.model.Json;
import radiod.cluster.tls.AcmeHolder;
import radiod.cluster.tls.AcmeStatus;
import radiod.cluster.tls.RenewRequest;
import radiod.cluster.tls.TlsCertificate;
import radiod.cluster.tls.TlsKey;
import radiod.testkit.EtcdCluster;
import radiod.testkit.etcd.EtcdPrefix;
import java.nio.charset.StandardCharsets;

/**
 * {@code radioctl status} with a certificate, and {@code radioctl renew-certificate}, against hand-written TLS keys in a
 * real etcd; a thread stands in for the node holding the ACME duty.
 */
class CertificateCommandsIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();
    static final String PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    @RegisterExtension
    final EtcdPrefix keys = EtcdPrefix.on(etcd, "certificate-it");
    private final Radioctl radioctl = Radioctl.at(keys);


    private long put(String relativeKey, Object value) {
        return keys.put(relativeKey, Json.encodeString(value));
    }

    static TlsCertificate certificate(String serial) {
        long now = System.currentTimeMillis();
        return new TlsCertificate(PEM, List.of("radio.test", "*.radio.test"), "CN=Pebble Intermediate CA 1a2b3c",
                now - 86_400_000L, now + 89 * 86_400_000L, serial, "node2", now);
    }

    @Test
    void statusShowsTheCertificateAndItsRenewalButNeverTheKey() {
        put("tls/certificate", certificate("5f3e2a"));
        put("secret/tls/key", new TlsKey("-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n", "5f3e2a"));
        put("acme/holder", new AcmeHolder("node2", 1));
        put("tls/status", new AcmeStatus("node2", System.currentTimeMillis(), AcmeStatus.OK, "", 0, 0, 1, 0));
        Radioctl.Result r = radioctl.run("status");
        assertEquals(ExitCode.NO_MASTER, r.exitCode(), r::toString);
        assertTrue(r.out().contains("certificate: radio.test, *.radio.test; expires "), r::toString);
        assertTrue(r.out().contains("(in 88 days)") || r.out().contains("(in 89 days)"), r::toString);
        assertTrue(r.out().contains("  issued by CN=Pebble Intermediate CA 1a2b3c, serial 5f3e2a; obtained by node2"), r::toString);
        assertTrue(r.out().contains("renewal: by node2; last attempt "), r::toString);
        assertTrue(!r.out().contains("PRIVATE KEY") && !r.out().contains("MIGH"), r::toString);

        JsonNode j = radioctl.run("status", "--json").json();
        assertEquals("5f3e2a", j.get("tls").get("certificate").get("serial").asText());
        assertEquals("node2", j.get("tls").get("renewal").get("holder").asText());
        assertEquals("ok", j.get("tls").get("renewal").get("outcome").asText());
        assertTrue(!j.toString().contains("MIGH"), "the key is not read");
    }

    @Test
    void renewingWithoutANodeHoldingTheDutyWritesNothingAndSaysWhy() {
        Radioctl.Result r = radioctl.run("renew-certificate");
        assertEquals(ExitCode.NOT_FOUND, r.exitCode(), r::toString);
        assertEquals("radioctl: no node holds the ACME duty: no node is configured with tls.acme, or none is up; "
                + "nothing was written\n", r.err());
        assertTrue(keys.get("tls/renew").isEmpty());
        assertEquals(ExitCode.USAGE, radioctl.run("renew-certificate", "--wait", "soon").exitCode());
    }

    @Test
    void renewingWritesTheRequestForTheHolder() {
        put("acme/holder", new AcmeHolder("node2", 1));
        Radioctl.Result r = radioctl.run("renew-certificate");
        assertEquals(ExitCode.OK, r.exitCode(), r::toString);
        assertTrue(r.out().startsWith("asked node2 to renew the certificate (request at etcd revision "), r::toString);
        RenewRequest request = Json.decodeStrict(keys.get("tls/renew").orElseThrow().getBytes(StandardCharsets.UTF_8), RenewRequest.class);
        assertEquals("radioctl", request.by());
        assertTrue(radioctl.run("status").out().contains("a renewal was requested (radioctl renew-certificate) and is not done"));
    }

    /** Stands in for the holder: once the request is in etcd, does {@code answer} with its revision. */
    private CompletableFuture<Void> holderAnswering(java.util.function.LongConsumer answer) {
        return CompletableFuture.runAsync(() -> {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < deadline) {
                long revision = keys.modRevision("tls/renew");
                if (revision > 0) {
                    answer.accept(revision);
                    return;
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        });
    }

    @Test
    void withWaitItReturnsOnceTheNewCertificateIsStored() throws Exception {
        put("acme/holder", new AcmeHolder("node2", 1));
        put("tls/certificate", certificate("01"));
        CompletableFuture<Void> holder = holderAnswering(rev -> put("tls/certificate", certificate("02")));
        Radioctl.Result r = radioctl.run("renew-certificate", "--wait", "30s");
        holder.get(30, TimeUnit.SECONDS);
        assertEquals(ExitCode.OK, r.exitCode(), r::toString);
        assertTrue(r.out().startsWith("renewed by node2: serial 02, for radio.test, *.radio.test, expires "), r::toString);
    }

    @Test
    void withWaitAFailedAttemptEndsItWithTheReason() throws Exception {
        put("acme/holder", new AcmeHolder("node2", 1));
        CompletableFuture<Void> holder = holderAnswering(rev -> put("tls/status", new AcmeStatus("node2",
                System.currentTimeMillis(), AcmeStatus.FAILED, "the CA could not validate radio.test by DNS-01: "
                + "No TXT records found", 1_767_225_630_000L, 1, 0, rev)));
        Radioctl.Result r = radioctl.run("renew-certificate", "--wait", "30s");
        holder.get(30, TimeUnit.SECONDS);
        assertEquals(ExitCode.OTHER, r.exitCode(), r::toString);
        assertEquals("radioctl: the renewal by node2 failed: the CA could not validate radio.test by DNS-01: No TXT "
                + "records found; it is retried at 2026-01-01T00:00:30Z\n", r.err());
    }
}
