package radiod.tests.dns;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.testkit.EtcdCluster;
import radiod.testkit.Ports;

/**
 * Every radiod node of a running cluster answers for the zone from its cluster view (the apex holds exactly the live
 * nodes, per-node names, NS and SOA, the right rcode for everything else), checked with dnsjava, dig and Zonemaster;
 * every node gives the same SOA serial, which presence updates do not move; a killed node leaves the answers within
 * the TTL plus a second.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterDnsIT {
    private static final int TTL = 3;

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    static RadiodCluster cluster;

    /** Zonemaster asks port 53 only: the nodes' DNS listens there, on the first loopback trio where it is free. */
    static final int DNS_PORT = 53;

    @BeforeAll
    static void startCluster() {
        List<RadiodCluster.Placement> placements = new ArrayList<>();
        for (String address : addressesWithPort53Free()) {
            placements.add(new RadiodCluster.Placement(address, List.of(), etcd.endpoints()));
        }
        cluster = new RadiodCluster(etcd, TTL, placements, RadiodCluster.EtcdAccess.OPEN, DNS_PORT);
        // One nameserver per node with its fixed address, as a zone delegated to the nodes is configured (the glue).
        List<String> nameservers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            nameservers.add("ns" + (i + 1) + ".radio.test=" + placements.get(i).address());
        }
        cluster.dnsNameservers(nameservers).start();
        cluster.awaitReady(Duration.ofSeconds(60)); // three JVMs and three Icecasts on a loaded machine
    }

    /** 127.0.0.11-13 unless port 53 is taken on one of them (another run of this test), then 127.0.1.11-13, … */
    static List<String> addressesWithPort53Free() {
        for (int block = 0; block < 50; block++) {
            List<String> trio = List.of("127.0." + block + ".11", "127.0." + block + ".12", "127.0." + block + ".13");
            if (trio.stream().allMatch(a -> Ports.isFree(a, DNS_PORT))) {
                return trio;
            }
        }
        throw new IllegalStateException("port 53 is taken on every 127.0.N.11-13 tried (this test runs as root)");
    }

    static Set<String> addresses(int... nodes) {
        Set<String> out = new TreeSet<>();
        for (int i : nodes) {
            out.add(cluster.node(i).address());
        }
        return out;
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static Message query(String server, String name, int type, boolean tcp) throws IOException {
        SimpleResolver r = new SimpleResolver(server);
        r.setPort(cluster.dnsPort);
        r.setTCP(tcp);
        r.setTimeout(Duration.ofSeconds(2));
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), type, org.xbill.DNS.DClass.IN));
        return r.send(q);
    }

    private static Set<String> apexAddresses(String server) throws IOException {
        Message m = query(server, "radio.test.", Type.A, false);
        Set<String> out = new TreeSet<>();
        for (Record r : m.getSection(Section.ANSWER)) {
            if (r.getType() == Type.A) {
                out.add(r.rdataToString());
            }
        }
        return out;
    }

    private static String dig(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("dig", "@" + cluster.node(0).address(), "-p", Integer.toString(cluster.dnsPort),
                "+time=2", "+tries=1"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        return out;
    }

    @Test
    @Order(1)
    void theApexHoldsExactlyTheLiveNodesOnEveryNode() throws Exception {
        Set<String> expected = addresses(0, 1, 2);
        for (RadiodProcess n : cluster.nodes()) {
            await().atMost(Duration.ofSeconds(5)).until(() -> apexAddresses(n.address()).equals(expected));
            Message m = query(n.address(), "radio.test.", Type.A, false);
            assertTrue(m.getHeader().getFlag(Flags.AA), "AA");
            assertFalse(m.getHeader().getFlag(Flags.RA), "RA must never be set");
            for (Record r : m.getSection(Section.ANSWER)) {
                assertEquals(TTL, r.getTTL());
            }
        }
        String out = dig("radio.test", "A", "+short");
        assertEquals(expected, new TreeSet<>(List.of(out.trim().split("\\s+"))), out);
    }

    @Test
    @Order(2)
    void perNodeNamesNsAndSoaAreAnswered() throws Exception {
        String server = cluster.node(1).address();
        Message node2 = query(server, "node2.radio.test.", Type.A, false);
        assertEquals(Rcode.NOERROR, node2.getRcode());
        assertEquals(cluster.node(1).address(), node2.getSection(Section.ANSWER).get(0).rdataToString());
        Message ns = query(server, "radio.test.", Type.NS, false);
        assertTrue(ns.getSection(Section.ANSWER).stream().anyMatch(r -> r.rdataToString().equals("ns1.radio.test.")), ns.toString());
        Message soa = query(server, "radio.test.", Type.SOA, false);
        assertEquals(Type.SOA, soa.getSection(Section.ANSWER).get(0).getType());
        assertTrue(dig("radio.test", "SOA").contains("status: NOERROR"));
    }

    @Test
    @Order(3)
    void unknownNamesOtherTypesAndOtherZonesGetTheRightRcode() throws Exception {
        String server = cluster.node(2).address();
        Message nx = query(server, "nope.radio.test.", Type.A, false);
        assertEquals(Rcode.NXDOMAIN, nx.getRcode());
        assertEquals(Type.SOA, nx.getSection(Section.AUTHORITY).get(0).getType());
        Message nodata = query(server, "node1.radio.test.", Type.MX, false);
        assertEquals(Rcode.NOERROR, nodata.getRcode());
        assertTrue(nodata.getSection(Section.ANSWER).isEmpty());
        assertEquals(Type.SOA, nodata.getSection(Section.AUTHORITY).get(0).getType());
        Message refused = query(server, "example.com.", Type.A, false);
        assertEquals(Rcode.REFUSED, refused.getRcode());
        assertFalse(refused.getHeader().getFlag(Flags.RA));
        assertTrue(dig("www.example.com", "A").contains("status: REFUSED"));
        assertTrue(dig("nope.radio.test", "A").contains("status: NXDOMAIN"));
    }

    static long serial(String server) throws IOException {
        Message m = query(server, "radio.test.", Type.SOA, false);
        return ((SOARecord) m.getSection(Section.ANSWER).get(0)).getSerial();
    }

    /** The serials the nodes give now. */
    static Set<Long> serials() throws IOException {
        Set<Long> out = new TreeSet<>();
        for (RadiodProcess n : cluster.nodes()) {
            out.add(serial(n.address()));
        }
        return out;
    }

    /** The etcd revision of the node's view, from its {@code /status.json}. */
    static long viewRevision(RadiodProcess node) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(node.httpUrl("/status.json")))
                .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
        Matcher m = Pattern.compile("\"revision\"\\s*:\\s*(\\d+)").matcher(r.body());
        assertTrue(m.find(), r.body());
        return Long.parseLong(m.group(1));
    }

    static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    @Order(4)
    void everyNodeGivesTheSameSerialAndPresenceDoesNotMoveIt() throws Exception {
        // The views agree on the answers once every node's status is in every view.
        await().atMost(Duration.ofSeconds(10)).until(() -> serials().size() == 1);
        long serial = serial(cluster.node(0).address());
        long revision = cluster.snapshot().revision();
        // Presence rewrites every node's status each second: wait until each node's view is past that revision.
        for (RadiodProcess n : cluster.nodes()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> viewRevision(n) > revision + 2);
        }
        for (RadiodProcess n : cluster.nodes()) {
            assertEquals(serial, serial(n.address()), n.name() + ": its view is at revision " + viewRevision(n)
                    + ", past " + revision + " when the serial was read; the answers did not change, nor may the serial");
        }
    }

    /**
     * Zonemaster's undelegated test of the zone with the three nodes as its nameservers (the modules that need no
     * Internet: Basic runs with every test; Address and Connectivity03 want reverse zones and AS lookups, and
     * 127.0.0.0/8 is a private network to them; Connectivity01/02 report success only at DEBUG). No WARNING, ERROR
     * or CRITICAL (the NOTICEs left are SOA timers below Zonemaster's recommendations, no IPv6 nameserver and no
     * mail target), and one SOA serial.
     */
    @Test
    @Order(5)
    void zonemasterFindsNoErrorAndOneSerial() throws Exception {
        List<String> cmd = new ArrayList<>(List.of("zonemaster-cli", "--no-progress", "--raw", "--show-level",
                "--show-testcase", "--level", "INFO", "--no-ipv6"));
        for (String module : List.of("Consistency", "Delegation", "Nameserver", "Syntax", "Zone",
                "Connectivity/connectivity01", "Connectivity/connectivity02")) {
            cmd.addAll(List.of("--test", module));
        }
        for (String ns : cluster.dnsNameservers()) {
            cmd.addAll(List.of("--ns", ns.replace('=', '/')));
        }
        cmd.add("radio.test");
        Path output = cluster.dir().resolve("zonemaster.txt");
        long started = System.nanoTime();
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        } catch (IOException e) {
            throw new AssertionError("zonemaster-cli cannot be run (bin/test installs Debian's zonemaster-cli): " + e, e);
        }
        if (!p.waitFor(3, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("zonemaster-cli did not finish within 3 minutes:\n" + Files.readString(output));
        }
        String out = Files.readString(output);
        System.out.printf("zonemaster-cli took %d ms:%n%s%n", Duration.ofNanos(System.nanoTime() - started).toMillis(), out);
        assertEquals(0, p.exitValue(), out);
        List<String[]> messages = out.lines().map(String::strip).map(l -> l.split("\\s+", 5))
                .filter(f -> f.length >= 4 && f[0].matches("[0-9.]+")).toList();
        List<String> bad = new ArrayList<>();
        for (String[] f : messages) {
            String level = f[1];
            boolean severe = level.equals("WARNING") || level.equals("ERROR") || level.equals("CRITICAL");
            boolean serialWarning = f[2].equals("CONSISTENCY01") && !level.equals("INFO") && !level.equals("DEBUG")
                    || f[3].equals("MULTIPLE_SOA_SERIALS") || f[3].equals("SOA_SERIAL_VARIATION");
            if (severe || serialWarning) {
                bad.add(String.join(" ", f));
            }
        }
        assertTrue(bad.isEmpty(), "Zonemaster: " + bad + "\n" + out);
        assertTrue(messages.stream().anyMatch(f -> f[3].equals("ONE_SOA_SERIAL")), "consistency01 ran and saw one serial:\n" + out);
        for (String tag : List.of("NO_RECURSOR", "AXFR_FAILURE", "CASE_QUERIES_RESULTS_OK")) {
            assertTrue(messages.stream().anyMatch(f -> f[3].equals(tag)), "the nameserver tests ran (" + tag + "):\n" + out);
        }
    }

    @Test
    @Order(6)
    void aKilledNodeLeavesTheAnswersWithinTheTtlPlusOneSecond() throws Exception {
        RadiodProcess victim = cluster.node(2);
        String server = cluster.node(0).address();
        long before = serial(server);
        long killed = System.nanoTime();
        victim.kill();
        await().atMost(Duration.ofSeconds(TTL + 1)).pollInterval(Duration.ofMillis(50))
                .until(() -> !apexAddresses(server).contains(victim.address()));
        System.out.printf("killed node left the DNS answers after %d ms (TTL %d s)%n",
                Duration.ofNanos(System.nanoTime() - killed).toMillis(), TTL);
        assertEquals(addresses(0, 1), apexAddresses(server));
        assertEquals(Rcode.NXDOMAIN, query(server, "node3.radio.test.", Type.A, false).getRcode());
        long after = serial(server);
        assertNotEquals(before, after, "the answers changed: so did the serial");
        await().atMost(Duration.ofSeconds(5)).until(() -> serial(cluster.node(1).address()) == after);
        victim.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> apexAddresses(server).contains(victim.address()));
    }
}
