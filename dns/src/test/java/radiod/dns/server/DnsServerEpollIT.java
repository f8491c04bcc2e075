package radiod.dns.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import radiod.dns.zone.Snapshots;
import radiod.dns.zone.DnsSettings;
import radiod.testkit.Ports;

/**
 * As radiod runs it: Vert.x on Linux's epoll transport (the native library is a runtime dependency), UDP served by
 * one SO_REUSEPORT socket per core on one port, every query answered whichever socket the kernel gives it to.
 */
class DnsServerEpollIT {
    /**
     * Not port 0: the kernel would give the UDP socket a port of its ephemeral range, where a TCP connection may
     * already hold the same number for the TCP listener (bin/test failed once: "Address already in use").
     */
    static int freePort() {
        return Ports.free("127.0.0.1");
    }

    @Test
    void withEpollEveryCoreHasASocketOnThePortAndEveryQueryIsAnswered() throws Exception {
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
        try {
            assertTrue(vertx.isNativeTransportEnabled(), "epoll did not load: " + vertx.unavailableNativeTransportCause());
            DnsServer server = new DnsServer(vertx, DnsSettings.defaults("radio.test").withListen("127.0.0.1", freePort()),
                    () -> Snapshots.of(1, Snapshots.live("node1", "10.0.0.1"), Snapshots.live("node2", "10.0.0.2"),
                            Snapshots.live("node3", "10.0.0.3")), new SimpleMeterRegistry());
            server.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            Process ss = new ProcessBuilder("ss", "-Hunl", "sport = :" + server.port()).redirectErrorStream(true).start();
            String sockets = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(ss.waitFor(10, TimeUnit.SECONDS));
            assertEquals(Runtime.getRuntime().availableProcessors(), sockets.lines().filter(l -> !l.isBlank()).count(), sockets);
            // Each resolver has its own source port, so the kernel's hash spreads them over the sockets.
            for (int i = 0; i < 64; i++) {
                SimpleResolver r = new SimpleResolver("127.0.0.1");
                r.setPort(server.port());
                r.setTimeout(Duration.ofSeconds(2));
                Message m = r.send(Message.newQuery(Record.newRecord(Name.fromString("radio.test."), Type.A, DClass.IN)));
                assertEquals(Rcode.NOERROR, m.getRcode());
                assertEquals(3, m.getSection(org.xbill.DNS.Section.ANSWER).size());
            }
            server.close();
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    /**
     * A burst of queries much larger than the kernel's default receive buffer holds (208 KiB: a few hundred small
     * datagrams), sent without waiting: every one answered, none lost in the socket's buffer (the 35 queries lost
     * per benchmark run before). Needs net.core.rmem_max of 4 MiB, as the package sets it (bin/test does too).
     */
    @Test
    void aBurstOfThousandsOfQueriesIsAnsweredInFull() throws Exception {
        long rmemMax = Long.parseLong(java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/sys/net/core/rmem_max")).get(0).trim());
        assertTrue(rmemMax >= 4 << 20, "net.core.rmem_max is " + rmemMax + ": bin/test and the package raise it to 4194304");
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
        try {
            DnsServer server = new DnsServer(vertx, DnsSettings.defaults("radio.test").withListen("127.0.0.1", freePort()),
                    () -> Snapshots.of(1, Snapshots.live("node1", "10.0.0.1")), new SimpleMeterRegistry());
            server.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            int count = 4000;
            try (java.nio.channels.DatagramChannel client = java.nio.channels.DatagramChannel.open()) {
                client.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 4 << 20);
                client.connect(new java.net.InetSocketAddress("127.0.0.1", server.port()));
                byte[] query = Message.newQuery(Record.newRecord(Name.fromString("radio.test."), Type.A, DClass.IN)).toWire();
                java.nio.ByteBuffer out = java.nio.ByteBuffer.wrap(query);
                for (int id = 0; id < count; id++) {
                    query[0] = (byte) (id >> 8);
                    query[1] = (byte) id;
                    out.clear();
                    client.write(out);
                }
                java.util.BitSet answered = new java.util.BitSet(count);
                client.configureBlocking(false);
                java.nio.ByteBuffer in = java.nio.ByteBuffer.allocate(2048);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (answered.cardinality() < count && System.nanoTime() < deadline) {
                    in.clear();
                    if (client.read(in) > 0) {
                        Message m = new Message(java.util.Arrays.copyOf(in.array(), in.position()));
                        assertEquals(Rcode.NOERROR, m.getRcode());
                        answered.set(m.getHeader().getID());
                    } else {
                        Thread.sleep(1);
                    }
                }
                assertEquals(count, answered.cardinality(), "queries answered of " + count);
            }
            server.close();
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }
}
