package radiod.dns.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;
import radiod.dns.zone.DnsSettings;
import radiod.dns.zone.Snapshots;
import radiod.testkit.Ports;

/** The DNS server on real sockets: dnsjava's resolver, dig, and garbage. */
class DnsServerIT {
    static final String HOST = "127.0.0.1";
    static Vertx vertx;
    static DnsServer server;
    static int port;
    static SimpleMeterRegistry registry = new SimpleMeterRegistry();
    static final AtomicReference<ClusterSnapshot> view = new AtomicReference<>();

    @BeforeAll
    static void start() throws Exception {
        view.set(Snapshots.of(1, List.of(Snapshots.node("node1", true, "127.0.0.11"), Snapshots.node("node2", true, "127.0.0.12"))));
        vertx = Vertx.vertx();
        port = Ports.free(HOST);
        server = new DnsServer(vertx, HOST, port, DnsSettings.of("radio.test", List.of("ns1.radio.test"), 5, 8, "stream"),
                view::get, registry);
        server.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() {
        server.close();
        vertx.close();
    }

    static Message query(String name, int type, boolean tcp) throws Exception {
        SimpleResolver r = new SimpleResolver(HOST);
        r.setPort(port);
        r.setTCP(tcp);
        r.setTimeout(Duration.ofSeconds(2));
        return r.send(Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN)));
    }

    static Set<String> a(Message m) {
        Set<String> out = new TreeSet<>();
        m.getSection(Section.ANSWER).stream().filter(r -> r.getType() == Type.A || r.getType() == Type.AAAA)
                .forEach(r -> out.add(r.rdataToString()));
        return out;
    }

    static String dig(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("dig", "@" + HOST, "-p", Integer.toString(port), "+time=2", "+tries=1"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        return out;
    }

    @Test
    void udpAndTcpAnswerFromTheCurrentSnapshot() throws Exception {
        assertEquals(Set.of("127.0.0.11", "127.0.0.12"), a(query("radio.test.", Type.A, false)));
        assertEquals(Set.of("127.0.0.11", "127.0.0.12"), a(query("radio.test.", Type.A, true)));
        view.set(Snapshots.of(2, List.of(Snapshots.node("node1", true, "127.0.0.11"))));
        assertEquals(Set.of("127.0.0.11"), a(query("radio.test.", Type.A, false)), "the next answer follows the view");
        assertEquals(Rcode.NXDOMAIN, query("node2.radio.test.", Type.A, false).getRcode());
        view.set(Snapshots.of(3, List.of(Snapshots.node("node1", true, "127.0.0.11"), Snapshots.node("node2", true, "127.0.0.12"))));
    }

    @Test
    void digSeesAnAuthoritativeNonRecursiveServer() throws Exception {
        String apex = dig("radio.test", "A");
        assertTrue(apex.contains("status: NOERROR"), apex);
        assertTrue(apex.contains("flags: qr aa rd;"), "aa set, ra never: " + apex);
        assertTrue(dig("radio.test", "SOA").contains("IN\tSOA\tns1.radio.test."));
        assertTrue(dig("nope.radio.test", "A").contains("status: NXDOMAIN"));
        String outside = dig("example.com", "A");
        assertTrue(outside.contains("status: REFUSED"), outside);
        assertFalse(outside.contains(" ra"), outside);
        assertTrue(dig("radio.test", "NS").contains("ns1.radio.test."));
    }

    @Test
    void anOversizedUdpAnswerIsTruncatedAndComesWholeOverTcp() throws Exception {
        ClusterSnapshot before = view.get();
        List<NodeStatus> many = new ArrayList<>();
        for (int i = 1; i <= 40; i++) {
            many.add(Snapshots.node("n" + i, true, "2001:db8::" + Integer.toHexString(i)));
        }
        view.set(Snapshots.of(5, many));
        try {
            DnsServer wide = new DnsServer(vertx, HOST, Ports.free(HOST), DnsSettings.of("radio.test", List.of(), 5, 64, null),
                    view::get, registry);
            wide.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            String udp = digAt(wide.port(), "radio.test", "AAAA", "+noedns", "+ignore");
            assertTrue(udp.contains(" tc"), udp);
            String tcp = digAt(wide.port(), "radio.test", "AAAA", "+tcp");
            assertTrue(tcp.contains("ANSWER: 40"), tcp);
            String fallback = digAt(wide.port(), "radio.test", "AAAA", "+noedns");
            assertTrue(fallback.contains("ANSWER: 40"), "dig retries over TCP after TC: " + fallback);
            wide.close();
        } finally {
            view.set(before);
        }
        assertTrue(registry.get("radiod.dns.truncated").counter().count() >= 1);
    }

    static String digAt(int p, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("dig", "@" + HOST, "-p", Integer.toString(p), "+time=2", "+tries=1"));
        cmd.addAll(List.of(args));
        Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(proc.getInputStream().readAllBytes());
        assertTrue(proc.waitFor(10, TimeUnit.SECONDS));
        return out;
    }

    @Test
    void garbageNeverCrashesTheServerAndEveryParseableQueryIsAnswered() throws Exception {
        Random random = new Random(42);
        List<byte[]> seeds = new ArrayList<>();
        for (String n : List.of("radio.test.", "node1.radio.test.", "stream.radio.test.", "x.example.com.")) {
            for (int t : new int[] {Type.A, Type.AAAA, Type.NS, Type.SOA, Type.ANY, Type.TXT}) {
                seeds.add(Message.newQuery(Record.newRecord(Name.fromString(n), t, DClass.IN)).toWire());
            }
        }
        // compression pointer loop: the question name points at itself
        byte[] loop = {0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, (byte) 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01};
        int sent = 0;
        int expected = 0;
        int answered = 0;
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(HOST, 0))) {
            socket.setSoTimeout(1000);
            InetAddress server = InetAddress.getByName(HOST);
            byte[] in = new byte[4096];
            for (int i = 0; i < 100_000; i++) {
                byte[] packet;
                int kind = i % 10;
                if (i == 0) {
                    packet = loop;
                } else if (kind == 0) {
                    packet = new byte[random.nextInt(64)];
                    random.nextBytes(packet);
                } else if (kind == 1) {
                    byte[] seed = seeds.get(random.nextInt(seeds.size()));
                    packet = java.util.Arrays.copyOf(seed, random.nextInt(seed.length));
                } else {
                    byte[] seed = seeds.get(random.nextInt(seeds.size()));
                    packet = seed.clone();
                    int flips = 1 + random.nextInt(4);
                    for (int f = 0; f < flips; f++) {
                        packet[random.nextInt(packet.length)] = (byte) random.nextInt(256);
                    }
                }
                // The id identifies the reply; a response (QR set) or a runt gets no answer.
                if (packet.length >= 2) {
                    packet[0] = (byte) (i >> 8);
                    packet[1] = (byte) i;
                }
                boolean answerable = packet.length >= 12 && (packet[2] & 0x80) == 0;
                socket.send(new DatagramPacket(packet, packet.length, server, port));
                sent++;
                if (!answerable) {
                    continue;
                }
                expected++;
                DatagramPacket reply = new DatagramPacket(in, in.length);
                try {
                    do {
                        socket.receive(reply);
                    } while (reply.getLength() < 2 || ((in[0] & 0xff) << 8 | (in[1] & 0xff)) != (i & 0xffff));
                    answered++;
                } catch (SocketTimeoutException e) {
                    // counted below
                }
            }
        }
        System.out.printf("dns fuzz: %d packets sent, %d answerable, %d answered%n", sent, expected, answered);
        assertEquals(100_000, sent);
        assertEquals(expected, answered);
        assertEquals(Set.of("127.0.0.11", "127.0.0.12"), a(query("radio.test.", Type.A, false)), "still answering");
    }

    @Test
    void garbageOverTcpIsSurvived() throws Exception {
        Random random = new Random(7);
        for (int i = 0; i < 200; i++) {
            try (Socket s = new Socket(HOST, port)) {
                s.setSoTimeout(500);
                OutputStream out = s.getOutputStream();
                byte[] junk = new byte[random.nextInt(300)];
                random.nextBytes(junk);
                out.write(junk);
                out.flush();
                if (i % 3 == 0) {
                    out.write(new byte[] {(byte) 0xff, (byte) 0xff, 1, 2, 3}); // announces 64 KiB, sends 3 bytes
                    out.flush();
                }
            }
        }
        // two queries pipelined in one write, both answered
        byte[] q1 = Message.newQuery(Record.newRecord(Name.fromString("radio.test."), Type.A, DClass.IN)).toWire();
        byte[] q2 = Message.newQuery(Record.newRecord(Name.fromString("node1.radio.test."), Type.A, DClass.IN)).toWire();
        try (Socket s = new Socket(HOST, port)) {
            s.setSoTimeout(2000);
            OutputStream out = s.getOutputStream();
            java.io.ByteArrayOutputStream both = new java.io.ByteArrayOutputStream();
            for (byte[] q : List.of(q1, q2)) {
                both.write(q.length >> 8);
                both.write(q.length);
                both.write(q);
            }
            out.write(both.toByteArray());
            out.flush();
            InputStream in = s.getInputStream();
            for (int k = 0; k < 2; k++) {
                int len = (in.read() << 8) | in.read();
                Message m = new Message(in.readNBytes(len));
                assertEquals(Rcode.NOERROR, m.getRcode());
                assertTrue(m.getHeader().getFlag(Flags.AA));
            }
        }
        assertEquals(Rcode.NOERROR, query("radio.test.", Type.A, true).getRcode());
    }
}
