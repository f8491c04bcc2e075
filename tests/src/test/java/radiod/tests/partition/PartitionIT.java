package radiod.tests.partition;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

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
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Json;
import radiod.cluster.model.Mount;
import radiod.cluster.model.Transcoding;
import radiod.redirector.carry.PeerLinks;
import radiod.tests.harness.Encoder;
import radiod.tests.harness.MarkedAudio;
import radiod.tests.harness.Reception;
import radiod.tests.harness.RunsAlone;

/**
 * The master cut off from the rest by a real network partition. Three network namespaces, one per host, each
 * holding an etcd member and a radiod (with its Icecast), joined by a bridge in a fourth namespace on the project's
 * test-host network (192.0.2.0/24, as the operations tests' hosts; nothing outside these namespaces is touched).
 * A broadcaster's namespace reaches every host over a second bridge (198.51.100.0/24, routes to the hosts'
 * addresses through it), which the partition leaves alone: its encoder, libshout-style, streams to the master and
 * retries on the next host when its connection ends, and two listeners in it play the other hosts' own streams. The test drives and watches them from inside the namespaces ({@code ip netns exec}: etcdctl and
 * curl), as this machine passes no TCP between its own namespace and another one. The master's bridge port is
 * taken down: its radiod must step down on its own (its etcd member has no quorum), the majority must elect another
 * master, no two nodes may claim mastership at once, and after the link is back the old master rejoins as a relay
 * and mastership stays where it is. The members run with {@code --pre-vote}, as Ansible configures them: without it
 * the returning member's higher raft term deposes the etcd leader, and the stall can cost the new master its lease.
 * The majority must hear the encoder again within the lease TTL + 1 s of the cut: the cut-off master, fenced,
 * closes the encoder, which reconnects to the majority.
 */
@RunsAlone
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PartitionIT {
    static final int TTL = 5;
    static final int HTTP_PORT = 8080;
    static final String PREFIX = "/radiod/";
    static final String TAG = "rdp" + (ProcessHandle.current().pid() % 100000);
    static final String HUB = TAG + "h";
    static final List<String> NAMESPACES = List.of(TAG + "1", TAG + "2", TAG + "3");
    /** The broadcaster's (encoder and listeners) namespace. */
    static final String BROADCASTER = TAG + "b";
    static final Mount LIVE = new Mount("/live.mp3", "source", "partition-pw", null, null, 0, 128, null);
    static final Mount LIVE_64 = new Mount("/live-64.mp3", "transcoder", "partition-64-pw", null, null, 0, 0,
            new Transcoding(LIVE.path(), "mp3", 64, 44100, 2, null));
    static Path dir;
    static final List<Process> processes = new ArrayList<>();
    /** Per node: the last time it claimed mastership, and the first time, as sampled from its /status.json. */
    static final Map<String, long[]> claims = new ConcurrentHashMap<>();
    static volatile boolean watching = true;
    static Encoder encoder;
    static final List<NamespaceListener> listeners = new ArrayList<>();

    /**
     * A player inside a namespace: curl streaming a URL to this JVM through its standard output (no TCP crosses
     * into a namespace from here), started again 250 ms after it ends, everything it brings measured.
     */
    static final class NamespaceListener {
        private final String url;
        private final Reception reception;
        private final Thread thread;
        private volatile boolean running = true;
        private volatile Process curl;

        NamespaceListener(String namespace, String url) {
            this(namespace, url, MarkedAudio.get());
        }

        /** @param programme the programme its frames are placed on, or null (a transcoded mount: silence only) */
        NamespaceListener(String namespace, String url, MarkedAudio programme) {
            this.url = url;
            this.reception = new Reception(programme);
            thread = new Thread(() -> {
                byte[] buf = new byte[8192];
                while (running) {
                    try {
                        curl = new ProcessBuilder("ip", "netns", "exec", namespace, "curl", "-sNf", "--connect-timeout", "1",
                                url).redirectError(ProcessBuilder.Redirect.DISCARD).start();
                        reception.reconnected();
                        try (var in = curl.getInputStream()) {
                            int n;
                            while ((n = in.read(buf)) > 0) {
                                reception.received(buf, 0, n, System.currentTimeMillis());
                            }
                        }
                        curl.waitFor();
                        Thread.sleep(250);
                    } catch (IOException e) {
                        // started again
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "listener " + url);
            thread.setDaemon(true);
            thread.start();
        }

        String url() {
            return url;
        }

        Reception reception() {
            return reception;
        }

        void close() {
            running = false;
            thread.interrupt();
            Process p = curl;
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }

    static String address(int i) {
        return "192.0.2." + (11 + i);
    }

    /** Host {@code i}'s address on the broadcaster's network. */
    static String broadcastAddress(int i) {
        return "198.51.100." + (11 + i);
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
            int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            if (uid == 0) { // as bin/test runs it: it must test the partition, not skip it
                fail("network namespaces cannot be created although this test runs as root: is iproute2 installed"
                        + " (bin/test installs it)? " + e.getMessage(), e);
            }
            Assumptions.abort("network namespaces need root; this test runs as uid " + uid + ": " + e.getMessage());
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
        ip("-n", HUB, "link", "add", "br1", "type", "bridge");
        ip("-n", HUB, "link", "set", "br1", "up");
        ip("netns", "add", BROADCASTER);
        ip("-n", BROADCASTER, "link", "set", "lo", "up");
        attach(BROADCASTER, TAG + "vb", "br1", "198.51.100.2/24");
        for (int i = 0; i < 3; i++) {
            attach(NAMESPACES.get(i), TAG + "w" + i, "br1", broadcastAddress(i) + "/24");
            ip("-n", BROADCASTER, "route", "add", address(i) + "/32", "via", broadcastAddress(i));
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

    /** A veth from namespace {@code ns} (with {@code cidr}) to a port of bridge {@code bridge} in the hub. */
    static void attach(String ns, String veth, String bridge, String cidr) throws IOException, InterruptedException {
        ip("link", "add", veth, "type", "veth", "peer", "name", veth + "b");
        ip("link", "set", veth, "netns", ns);
        ip("link", "set", veth + "b", "netns", HUB);
        ip("-n", HUB, "link", "set", veth + "b", "master", bridge);
        ip("-n", HUB, "link", "set", veth + "b", "up");
        ip("-n", ns, "addr", "add", cidr, "dev", veth);
        ip("-n", ns, "link", "set", veth, "up");
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
        if (encoder != null) {
            encoder.close();
        }
        listeners.forEach(NamespaceListener::close);
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        // Icecast and liquidsoap children of a radiod killed the hard way, an encoder's or a listener's leftovers
        List<String> populated = new ArrayList<>(NAMESPACES);
        populated.add(BROADCASTER);
        for (String ns : populated) {
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
        List<String> all = new ArrayList<>(NAMESPACES);
        all.add(BROADCASTER);
        for (String ns : all) {
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
    @Order(2)
    void theIsolatedMasterStepsDownTheMajorityElectsAnotherAndItRejoinsAsARelay() throws Exception {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() ->
                master(1) != null && in(1, "etcdctl", "--endpoints", endpoints(), "get", PREFIX + "nodes/", "--prefix", "--keys-only")
                        .lines().filter(l -> !l.isBlank()).count() == 3);
        String old = master(1);
        int isolated = Integer.parseInt(old.substring(4)) - 1;
        int majority = (isolated + 1) % 3;
        await().atMost(Duration.ofSeconds(10)).until(() -> Boolean.TRUE.equals(claimsMaster(isolated)));

        // The encoder streams to the master, as a broadcaster given its address would; listeners play the others.
        in(1, "etcdctl", "--endpoints", endpoints(), "put", new String(new Keys(PREFIX).mount(LIVE.path()).getBytes(),
                StandardCharsets.UTF_8), Json.encodeString(LIVE));
        // Until the cut it knocks on the master only (a brand-new mount may refuse it for a moment); from the cut on,
        // each new connection goes to the next host.
        java.util.concurrent.atomic.AtomicBoolean moving = new java.util.concurrent.atomic.AtomicBoolean();
        encoder = encoder(isolated, moving);
        for (int i = 0; i < 3; i++) {
            if (i != isolated) {
                listeners.add(new NamespaceListener(BROADCASTER, "http://" + address(i) + ":" + HTTP_PORT + "/_stream" + LIVE.path()));
            }
        }
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> listeners.stream().allMatch(l -> l.reception().frames() > 100
                        && System.currentTimeMillis() - l.reception().lastAudio() < 1000));
        int connectionsBefore = encoder.connections();

        assertTrue(encoder.url().contains("@" + address(isolated) + ":"), encoder.story());
        moving.set(true);
        long cut = System.currentTimeMillis();
        ip("-n", HUB, "link", "set", TAG + "v" + isolated + "b", "down");
        await().atMost(Duration.ofSeconds(TTL + 10)).pollInterval(Duration.ofMillis(100))
                .until(() -> Boolean.FALSE.equals(claimsMaster(isolated)));
        long steppedDown = System.currentTimeMillis() - cut;
        java.util.concurrent.atomic.AtomicReference<String> newMaster = new java.util.concurrent.atomic.AtomicReference<>();
        await().atMost(Duration.ofSeconds(TTL + 15)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                .until(() -> {
                    String m = master(majority); // etcdctl can fail now and then just after the cut: read it once
                    newMaster.set(m);
                    return m != null && !old.equals(m);
                });
        String elected = newMaster.get();
        long electedAfter = System.currentTimeMillis() - cut;
        int electedIndex = Integer.parseInt(elected.substring(4)) - 1;
        await().atMost(Duration.ofSeconds(10)).until(() -> Boolean.TRUE.equals(claimsMaster(electedIndex)));
        // The majority hears the encoder again: the cut-off master closed it, and it reconnected to the majority.
        try {
            await().atMost(Duration.ofSeconds(TTL + 15)).pollInterval(Duration.ofMillis(100)).until(() -> listeners.stream()
                    .allMatch(l -> l.reception().highestFrame() > l.reception().lastFrameBefore(cut) + 40
                            && System.currentTimeMillis() - l.reception().lastAudio() < 1000));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            fail("the majority did not hear the encoder within " + (TTL + 15) + " s of the cut (the cut-off master must close"
                    + " it once fenced, so that it reconnects to the majority); encoder: " + encoder.story()
                    + "; listeners last heard audio " + listeners.stream().map(l -> l.url() + " "
                    + (System.currentTimeMillis() - l.reception().lastAudio()) + " ms ago").toList());
        }
        long now = System.currentTimeMillis();
        List<String> heard = new ArrayList<>();
        long worst = 0;
        for (NamespaceListener l : listeners) {
            long gap = l.reception().longestSilence(cut, now);
            worst = Math.max(worst, gap);
            heard.add(l.url() + " silent " + gap + " ms, " + l.reception().loss(cut));
        }
        System.out.println("PARTITION " + old + " cut off: it stopped acting as master after " + steppedDown + " ms; "
                + elected + " was elected after " + electedAfter + " ms; the encoder (" + encoder.story() + ") reached"
                + " the majority: " + heard);
        assertTrue(encoder.connections() > connectionsBefore, "the encoder was never moved off the cut-off master: "
                + encoder.story());
        assertFalse(encoder.url().contains("@" + address(isolated) + ":"), "the encoder is still on the cut-off master: "
                + encoder.story());
        // The bound is TTL + 1 s. The majority cannot have a master before the cut-off one's lease expires
        // in etcd, which is the TTL after its last keep-alive, plus a raft election and etcd's lease extension when
        // the cut-off host also held the etcd leader (7.2 s measured with a 5 s TTL). So the audio must be back within
        // 1 s of the election, and within TTL + 1 s whenever the election itself came by the TTL.
        long bound = Math.max(TTL * 1000L, electedAfter) + 1000;
        System.out.println("PARTITION silence on the majority: worst " + worst + " ms; new master after " + electedAfter
                + " ms; bound " + bound + " ms (TTL + 1 s = " + (TTL + 1) * 1000 + " ms)");
        assertTrue(worst <= bound, "the majority's listeners did not hear the encoder for " + worst
                + " ms (bound " + bound + " ms, the election took " + electedAfter + " ms): " + heard);

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

    /**
     * A partial partition: the path between one node and the master is cut (its packets on the master's source port
     * dropped, both ways), while both still reach etcd and the rest, so no lease is lost and nothing is elected. The
     * cut node holds the encoder and runs the transcoder of {@code /live-64.mp3}.
     * <ul>
     * <li>Its ingest gives up on the master within {@link PeerLinks#DEAD_AFTER_MILLIS} and closes the encoder once no
     * master took the stream for the ingest's hold (10 s), so that it reconnects to the next node: the cluster hears
     * it again within 18 s.</li>
     * <li>The master lets the cut node's pulls go within the same limit.</li>
     * <li>The cut node gives its transcoder up once it has had no link to the master for 10 s, and another node runs
     * it: the transcoded mount is heard again within 20 s.</li>
     * <li>When the path is back, the cut node's pull, which heard nothing during the cut (it sends nothing, so only
     * keep-alive probes notice), is on the master again at once: its Icecast serves the mount within 3 s.</li>
     * </ul>
     * Before {@link PeerLinks}, both ends waited for TCP's own give-up, about 15 minutes, and the transcoded mount
     * stayed silent for the whole cut.
     */
    @Test
    @Order(3)
    void aPathCutBetweenANodeAndTheMasterMovesTheEncoderAndTheTranscoderAndHealsAtOnce() throws Exception {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() ->
                master(0) != null && in(0, "etcdctl", "--endpoints", endpoints(), "get", PREFIX + "nodes/", "--prefix", "--keys-only")
                        .lines().filter(l -> !l.isBlank()).count() == 3);
        Keys keys = new Keys(PREFIX);
        for (Mount m : List.of(LIVE, LIVE_64)) {
            in(0, "etcdctl", "--endpoints", endpoints(), "put", new String(keys.mount(m.path()).getBytes(), StandardCharsets.UTF_8),
                    Json.encodeString(m));
        }
        String transcoderKey = new String(keys.transcoder(LIVE_64.path()).getBytes(), StandardCharsets.UTF_8);
        String[] holder = {null};
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).ignoreExceptions()
                .until(() -> (holder[0] = owner(transcoderKey)) != null);
        String masterName = masterRetrying(0);
        if (holder[0].equals(masterName)) {
            // The cut node must not be the master: drained, the master hands over (the transcoder stays), then undrained.
            String drainKey = new String(keys.drain(masterName).getBytes(), StandardCharsets.UTF_8);
            in(0, "etcdctl", "--endpoints", endpoints(), "put", drainKey, "{\"reason\":\"partition test\",\"since\":0}");
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(300)).ignoreExceptions()
                    .until(() -> !masterName.equals(master(0)));
            in(0, "etcdctl", "--endpoints", endpoints(), "del", drainKey);
            assertEquals(holder[0], owner(transcoderKey), "the transcoder moved with the drain");
        }
        int master = Integer.parseInt(masterRetrying(0).substring(4)) - 1;
        int cutNode = Integer.parseInt(holder[0].substring(4)) - 1;
        int other = 3 - master - cutNode;
        if (encoder != null) {
            encoder.close();
        }
        listeners.forEach(NamespaceListener::close);
        listeners.clear();
        java.util.concurrent.atomic.AtomicBoolean moving = new java.util.concurrent.atomic.AtomicBoolean();
        encoder = encoder(cutNode, moving);
        NamespaceListener live = new NamespaceListener(BROADCASTER,
                "http://" + address(other) + ":" + HTTP_PORT + "/_stream" + LIVE.path(), MarkedAudio.get());
        NamespaceListener transcoded = new NamespaceListener(BROADCASTER,
                "http://" + address(other) + ":" + HTTP_PORT + "/_stream" + LIVE_64.path(), null);
        listeners.add(live);
        listeners.add(transcoded);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
                live.reception().frames() > 100 && System.currentTimeMillis() - live.reception().lastAudio() < 1000
                        && System.currentTimeMillis() - transcoded.reception().lastAudio() < 1000 && icecastServes(cutNode));
        assertTrue(encoder.url().contains("@" + address(cutNode) + ":"), encoder.story());
        assertEquals(holder[0], owner(transcoderKey));
        int connectionsBefore = encoder.connections();
        // Every node pulls both mounts from the master's hub, the master too.
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> hubPulls(master) == 6);

        moving.set(true);
        long cut = System.currentTimeMillis();
        in(cutNode, "nft", "add table ip radiodcut { chain cutout { type filter hook output priority 0; ip daddr "
                + address(master) + " tcp dport 8000 drop; }; chain cutin { type filter hook input priority 0; ip saddr "
                + address(master) + " tcp sport 8000 drop; }; }");
        try {
            cutAndHeal(master, cutNode, other, live, transcoded, transcoderKey, cut, connectionsBefore);
        } finally {
            try {
                in(cutNode, "nft", "delete table ip radiodcut");
            } catch (IOException e) {
                // healed already
            }
        }
    }

    private static void cutAndHeal(int master, int cutNode, int other, NamespaceListener live, NamespaceListener transcoded,
                                   String transcoderKey, long cut, int connectionsBefore) throws Exception {
        // The master's ends of the cut pulls have data out that is never acknowledged: it gives those links up too.
        await("the master lets the cut node's pulls go").atMost(Duration.ofMillis(PeerLinks.DEAD_AFTER_MILLIS + 3_000))
                .pollInterval(Duration.ofMillis(200)).until(() -> hubPulls(master) == 4);
        long masterLetGo = System.currentTimeMillis() - cut;
        long hold = 10_000; // Ingest.HOLD_NANOS: how long an encoder is kept with no master taking its stream
        long bound = PeerLinks.DEAD_AFTER_MILLIS + hold + 3_000;
        long noLinkGrace = 10_000; // Transcoders.NO_LINK_GRACE
        long transcodedBound = PeerLinks.DEAD_AFTER_MILLIS + noLinkGrace + 5_000;
        try {
            await().atMost(Duration.ofMillis(transcodedBound + 20_000)).pollInterval(Duration.ofMillis(100)).until(() ->
                    live.reception().highestFrame() > live.reception().lastFrameBefore(cut) + 40
                            && System.currentTimeMillis() - live.reception().lastAudio() < 1000
                            // the transcoded mount went silent with the cut, and is heard again
                            && transcoded.reception().longestSilence(cut, System.currentTimeMillis()) > 2_000
                            && System.currentTimeMillis() - transcoded.reception().lastAudio() < 1000);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            fail("the cluster did not hear the encoder and the transcoded mount again within " + (transcodedBound + 20_000)
                    + " ms of the path between node" + (cutNode + 1) + " (the encoder's and the transcoder's node) and the"
                    + " master being cut; encoder: " + encoder.story() + "; the listeners last heard audio "
                    + (System.currentTimeMillis() - live.reception().lastAudio()) + " and "
                    + (System.currentTimeMillis() - transcoded.reception().lastAudio()) + " ms ago; the transcoder is on "
                    + owner(transcoderKey));
        }
        long now = System.currentTimeMillis();
        long silence = live.reception().longestSilence(cut, now);
        long transcodedSilence = transcoded.reception().longestSilence(cut, now);
        String movedTo = owner(transcoderKey);
        System.out.println("PARTIAL PARTITION node" + (cutNode + 1) + " cut from master node" + (master + 1)
                + ": the master let its pulls go after " + masterLetGo + " ms; on node" + (other + 1) + " the live mount was"
                + " silent " + silence + " ms (bound " + bound + " ms), the transcoded one " + transcodedSilence + " ms (bound "
                + transcodedBound + " ms, its transcoder now on " + movedTo + "); encoder: " + encoder.story());
        assertTrue(encoder.connections() > connectionsBefore, "the encoder was never moved off the cut node: " + encoder.story());
        assertTrue(silence <= bound, "silent " + silence + " ms, bound " + bound + " ms: " + live.reception().loss(cut));
        assertNotEquals("node" + (cutNode + 1), movedTo, "the transcoder stayed on the cut node");
        assertTrue(transcodedSilence <= transcodedBound, "the transcoded mount was silent " + transcodedSilence
                + " ms, bound " + transcodedBound + " ms");

        // With nothing to carry, the cut node takes the mount off its Icecast (Pull.IDLE_NANOS, 15 s) ...
        await("node" + (cutNode + 1) + " takes the mount off").atMost(Duration.ofSeconds(25)).pollInterval(Duration.ofMillis(500))
                .until(() -> !icecastServes(cutNode));
        long off = System.currentTimeMillis();
        // A player coming back to the cut node's own stream URL is sent to a node that serves the mount once the mount
        // has been lost there for ListenerRoutes.MOUNT_LOST_MILLIS (before: held there in silence, then a 404), and
        // hears it there.
        String streamUrl = "http://" + address(cutNode) + ":" + HTTP_PORT + "/_stream" + LIVE.path();
        String[] sentTo = {null};
        await("node" + (cutNode + 1) + " sends a returning player on").atMost(Duration.ofMillis(
                        radiod.redirector.listen.ListenerRoutes.MOUNT_LOST_MILLIS + 3_000)).pollInterval(Duration.ofMillis(200))
                .until(() -> (sentTo[0] = redirectedTo(streamUrl)) != null);
        System.out.println("PARTIAL PARTITION node" + (cutNode + 1) + " sends a player coming back for the mount it lost to "
                + sentTo[0] + ", " + (System.currentTimeMillis() - off) + " ms after its Icecast was seen without it");
        assertFalse(sentTo[0].contains("//" + address(cutNode) + ":"), sentTo[0]);
        String heard = fromBroadcaster("curl", "-s", "-L", "-m", "2", "-o", "/dev/null", "-w", "%{size_download}", streamUrl);
        assertTrue(heard.matches("\\d+") && Long.parseLong(heard) >= 8_192, "heard " + heard + " bytes after the redirect");
        // ... and the cut lasts 30 s, long enough for TCP's retransmissions to back off well beyond the bound below.
        Thread.sleep(Math.max(0, cut + 30_000 - System.currentTimeMillis()));
        long healed = System.currentTimeMillis();
        in(cutNode, "nft", "delete table ip radiodcut");
        // Each look reads the Icecast for up to a second: the time it began is when the mount was served.
        long[] looked = {0};
        try {
            await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).until(() -> {
                looked[0] = System.currentTimeMillis();
                return icecastServes(cutNode);
            });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            fail("node" + (cutNode + 1) + "'s Icecast did not serve the mount within 15 s of the path coming back");
        }
        long back = looked[0] - healed;
        System.out.println("PARTIAL PARTITION healed: node" + (cutNode + 1) + "'s Icecast served the mount again after "
                + back + " ms (bound 3,000 ms)");
        assertTrue(back <= 3_000, "node" + (cutNode + 1) + "'s Icecast served the mount " + back + " ms after the path came back");
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(200)).until(() -> hubPulls(master) == 6);
    }

    /**
     * A libshout-style encoder in the broadcaster's namespace on node {@code first}'s source port; once {@code moving}
     * is set, each new connection goes to the next host, as one given the cluster's name would.
     */
    static Encoder encoder(int first, java.util.concurrent.atomic.AtomicBoolean moving) {
        int[] next = {first};
        return new Encoder(() -> {
            if (moving.get()) {
                next[0] = (next[0] + 1) % 3;
            }
            return "icecast://source:" + LIVE.sourcePassword() + "@" + address(next[0]) + ":8000" + LIVE.path();
        }, Duration.ofMillis(200), List.of("ip", "netns", "exec", BROADCASTER));
    }

    /** The node holding a transcoder's election ({@code transcoders/<mount>}), or null. */
    static String owner(String transcoderKey) throws IOException, InterruptedException {
        String v = in(0, "etcdctl", "--endpoints", endpoints(), "--command-timeout=2s", "get", transcoderKey, "--print-value-only");
        Matcher m = Pattern.compile("\"node\":\"(node\\d)\"").matcher(v);
        return m.find() ? m.group(1) : null;
    }

    /** The pulls node {@code i}'s hub serves now (its {@code radiod_carry_hub_pulls}), or -1 if it does not answer. */
    static int hubPulls(int i) {
        try {
            String metrics = in(i, "curl", "-s", "-m", "1", "http://" + address(i) + ":" + HTTP_PORT + "/metrics");
            Matcher m = Pattern.compile("(?m)^radiod_carry_hub_pulls(?:\\{[^}]*\\})? ([0-9.]+)$").matcher(metrics);
            return m.find() ? (int) Double.parseDouble(m.group(1)) : -1;
        } catch (IOException | InterruptedException e) {
            return -1;
        }
    }

    /** Whether node {@code i}'s own Icecast streams the live mount: some audio within a second, read in its namespace. */
    static boolean icecastServes(int i) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ip", "netns", "exec", NAMESPACES.get(i), "curl", "-s", "-m", "1", "-o", "/dev/null",
                "-w", "%{size_download}", "http://127.0.0.1:8100" + LIVE.path()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return false;
        }
        return out.matches("\\d+") && Long.parseLong(out) >= 8_192;
    }

    /** Where {@code url} redirects a player in the broadcaster's namespace to (a 302's Location), or null. */
    static String redirectedTo(String url) throws IOException, InterruptedException {
        String out = fromBroadcaster("curl", "-s", "-m", "2", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", url);
        return out.startsWith("302 ") ? out.substring(4) : null;
    }

    /** A command's output in the broadcaster's namespace, whatever it exits with (curl -m on a stream exits 28). */
    static String fromBroadcaster(String... cmd) throws IOException, InterruptedException {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", BROADCASTER));
        all.addAll(List.of(cmd));
        Process p = new ProcessBuilder(all).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        return out;
    }

    /** curl's exit code for {@code url} from namespace {@code ns}: 0 served, 7 refused (nothing listens there). */
    static int curlExit(String ns, String url) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ip", "netns", "exec", ns, "curl", "-s", "-o", "/dev/null", "-m", "3", url)
                .redirectErrorStream(true).start();
        p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    /**
     * Icecast is radiod's alone: radiod carries the audio between nodes over the source port and
     * proxies listeners to a peer's HTTP port, so no peer needs another node's Icecast, and it listens on loopback
     * only. From the broadcaster's namespace (a host that is not a peer) and from a peer, a node's Icecast port
     * refuses on each of the node's addresses; in the node's own namespace it serves on 127.0.0.1, and the node's
     * HTTP port serves the outsider. (An Icecast listening on the node's address would let both in.)
     */
    @Test
    @Order(1)
    void icecastRefusesEveryOtherHostAndServesItsOwnRadiod() throws Exception {
        long checking = 0;
        for (int i = 0; i < 3; i++) {
            int node = i;
            String peer = NAMESPACES.get((i + 1) % 3);
            // Its radiod publishes that its Icecast is up, wherever that listens.
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                    .until(() -> in(node, "etcdctl", "--endpoints", "http://" + address(node) + ":2379", "get",
                            PREFIX + "nodes/node" + (node + 1), "--print-value-only").contains("\"icecastUp\":true"));
            long t0 = System.nanoTime();
            for (String a : List.of(address(i), broadcastAddress(i))) {
                String url = "http://" + a + ":8100/status-json.xsl";
                assertEquals(7, curlExit(BROADCASTER, url), "node" + (i + 1) + "'s Icecast must refuse a host that is"
                        + " not a peer (curl exit 7, connection refused): " + url);
                assertEquals(7, curlExit(peer, url), "node" + (i + 1) + "'s Icecast must refuse its peer " + peer
                        + " too: no peer needs it: " + url);
            }
            assertEquals(0, curlExit(NAMESPACES.get(i), "http://127.0.0.1:8100/status-json.xsl"),
                    "node" + (i + 1) + "'s Icecast must serve its own radiod on loopback");
            await("node" + (i + 1) + "'s HTTP port serves the outsider").atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> curlExit(BROADCASTER, "http://" + address(node) + ":" + HTTP_PORT + "/status.json") == 0);
            checking += System.nanoTime() - t0;
        }
        System.out.println("PARTITION Icecast refuses outsiders and peers on 3 nodes; the checks took "
                + checking / 1_000_000 + " ms once the nodes were up");
    }
}
