package radiod.tests.partition;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 7, scenario 5: the master cut off from the rest by a real network partition. Three network namespaces, one
 * per host, each holding an etcd member and a radiod (with its Icecast), joined by a bridge in a fourth namespace on
 * the project's test-host network (192.0.2.0/24, as the operations tests' hosts; nothing outside these namespaces
 * is touched). The test drives and watches them from inside the namespaces ({@code ip netns exec}: etcdctl and
 * curl), as this machine passes no TCP between its own namespace and another one. The master's bridge port is
 * taken down: its radiod must step down on its own (its etcd member has no quorum), the majority must elect another
 * master, no two nodes may claim mastership at once, and after the link is back the old master rejoins as a relay
 * and mastership stays where it is. The members run with {@code --pre-vote}, as Ansible configures them: without it
 * the returning member's higher raft term deposes the etcd leader, and the stall can cost the new master its lease.
 */
class PartitionIT {
    static final int TTL = 5;
    static final int HTTP_PORT = 8080;
    static final String PREFIX = "/radiod/";
    static final String TAG = "rdp" + (ProcessHandle.current().pid() % 100000);
    static final String HUB = TAG + "h";
    static final List<String> NAMESPACES = List.of(TAG + "1", TAG + "2", TAG + "3");
    static Path dir;
    static final List<Process> processes = new ArrayList<>();
    /** Per node: the last time it claimed mastership, and the first time, as sampled from its /status.json. */
    static final Map<String, long[]> claims = new ConcurrentHashMap<>();
    static volatile boolean watching = true;

    static String address(int i) {
        return "192.0.2." + (11 + i);
    }

    static String endpoints() {
        return "http://" + address(0) + ":2379,http://" + address(1) + ":2379,http://" + address(2) + ":2379";
    }

    static String run(List<String> cmd, int timeoutSeconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " failed: " + out.trim());
        }
        return out;
    }

    static String ip(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        return run(cmd, 10);
    }

    /** A command inside node {@code i}'s namespace. */
    static String in(int i, String... cmd) throws IOException, InterruptedException {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", NAMESPACES.get(i)));
        all.addAll(List.of(cmd));
        return run(all, 10);
    }

    @BeforeAll
    static void start() throws Exception {
        try {
            ip("netns", "add", HUB);
        } catch (IOException e) {
            Assumptions.abort("network namespaces cannot be created here (needs root and iproute2): " + e.getMessage());
        }
        ip("-n", HUB, "link", "add", "br0", "type", "bridge");
        ip("-n", HUB, "link", "set", "br0", "up");
        for (int i = 0; i < 3; i++) {
            String ns = NAMESPACES.get(i);
            String veth = TAG + "v" + i;
            ip("netns", "add", ns);
            ip("link", "add", veth, "type", "veth", "peer", "name", veth + "b");
            ip("link", "set", veth, "netns", ns);
            ip("link", "set", veth + "b", "netns", HUB);
            ip("-n", HUB, "link", "set", veth + "b", "master", "br0");
            ip("-n", HUB, "link", "set", veth + "b", "up");
            ip("-n", ns, "link", "set", "lo", "up");
            ip("-n", ns, "addr", "add", address(i) + "/24", "dev", veth);
            ip("-n", ns, "link", "set", veth, "up");
        }
        dir = Files.createTempDirectory("radiod-partition-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x")); // Icecast drops root
        String cluster = "e0=http://" + address(0) + ":2380,e1=http://" + address(1) + ":2380,e2=http://" + address(2) + ":2380";
        for (int i = 0; i < 3; i++) {
            String a = address(i);
            spawn(i, "etcd-" + i, List.of("etcd", "--name", "e" + i, "--data-dir", dir.resolve("etcd-" + i).toString(),
                    "--listen-client-urls", "http://" + a + ":2379", "--advertise-client-urls", "http://" + a + ":2379",
                    "--listen-peer-urls", "http://" + a + ":2380", "--initial-advertise-peer-urls", "http://" + a + ":2380",
                    "--initial-cluster", cluster, "--initial-cluster-state", "new", "--pre-vote", "--heartbeat-interval", "100",
                    "--election-timeout", "1000", "--logger", "zap", "--log-level", "warn"));
        }
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                .until(() -> in(1, "etcdctl", "--endpoints", endpoints(), "endpoint", "health").contains("is healthy"));
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (int i = 0; i < 3; i++) {
            Path config = dir.resolve("node" + (i + 1) + ".yml");
            Files.writeString(config, """
                    node:
                      name: node%d
                      addresses: [%s]
                    etcd:
                      endpoints: [%s]
                      lease_ttl: %d
                    http: {port: %d}
                    source: {port: 8000}
                    dns: {port: 5353, zone: radio.test, nameservers: [ns1.radio.test]}
                    icecast: {port: 8100, dir: %s}
                    transcoder: {dir: %s}
                    """.formatted(i + 1, address(i), endpoints(), TTL, HTTP_PORT, dir.resolve("icecast-" + i),
                    dir.resolve("transcoders-" + i)));
            spawn(i, "node" + (i + 1), List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-cp", cp, "radiod.controller.Main",
                    "--config", config.toString()));
        }
        Thread watcher = new Thread(PartitionIT::watchClaims, "claims");
        watcher.setDaemon(true);
        watcher.start();
    }

    static void spawn(int i, String name, List<String> cmd) throws IOException {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", NAMESPACES.get(i)));
        all.addAll(cmd);
        processes.add(new ProcessBuilder(all).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile())).start());
    }

    /** Whether node {@code i} says it acts as master (its own /status.json), or null when it does not answer. */
    static Boolean claimsMaster(int i) {
        try {
            String json = in(i, "curl", "-s", "-m", "1", "http://" + address(i) + ":" + HTTP_PORT + "/status.json");
            return json.contains("\"selfIsMaster\"") ? json.contains("\"selfIsMaster\":true") : null;
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }

    static void watchClaims() {
        while (watching) {
            for (int i = 0; i < 3; i++) {
                long before = System.currentTimeMillis();
                if (Boolean.TRUE.equals(claimsMaster(i))) {
                    long[] c = claims.computeIfAbsent("node" + (i + 1), k -> new long[] {before, before});
                    c[1] = before;
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The master named in etcd, as the majority (node {@code from}) reads it. */
    static String master(int from) throws IOException, InterruptedException {
        String v = in(from, "etcdctl", "--endpoints", "http://" + address(from) + ":2379", "--command-timeout=2s", "get",
                PREFIX + "master", "--print-value-only");
        Matcher m = Pattern.compile("\"name\":\"(node\\d)\"").matcher(v);
        return m.find() ? m.group(1) : null;
    }

    /** As {@link #master}, trying again for up to 10 s while etcdctl fails (a member that just rejoined). */
    static String masterRetrying(int from) {
        String[] seen = new String[1];
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(300)).ignoreExceptions()
                .until(() -> (seen[0] = master(from)) != null);
        return seen[0];
    }

    @AfterAll
    static void stop() throws Exception {
        watching = false;
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        // Icecast and liquidsoap children of a radiod killed the hard way
        for (String ns : NAMESPACES) {
            try {
                for (String pid : ip("netns", "pids", ns).split("\\s+")) {
                    if (!pid.isBlank()) {
                        ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
                    }
                }
            } catch (IOException e) {
                // namespace already gone
            }
        }
        for (String ns : NAMESPACES) {
            try {
                ip("netns", "del", ns);
            } catch (IOException e) {
                // not created
            }
        }
        try {
            ip("netns", "del", HUB);
        } catch (IOException e) {
            // not created
        }
    }

    @Test
    void theIsolatedMasterStepsDownTheMajorityElectsAnotherAndItRejoinsAsARelay() throws Exception {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() ->
                master(1) != null && in(1, "etcdctl", "--endpoints", endpoints(), "get", PREFIX + "nodes/", "--prefix", "--keys-only")
                        .lines().filter(l -> !l.isBlank()).count() == 3);
        String old = master(1);
        int isolated = Integer.parseInt(old.substring(4)) - 1;
        int majority = (isolated + 1) % 3;
        await().atMost(Duration.ofSeconds(10)).until(() -> Boolean.TRUE.equals(claimsMaster(isolated)));

        long cut = System.currentTimeMillis();
        ip("-n", HUB, "link", "set", TAG + "v" + isolated + "b", "down");
        await().atMost(Duration.ofSeconds(TTL + 10)).pollInterval(Duration.ofMillis(100))
                .until(() -> Boolean.FALSE.equals(claimsMaster(isolated)));
        long steppedDown = System.currentTimeMillis() - cut;
        await().atMost(Duration.ofSeconds(TTL + 15)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                .until(() -> master(majority) != null && !old.equals(master(majority)));
        String elected = master(majority);
        long electedAfter = System.currentTimeMillis() - cut;
        int electedIndex = Integer.parseInt(elected.substring(4)) - 1;
        await().atMost(Duration.ofSeconds(10)).until(() -> Boolean.TRUE.equals(claimsMaster(electedIndex)));
        System.out.println("PARTITION " + old + " cut off: it stopped acting as master after " + steppedDown + " ms; "
                + elected + " was elected after " + electedAfter + " ms");

        // Never two at once: the old master's last claim before the new one's first.
        long[] oldClaims = claims.get(old);
        long[] newClaims = claims.get(elected);
        assertNotNull(oldClaims);
        assertNotNull(newClaims);
        assertTrue(oldClaims[1] < newClaims[0], "old master claimed until " + oldClaims[1] + ", new one from " + newClaims[0]);
        assertTrue(steppedDown <= (TTL + 2) * 1000L, "the isolated master acted as master for " + steppedDown + " ms");

        ip("-n", HUB, "link", "set", TAG + "v" + isolated + "b", "up");
        await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() ->
                in(isolated, "etcdctl", "--endpoints", "http://" + address(isolated) + ":2379", "get", PREFIX + "nodes/" + old,
                        "--print-value-only").contains("\"master\":false"));
        assertEquals(elected, masterRetrying(majority), "mastership moved again when the old master came back");
        assertEquals(elected, masterRetrying(isolated), "the old master's etcd member sees another master");
        assertNotEquals(Boolean.TRUE, claimsMaster(isolated));
        long[] after = claims.get(old);
        assertEquals(oldClaims[1], after[1], "the old master claimed mastership again after the partition healed");
    }
}
