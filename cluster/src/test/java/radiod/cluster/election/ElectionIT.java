package radiod.cluster.election;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Txn;
import io.grpc.Status;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.etcd.Keys;
import radiod.testkit.Delegate;
import radiod.testkit.EtcdCluster;

/** The master election against a real etcd, with contenders in their own processes where they must die. */
class ElectionIT {
    private static final int TTL = 3;

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    private final List<ContenderProcess> contenders = new ArrayList<>();

    @AfterEach
    void killAll() {
        contenders.forEach(c -> c.process.destroyForcibly());
        await().atMost(Duration.ofSeconds(TTL + 2)).until(() -> masterHolder().isEmpty());
    }

    @Test
    void ofThreeContendersExactlyOneIsMasterAndAKilledMasterIsReplacedWithinTheTtlPlusOneSecond() throws Exception {
        for (int i = 0; i < 3; i++) {
            contenders.add(ContenderProcess.start("node" + i));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> contenders.stream().filter(ContenderProcess::isMaster).count() == 1);
        // A calm second and a half: still exactly one, and no contender was elected since (checked all along).
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20))
                .until(() -> contenders.stream().mapToLong(ContenderProcess::elections).sum() == 1
                        && contenders.stream().filter(ContenderProcess::isMaster).count() == 1);
        ContenderProcess master = contenders.stream().filter(ContenderProcess::isMaster).findFirst().orElseThrow();
        assertEquals(master.name, masterHolder());

        long killedAt = System.currentTimeMillis();
        master.process.destroyForcibly();
        master.process.waitFor();
        await().atMost(Duration.ofSeconds(TTL + 1)).pollInterval(Duration.ofMillis(50))
                .until(() -> contenders.stream().filter(c -> c != master).anyMatch(ContenderProcess::isMaster));
        ContenderProcess next = contenders.stream().filter(c -> c != master && c.isMaster()).findFirst().orElseThrow();
        long failover = next.electedAt.get() - killedAt;
        System.out.printf("failover after kill -9: %d ms (TTL %d s)%n", failover, TTL);
        assertTrue(failover <= (TTL + 1) * 1000L, "failover took " + failover + " ms");
        assertEquals(1, contenders.stream().filter(c -> c != master).filter(ContenderProcess::isMaster).count());
    }

    @Test
    void aCleanlyClosedMasterIsReplacedWithinOneSecond() throws Exception {
        for (int i = 0; i < 2; i++) {
            contenders.add(ContenderProcess.start("clean" + i));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> contenders.stream().filter(ContenderProcess::isMaster).count() == 1);
        // As between running nodes: the follower settled (its watch on the key set up, its campaign path run) — a
        // calm second and a half with exactly one master. Right after its READY, a fresh JVM's first campaigns take
        // hundreds of milliseconds and its watch may not exist yet (measured: 0.7-1.4 s, against 20-30 ms settled).
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20))
                .until(() -> contenders.stream().mapToLong(ContenderProcess::elections).sum() == 1
                        && contenders.stream().filter(ContenderProcess::isMaster).count() == 1);
        ContenderProcess master = contenders.stream().filter(ContenderProcess::isMaster).findFirst().orElseThrow();
        ContenderProcess other = contenders.stream().filter(c -> c != master).findFirst().orElseThrow();
        master.send("close");
        await().atMost(Duration.ofSeconds(10)).until(() -> master.resignedAt.get() != 0);
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20)).until(other::isMaster);
        long failover = other.electedAt.get() - master.resignedAt.get();
        System.out.printf("failover after clean close: %d ms after the master resigned%n", failover);
        assertTrue(failover <= 1000, "new master " + failover + " ms after the old one resigned");
    }

    @Test
    void aMasterWhoseKeepAlivesStopStepsDownBeforeItsLeaseCanExpire() throws Exception {
        EtcdOptions options = EtcdOptions.of(etcd.endpoints());
        try (Client client = EtcdClients.connect(options)) {
            EtcdSession session = new EtcdSession(client, Duration.ofSeconds(5)).start();
            AtomicLong deposedAt = new AtomicLong();
            Election election = new Election(session, options.keys().master(), () -> "fenced".getBytes(StandardCharsets.UTF_8),
                    new Election.Listener() {
                        @Override
                        public void elected() {
                        }

                        @Override
                        public void deposed() {
                            deposedAt.set(System.nanoTime());
                        }
                    });
            election.start();
            await().atMost(Duration.ofSeconds(5)).until(election::isLeader);
            Thread.sleep(1200); // let a keep-alive or two succeed
            long pausedAt = System.nanoTime();
            etcd.member(0).pause();
            try {
                // The last successful keep-alive was sent before the pause, so the lease can expire no earlier
                // than (that send + TTL) >= pausedAt - one keep-alive period (1 s) + TTL (5 s) = pausedAt + 4 s.
                await().atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(20)).until(() -> !election.isLeader());
                long steppedDown = Duration.ofNanos(System.nanoTime() - pausedAt).toMillis();
                await().atMost(Duration.ofSeconds(1)).until(() -> deposedAt.get() != 0);
                long told = Duration.ofNanos(deposedAt.get() - pausedAt).toMillis();
                System.out.printf("stepped down %d ms after etcd paused; listener told after %d ms; earliest expiry 4000 ms%n",
                        steppedDown, told);
                assertTrue(told < 4000, "deposed() came " + told + " ms after the pause");
            } finally {
                etcd.member(0).resume();
            }
            // etcd back: the election is won again, under the same lease if etcd answered before it could expire
            // (the key was never gone), else under a new one.
            await().atMost(Duration.ofSeconds(10)).until(election::isLeader);
            System.out.printf("leader again; leases granted: %d%n", session.leasesGranted());
            election.close();
            session.close();
        }
    }

    /**
     * A campaign still out when the session's lease is replaced (etcd dropped the lease it was sent under) is followed by
     * one under the new lease within 100 ms of its failure (the new lease starts the backoff over): not after the
     * backoff that failed campaigns before it grew (up to 2 s), nor is the new lease's campaign swallowed by the one
     * still out. TTL 2: the session notices the revoke
     * within a keep-alive period (0.4 s), before the campaign's timeout (0.5 s), so the campaign is out at the new lease.
     */
    @Test
    void aCampaignStillOutWhenTheLeaseIsReplacedIsFollowedAtOnceUnderTheNewLease() throws Exception {
        enum Mode { FAIL, HOLD, ANSWER }
        AtomicReference<Mode> mode = new AtomicReference<>(Mode.FAIL);
        AtomicInteger failed = new AtomicInteger();
        AtomicLong heldAt = new AtomicLong();
        AtomicLong electedAt = new AtomicLong();
        EtcdOptions options = EtcdOptions.of(etcd.endpoints());
        ByteSequence key = Keys.bytes("/election-it/lease-replaced");
        try (Client real = EtcdClients.connect(options)) {
            EtcdSession[] session = new EtcdSession[1];
            KV kv = Delegate.of(KV.class, real.getKVClient(), (method, args, call) -> !method.getName().equals("txn")
                    ? call.call() : Delegate.of(Txn.class, (Txn) call.call(), (m, a, c) -> {
                            if (!m.getName().equals("commit")) {
                                return c.call(); // the builder: If, Then, Else
                            }
                            switch (mode.get()) {
                                case FAIL -> {
                                    failed.incrementAndGet();
                                    return CompletableFuture.failedFuture(
                                            Status.UNAVAILABLE.withDescription("the test's etcd").asRuntimeException());
                                }
                                case HOLD -> {
                                    if (heldAt.compareAndSet(0, System.nanoTime())) {
                                        // etcd drops the lease this campaign was sent under: the session gets a new one.
                                        real.getLeaseClient().revoke(session[0].validLease().orElseThrow());
                                    }
                                    return new CompletableFuture<>(); // no answer: the campaign's timeout ends it
                                }
                                default -> {
                                    return c.call();
                                }
                            }
                        }));
            Client client = Delegate.of(Client.class, real,
                    (method, args, call) -> method.getName().equals("getKVClient") ? kv : call.call());
            session[0] = new EtcdSession(client, Duration.ofSeconds(2));
            session[0].addListener(new EtcdSession.Listener() {
                @Override
                public void leaseGranted(long leaseId) {
                    if (heldAt.get() != 0) {
                        mode.set(Mode.ANSWER); // etcd answers under the new lease
                    }
                }

                @Override
                public void leaseLost(long leaseId) {
                }
            });
            session[0].start();
            Election election = new Election(session[0], key, () -> "replaced".getBytes(StandardCharsets.UTF_8),
                    new Election.Listener() {
                        @Override
                        public void elected() {
                            electedAt.set(System.nanoTime());
                        }

                        @Override
                        public void deposed() {
                        }
                    });
            try {
                election.start();
                // Five campaigns without an answer: the backoff's ceiling is at its 2 s cap.
                await().atMost(Duration.ofSeconds(10)).until(() -> failed.get() >= 5);
                mode.set(Mode.HOLD);
                await().atMost(Duration.ofSeconds(5)).until(() -> mode.get() == Mode.ANSWER);
                assertEquals(2, session[0].leasesGranted(), "a new lease while the campaign was out");
                await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5)).until(election::isLeader);
                long after = Duration.ofNanos(electedAt.get() - heldAt.get()).toMillis();
                System.out.printf("a campaign out at the new lease: elected %d ms after it was sent (its timeout 500 ms)%n",
                        after);
                // 0.5 s for the campaign's timeout, then at once; before, the 1-2 s backoff its predecessors grew.
                assertTrue(after <= 1200, "elected " + after + " ms after the campaign that was out; the timeout is 500 ms");
            } finally {
                election.close();
                session[0].close();
            }
        }
    }

    @Test
    void aDrainedContenderGivesUpTheKeyAndAnotherTakesIt() throws Exception {
        EtcdOptions options = EtcdOptions.of(etcd.endpoints());
        try (Client c1 = EtcdClients.connect(options); Client c2 = EtcdClients.connect(options)) {
            EtcdSession s1 = new EtcdSession(c1, Duration.ofSeconds(TTL)).start();
            EtcdSession s2 = new EtcdSession(c2, Duration.ofSeconds(TTL)).start();
            Candidate e1 = new Candidate(s1, options.keys().master(), () -> "a".getBytes(StandardCharsets.UTF_8), quiet());
            e1.start();
            await().atMost(Duration.ofSeconds(5)).until(e1::isLeader);
            AtomicLong e2Elected = new AtomicLong();
            Candidate e2 = new Candidate(s2, options.keys().master(), () -> "b".getBytes(StandardCharsets.UTF_8),
                    counting(e2Elected));
            e2.start();
            // Held off for as long as e1 holds the key: never elected, checked all along (an election is counted even
            // if it were lost again between two polls). Its session is up and it is contending by then.
            await().atMost(Duration.ofSeconds(5)).until(() -> s2.validLease().isPresent());
            await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20))
                    .until(() -> e2Elected.get() == 0 && !e2.isLeader());
            e1.setEligible(false);
            await().atMost(Duration.ofSeconds(2)).until(e2::isLeader);
            assertFalse(e1.isLeader());
            e2.close();
            e1.close();
            s1.close();
            s2.close();
        }
    }

    /**
     * Candidates closed together (a node's transcoders retired at once) resign in parallel, started by
     * {@code closeAsync}, and each {@code close()} after that still waits for its own resignation: when it returns,
     * the key is gone from etcd.
     */
    @Test
    void candidatesClosedTogetherEachWaitForTheirResignation() throws Exception {
        EtcdOptions options = EtcdOptions.of(etcd.endpoints());
        try (Client real = EtcdClients.connect(options)) {
            // Once closing, each transaction reaches etcd 300 ms late: a close() that did not wait would return first.
            AtomicBoolean slow = new AtomicBoolean();
            AtomicBoolean silent = new AtomicBoolean();
            KV kv = Delegate.of(KV.class, real.getKVClient(), (method, args, call) -> !method.getName().equals("txn")
                    ? call.call() : Delegate.of(Txn.class, (Txn) call.call(), (m, a, c) -> {
                        if (!m.getName().equals("commit") || !(slow.get() || silent.get())) {
                            return c.call();
                        }
                        if (silent.get()) {
                            return new CompletableFuture<>(); // no answer: the resignation's timeout ends it
                        }
                        return CompletableFuture.runAsync(() -> { },
                                CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS, Runnable::run))
                                .thenCompose(v -> {
                                    try {
                                        @SuppressWarnings("unchecked")
                                        CompletableFuture<Object> sent = (CompletableFuture<Object>) c.call();
                                        return sent;
                                    } catch (Throwable t) {
                                        return CompletableFuture.failedFuture(t);
                                    }
                                });
                    }));
            Client client = Delegate.of(Client.class, real,
                    (method, args, call) -> method.getName().equals("getKVClient") ? kv : call.call());
            EtcdSession session = new EtcdSession(client, Duration.ofSeconds(TTL)).start();
            List<Candidate> candidates = threeCandidates(session, "/election-it/together/");
            await().atMost(Duration.ofSeconds(5)).until(() -> candidates.stream().allMatch(Candidate::isLeader));
            slow.set(true);
            candidates.forEach(Candidate::closeAsync);
            for (Candidate c : candidates) {
                c.close();
                assertEquals(0, EtcdClients.await(real.getKVClient().get(Keys.bytes(c.key())), options, "get")
                        .getCount(), c.key() + " is gone when close() returns");
            }
            assertTrue(candidates.get(0).closeAsync().isDone(), "the same resignation, done");

            // etcd silent to the resignations: closed together, they are waited for once, not once each.
            List<Candidate> more = threeCandidates(session, "/election-it/silent/");
            slow.set(false);
            await().atMost(Duration.ofSeconds(5)).until(() -> more.stream().allMatch(Candidate::isLeader));
            silent.set(true);
            long start = System.nanoTime();
            Candidate.closeAll(more);
            long took = Duration.ofNanos(System.nanoTime() - start).toMillis();
            long one = Math.max(500, TTL * 1000L / 5) + 1000; // one close()'s bound: a call's timeout and a second
            System.out.printf("three candidates closed together while etcd was silent: %d ms (one close waits %d ms)%n",
                    took, one);
            assertTrue(took <= one + 500, took + " ms: waited once, not three times");
            session.close();
        }
    }

    /** Three started candidates on one session, for the keys {@code prefix} 0, 1 and 2. */
    private static List<Candidate> threeCandidates(EtcdSession session, String prefix) {
        List<Candidate> candidates = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Candidate c = new Candidate(session, Keys.bytes(prefix + i), () -> "x".getBytes(StandardCharsets.UTF_8),
                    quiet());
            c.start();
            candidates.add(c);
        }
        return candidates;
    }

    /**
     * A master fenced (etcd silent for longer than the TTL less the margin, not long enough for the lease to expire)
     * and drained meanwhile: its key must still go, or it stays on the lease that the keep-alives carry on once etcd
     * answers, and no node is master for as long as the drained one runs.
     */
    @Test
    void aMasterDrainedWhileFencedStillGivesUpTheKey() throws Exception {
        EtcdOptions options = EtcdOptions.of(etcd.endpoints());
        Duration ttl = Duration.ofSeconds(10); // keep-alives every 2 s, fenced 6 s after the last one succeeded
        try (Client c1 = EtcdClients.connect(options); Client c2 = EtcdClients.connect(options)) {
            EtcdSession s1 = new EtcdSession(c1, ttl).start();
            EtcdSession s2 = new EtcdSession(c2, ttl).start();
            Candidate e1 = new Candidate(s1, options.keys().master(), () -> "a".getBytes(StandardCharsets.UTF_8), quiet());
            e1.start();
            await().atMost(Duration.ofSeconds(5)).until(e1::isLeader);
            Candidate e2 = new Candidate(s2, options.keys().master(), () -> "b".getBytes(StandardCharsets.UTF_8), quiet());
            e2.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> s2.validLease().isPresent());
            long lease = s1.validLease().orElseThrow();
            etcd.member(0).pause();
            long resumedAt;
            try {
                // The last keep-alive went at most 2 s before the pause: fenced within 6 s, expired no sooner than 8 s.
                await().atMost(Duration.ofSeconds(7)).pollInterval(Duration.ofMillis(20)).until(() -> !e1.isLeader());
                e1.setEligible(false); // drained while fenced: its election closes with nothing held
                Thread.sleep(200); // the closing election's first resign meets the paused etcd
            } finally {
                etcd.member(0).resume();
                resumedAt = System.nanoTime();
            }
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).until(e2::isLeader);
            System.out.printf("the other node master %d ms after etcd answered again%n",
                    Duration.ofNanos(System.nanoTime() - resumedAt).toMillis());
            // A fence, not a loss: the drained node kept its lease, which would have kept the key.
            assertTrue(s1.isValid(lease), "the drained node's lease lives on");
            assertEquals(1, s1.leasesGranted());
            assertFalse(e1.isLeader());
            e2.close();
            e1.close();
            s1.close();
            s2.close();
        }
    }

    private static Election.Listener counting(AtomicLong elected) {
        return new Election.Listener() {
            @Override
            public void elected() {
                elected.incrementAndGet();
            }

            @Override
            public void deposed() {
            }
        };
    }

    private static Election.Listener quiet() {
        return new Election.Listener() {
            @Override
            public void elected() {
            }

            @Override
            public void deposed() {
            }
        };
    }

    private static String masterHolder() throws Exception {
        EtcdOptions options = EtcdOptions.of(etcd.endpoints());
        try (Client client = EtcdClients.connect(options)) {
            var r = EtcdClients.await(client.getKVClient().get(options.keys().master()), options, "get");
            return r.getKvs().isEmpty() ? "" : r.getKvs().get(0).getValue().toString();
        }
    }

    /** A {@link Contender} JVM and what it printed. */
    static final class ContenderProcess {
        final String name;
        final Process process;
        final ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();
        final AtomicLong electedAt = new AtomicLong();
        final AtomicLong resignedAt = new AtomicLong();
        final AtomicLong elections = new AtomicLong();
        volatile boolean master;
        volatile boolean ready;

        private ContenderProcess(String name, Process process) {
            this.name = name;
            this.process = process;
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        lines.add(line);
                        if (line.startsWith("ELECTED ")) {
                            electedAt.set(Long.parseLong(line.substring(line.lastIndexOf(' ') + 1)));
                            elections.incrementAndGet();
                            master = true;
                        } else if (line.startsWith("DEPOSED ")) {
                            master = false;
                        } else if (line.startsWith("RESIGNED ")) {
                            resignedAt.set(Long.parseLong(line.substring(line.lastIndexOf(' ') + 1)));
                        } else if (line.startsWith("READY ")) {
                            ready = true;
                        }
                    }
                } catch (IOException e) {
                    // process gone
                }
            }, "contender-" + name);
            reader.setDaemon(true);
            reader.start();
        }

        static ContenderProcess start(String name) throws IOException {
            String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(java, "-cp", cp, "-Dlogback.configurationFile=logback-test.xml",
                    Contender.class.getName(), etcd.endpointsCsv(), name, Integer.toString(TTL))
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            ContenderProcess c = new ContenderProcess(name, p);
            await().atMost(Duration.ofSeconds(20)).until(() -> c.ready);
            return c;
        }

        long elections() {
            return elections.get();
        }

        boolean isMaster() {
            return master && process.isAlive();
        }

        void send(String line) throws IOException {
            Writer w = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            w.write(line + "\n");
            w.flush();
        }
    }
}
