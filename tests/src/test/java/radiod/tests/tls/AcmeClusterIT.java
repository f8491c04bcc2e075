package radiod.tests.tls;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;


import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import radiod.cluster.model.Mount;
import radiod.cluster.tls.AcmeHolder;
import radiod.cluster.tls.TlsCertificate;
import radiod.tests.fire.Radioctl;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;
import radiod.testkit.Pebble;
import radiod.testkit.encoder.Tone;

/**
 * Certificates that radiod gets itself, end to end: three radiod processes configured with {@code tls.acme} against
 * a real ACME CA on loopback (Debian's pebble, validating DNS-01 against the nodes' DNS servers, asked in turn as a
 * resolver would). The node holding the ACME duty
 * gets a certificate for {@code radio.test} and {@code *.radio.test}, and every node serves it on its HTTPS port
 * (checked with curl trusting only pebble's root); {@code radioctl renew-certificate} replaces it on every node
 * while an HTTPS listener on every node (curl) keeps receiving the stream;
 * killing the holder (kill -9) moves the duty to another node, which renews when asked.
 */
class AcmeClusterIT {
    static final String ZONE = "radio.test";
    static final Mount LIVE = new Mount("/live.mp3", "source", "pw-acme-live", null, null, 0, 128, null);
    static final List<Process> processes = new CopyOnWriteArrayList<>();

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    static Path dir;
    static Pebble pebble;
    static RadiodCluster cluster;
    static Path root;

    static Resolver resolver;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("radiod-acme-cluster-");
        cluster = new RadiodCluster(etcd, 3, 3);
        resolver = new Resolver(cluster.nodes().stream().map(n -> new InetSocketAddress(n.address(), cluster.dnsPort)).toList());
        pebble = Pebble.start("127.0.0.1:" + resolver.port(), Map.of());
        cluster.tlsAcme(pebble.directory(), pebble.httpsCa()).start();
        cluster.awaitReady(Duration.ofSeconds(45));
        root = dir.resolve("pebble-root.pem");
        Files.writeString(root, pebble.root());
    }

    @AfterAll
    static void stop() {
        processes.forEach(Streams::stop);
        if (cluster != null) {
            cluster.close();
        }
        if (pebble != null) {
            pebble.close();
        }
        if (resolver != null) {
            resolver.close();
        }
    }

    /**
     * What the CA's resolver does with a zone served by several nameservers: asks the next one when one does not
     * answer. pebble takes one DNS server; this relays each of its UDP queries to the nodes' DNS servers in turn.
     */
    static final class Resolver implements AutoCloseable {
        private final DatagramSocket socket;
        private final List<InetSocketAddress> servers;
        private final Thread thread;

        Resolver(List<InetSocketAddress> servers) throws IOException {
            this.servers = servers;
            this.socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
            this.thread = new Thread(this::relay, "acme-test-resolver");
            thread.setDaemon(true);
            thread.start();
        }

        int port() {
            return socket.getLocalPort();
        }

        private void relay() {
            while (!socket.isClosed()) {
                try {
                    DatagramPacket query = new DatagramPacket(new byte[4096], 4096);
                    socket.receive(query);
                    Thread t = new Thread(() -> answer(query), "acme-test-resolver-query");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    if (socket.isClosed()) {
                        return;
                    }
                }
            }
        }

        /** One query: the nameservers in turn; a dead one refuses at once (a connected socket sees the ICMP). */
        private void answer(DatagramPacket query) {
            byte[] q = java.util.Arrays.copyOf(query.getData(), query.getLength());
            for (InetSocketAddress server : servers) {
                try (DatagramSocket up = new DatagramSocket()) {
                    up.connect(server);
                    up.setSoTimeout(500);
                    up.send(new DatagramPacket(q, q.length));
                    DatagramPacket answer = new DatagramPacket(new byte[4096], 4096);
                    up.receive(answer);
                    socket.send(new DatagramPacket(answer.getData(), answer.getLength(), query.getSocketAddress()));
                    return;
                } catch (IOException e) {
                    // that nameserver is down: the next one
                }
            }
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    static Optional<String> holder() {
        return cluster.snapshot().tls().holder().map(AcmeHolder::node);
    }

    static Optional<TlsCertificate> stored() {
        return cluster.snapshot().tls().certificate();
    }

    static String name(RadiodProcess n) {
        return n.name() + "." + ZONE;
    }

    /** The serial of the certificate a new handshake with the node's HTTPS port sees, verified against pebble's root. */
    static String servedSerial(RadiodProcess n) throws Exception {
        return Handshakes.servedSerial(n.address(), cluster.httpsPort, name(n), pebble.root());
    }

    static boolean servesSerial(RadiodProcess n, String serial) {
        try {
            return servedSerial(n).equalsIgnoreCase(serial);
        } catch (Exception e) {
            return false; // not yet open, or an older certificate that the check refuses
        }
    }

    static List<String> curl(String... args) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--cacert", root.toString()));
        for (RadiodProcess n : cluster.nodes()) {
            cmd.addAll(List.of("--resolve", name(n) + ":" + cluster.httpsPort + ":" + n.address()));
        }
        cmd.addAll(List.of(args));
        return cmd;
    }

    static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "finished: " + cmd);
        return out;
    }

    /**
     * A mount with an encoder (ffmpeg, plain source port of node 2) and one curl listening over HTTPS on each node's
     * {@code /_stream/} (its name resolved to its address); returns the files they write once each has audio.
     */
    static List<Path> httpsListenerOnEveryNode() {
        cluster.putMount(LIVE);
        RadiodProcess at = cluster.node(2);
        String url = Tone.url(LIVE.sourceUser(), LIVE.sourcePassword(), at.address(), cluster.sourcePort, LIVE.path());
        Process[] encoder = new Process[1];
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(250)).until(() -> {
            if (encoder[0] == null || !encoder[0].isAlive()) {
                encoder[0] = Tone.mp3(url).start(dir.resolve("encoder.log"));
                processes.add(encoder[0]);
            }
            return cluster.nodes().stream().allMatch(n -> cluster.snapshot().node(n.name())
                    .map(s -> s.hasMount(LIVE.path())).orElse(false));
        });
        List<Path> files = new ArrayList<>();
        for (RadiodProcess n : cluster.nodes()) {
            Path file = dir.resolve("heard-" + n.name() + ".mp3");
            try {
                processes.add(new ProcessBuilder(curl("-N", "-o", file.toString(),
                        "https://" + name(n) + ":" + cluster.httpsPort + "/_stream" + LIVE.path()))
                        .redirectErrorStream(true).redirectOutput(dir.resolve("listener-" + n.name() + ".log").toFile())
                        .start());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            files.add(file);
        }
        for (Path file : files) {
            await().atMost(Duration.ofSeconds(15)).until(() -> Files.exists(file) && Files.size(file) > 16_000);
        }
        return files;
    }

    @Test
    void aWildcardCertificateFromTheCaIsServedByEveryNodeRenewedOnRequestAndTheDutyMovesWhenItsNodeDies() throws Exception {
        // 1. Obtained through radiod (DNS-01 answered by radiod's DNS) and served by every node.
        TlsCertificate first = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(AcmeClusterIT::stored, Optional::isPresent).orElseThrow();
        assertEquals(List.of(ZONE, "*." + ZONE), first.names().stream().sorted((a, b) -> a.length() - b.length()).toList(),
                "the apex and the wildcard");
        assertEquals(holder().orElseThrow(), first.by(), "the holder obtained it");
        for (RadiodProcess n : cluster.nodes()) {
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> servesSerial(n, first.serial()));
        }
        String status = run(curl("-o", "/dev/null", "-w", "%{http_code}", "https://" + name(cluster.node(1)) + ":"
                + cluster.httpsPort + "/status.json"));
        assertEquals("200", status, "curl, trusting only pebble's root, reads a node's status over HTTPS");
        Radioctl.Result shown = Radioctl.run(cluster, "status");
        assertTrue(shown.out().contains("*." + ZONE) && shown.out().contains(first.serial()), shown.out());

        // 2. A forced renewal replaces it on every node, while an HTTPS listener on every node keeps receiving.
        List<Path> heard = httpsListenerOnEveryNode();
        assertEquals(0, Radioctl.run(cluster, "renew-certificate", "--wait", "60s").exit());
        TlsCertificate second = stored().orElseThrow();
        assertNotEquals(first.serial(), second.serial());
        for (RadiodProcess n : cluster.nodes()) {
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> servesSerial(n, second.serial()));
        }
        for (int i = 0; i < heard.size(); i++) {
            Path file = heard.get(i);
            Process listener = processes.get(processes.size() - heard.size() + i);
            long atSwap = Files.size(file);
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                assertTrue(listener.isAlive(), "an HTTPS listener was dropped by the renewal: " + file);
                return Files.size(file) > atSwap + 20_000;
            });
        }

        // 3. kill -9 of the holder: the duty moves to a surviving node, which renews when asked.
        RadiodProcess old = cluster.node(holder().orElseThrow());
        old.kill();
        String next = await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                .until(AcmeClusterIT::holder, h -> h.isPresent() && !h.get().equals(old.name())).orElseThrow();
        assertEquals(0, Radioctl.run(cluster, "renew-certificate", "--wait", "60s").exit());
        TlsCertificate third = stored().orElseThrow();
        assertEquals(next, third.by(), "the new holder renewed");
        for (RadiodProcess n : cluster.nodes()) {
            if (n != old) {
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> servesSerial(n, third.serial()));
            }
        }
    }
}
