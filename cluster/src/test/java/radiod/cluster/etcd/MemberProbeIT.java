package radiod.cluster.etcd;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import io.etcd.jetcd.watch.WatchEvent;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import radiod.cluster.watch.KeyWatch;
import radiod.lifecycle.DaemonThreads;
import radiod.testkit.EtcdCluster;

/**
 * A member that stops answering without closing its connections (SIGSTOP: as a host cut off by a partition looks
 * from the other side): the watches jetcd had put on it hear nothing until gRPC's keep-alive gives up (10 + 3 s),
 * unless the probe takes the connection off it. Nine watches spread by gRPC's round robin over three members put
 * three on the paused one, every time.
 */
class MemberProbeIT {
    /** As the node's elections watch: silence is not checked for 25 s, so only the probe can bring them back. */
    static final KeyWatch.Timing QUIET = KeyWatch.Timing.quiet(Duration.ofMillis(500));
    static final Duration PERIOD = Duration.ofMillis(500);

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.ofSize(3);

    private final ScheduledExecutorService scheduler = DaemonThreads.scheduled("test-probe");
    private final List<AutoCloseable> open = new ArrayList<>();
    private EtcdCluster.Member paused;

    @AfterEach
    void closeAll() throws Exception {
        if (paused != null) {
            paused.resume();
        }
        for (AutoCloseable c : open) {
            c.close();
        }
        DaemonThreads.stop(scheduler, Duration.ofSeconds(2));
    }

    /** jetcd's threads in this JVM (its own Vert.x and its pool), whoever's client they serve. */
    static long jetcdThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("jetcd-pool-") || t.getName().startsWith("vert.x-eventloop-thread-"))
                .count();
    }

    /** A member that comes and goes many times: each replaced client's threads end with it. */
    @Test
    void twentyRebuildsLeaveNoThreadsBehind() {
        EtcdOptions options = EtcdOptions.of(etcd.endpoints()).withPrefix("/probe-leak/");
        EtcdConnection connection = EtcdConnection.open(options);
        open.add(connection);
        EtcdClients.await(connection.getKVClient().get(Keys.bytes("/probe-leak/k")), 3000, "get");
        long before = jetcdThreads();
        for (int i = 0; i < 20; i++) {
            connection.use(i % 2 == 0 ? etcd.endpoints().subList(0, 2) : etcd.endpoints(), "test " + i);
            EtcdClients.await(connection.getKVClient().get(Keys.bytes("/probe-leak/k")), 3000, "get after rebuild " + i);
        }
        assertEquals(20, connection.reconnects());
        // A leak would leave at least one thread per replaced client: 20.
        await().atMost(Duration.ofSeconds(10)).until(() -> jetcdThreads() <= before + 2);
    }

    /** Whether the member at {@code endpoint} is the raft leader. */
    static boolean isLeader(String endpoint) {
        URI uri = URI.create(endpoint);
        ManagedChannel ch = ManagedChannelBuilder.forAddress(uri.getHost(), uri.getPort()).usePlaintext().build();
        try {
            StatusResponse s = MaintenanceGrpc.newBlockingStub(ch).withDeadlineAfter(2, TimeUnit.SECONDS)
                    .status(StatusRequest.getDefaultInstance());
            return s.getLeader() == s.getHeader().getMemberId();
        } finally {
            ch.shutdownNow();
        }
    }

    static final class Seen implements KeyWatch.Listener {
        volatile String value;

        @Override
        public void resynced(List<KeyValue> kvs, long revision) {
            value = kvs.isEmpty() ? null : kvs.get(0).getValue().toString();
        }

        @Override
        public void changed(List<WatchEvent> events, long revision) {
            WatchEvent last = events.get(events.size() - 1);
            value = last.getEventType() == WatchEvent.EventType.DELETE ? null : last.getKeyValue().getValue().toString();
        }
    }

    @Test
    void everyWatchHearsAChangeWithinTwoProbesOfAMemberGoingSilentAndTheMemberIsTakenBackWhenItAnswers() {
        EtcdOptions options = EtcdOptions.of(etcd.endpoints()).withPrefix("/probe/");
        EtcdConnection connection = EtcdConnection.open(options);
        MemberProbe probe = new MemberProbe(connection, options, PERIOD).start();
        open.add(connection);
        open.add(0, probe);
        List<Seen> seen = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            Seen s = new Seen();
            KeyWatch w = new KeyWatch(connection, Keys.bytes("/probe/key"), false, scheduler, QUIET, s);
            open.add(0, w);
            seen.add(s);
            w.start();
        }
        Client writer = EtcdClients.connect(options);
        open.add(writer);
        EtcdClients.await(writer.getKVClient().put(Keys.bytes("/probe/key"), Keys.bytes("before")), 3000, "put");
        await().atMost(Duration.ofSeconds(10)).until(() -> seen.stream().allMatch(s -> "before".equals(s.value)));
        long settled = probe.rounds();
        // A busy machine's first rounds may be slow (a cold JVM), and a member kept away then takes three good rounds
        // to come back: wait for it, and count reconnects from here.
        await().atMost(Duration.ofSeconds(10)).until(() -> probe.rounds() >= settled + 2 && probe.keptAway().isEmpty()
                && connection.endpoints().equals(etcd.endpoints()));
        assertEquals(etcd.endpoints(), connection.endpoints(), "every member answers");
        long reconnects = connection.reconnects();

        // A follower goes silent: the writer (on the others) is not slowed by a raft election.
        int silent = 0;
        while (isLeader(etcd.member(silent).endpoint())) {
            silent++;
        }
        String silentEndpoint = etcd.member(silent).endpoint();
        paused = etcd.member(silent);
        paused.pause();
        long t0 = System.nanoTime();
        Client others = EtcdClients.connect(options.withEndpoints(etcd.endpoints().stream()
                .filter(e -> !e.equals(silentEndpoint)).toList()));
        open.add(others);
        EtcdClients.await(others.getKVClient().put(Keys.bytes("/probe/key"), Keys.bytes("after")), 3000, "put");
        // Two probes (2 × 500 ms, each with 450 ms to answer) and a read: 2 s; gRPC alone takes 10 + 3 s.
        long bound = 2 * PERIOD.toMillis() + 1000;
        await().atMost(Duration.ofMillis(bound)).pollInterval(Duration.ofMillis(20))
                .until(() -> seen.stream().allMatch(s -> "after".equals(s.value)));
        long heardAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        System.out.println("PROBE every watch heard the change " + heardAfter + " ms after the member went silent"
                + " (bound " + bound + " ms)");
        // The watches may hear it before the probe takes the member out (their channel was on another member): the
        // member is out within the same bound from its going silent, all the same.
        await().atMost(Duration.ofMillis(Math.max(1, bound - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0))))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> !connection.endpoints().contains(silentEndpoint));
        assertEquals(reconnects + 1, connection.reconnects());

        paused.resume();
        paused = null;
        await().atMost(Duration.ofSeconds(5)).until(() -> connection.endpoints().equals(etcd.endpoints()));
        EtcdClients.await(others.getKVClient().put(Keys.bytes("/probe/key"), Keys.bytes("back")), 3000, "put");
        await().atMost(Duration.ofSeconds(2)).until(() -> seen.stream().allMatch(s -> "back".equals(s.value)));
        assertEquals(reconnects + 2, connection.reconnects());
    }
}
