package radiod.cluster.etcd;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.grpc.Status;
import radiod.cluster.watch.KeyWatch;
import radiod.lifecycle.DaemonThreads;
import radiod.testkit.Delegate;
import radiod.testkit.EtcdCluster;

/**
 * The session's fencing by time, with a clock the test moves: the lease is vouched for until the send time of the
 * last keep-alive that succeeded plus the TTL less the margin (2×TTL/5), not a nanosecond longer, whatever the session's
 * own thread is doing. Nothing here sleeps: the clock jumps (one test holds etcd down for a few seconds).
 */
class EtcdSessionFencingIT {
    private static final Duration TTL = Duration.ofSeconds(5);
    private static final long MARGIN = TimeUnit.SECONDS.toNanos(2); // 2 × TTL/5

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    /** A clock that moves only when told (from 1 s, so that 0 stays "never"). */
    private final AtomicLong now = new AtomicLong(TimeUnit.SECONDS.toNanos(1));

    /** What the session tells a listener, in order: "granted ID", "lost ID". */
    private static ConcurrentLinkedQueue<String> told(EtcdSession session) {
        ConcurrentLinkedQueue<String> told = new ConcurrentLinkedQueue<>();
        session.addListener(new EtcdSession.Listener() {
            @Override
            public void leaseGranted(long leaseId) {
                told.add("granted " + leaseId);
            }

            @Override
            public void leaseLost(long leaseId) {
                told.add("lost " + leaseId);
            }
        });
        return told;
    }

    @Test
    void theLeaseIsVouchedForUntilTheGrantsSendTimePlusTheTtlLessTheMarginAndNotAfter() {
        try (Client client = EtcdClients.connect(EtcdOptions.of(etcd.endpoints()))) {
            long grantSent = now.get(); // the clock stands still, so the grant is sent at this instant
            EtcdSession session = new EtcdSession(client, TTL, now::get).start();
            await().atMost(Duration.ofSeconds(5)).until(() -> session.validLease().isPresent());
            long lease = session.validLease().getAsLong();
            long deadline = grantSent + TTL.toNanos() - MARGIN;

            now.set(deadline - 1);
            assertTrue(session.isValid(lease), "one nanosecond before the deadline");
            now.set(deadline);
            assertEquals(OptionalLong.empty(), session.validLease(), "at the deadline, at once, from any thread");
            assertFalse(session.isValid(lease));
            session.close();
        }
    }

    @Test
    void aSuccessfulKeepAliveMovesTheDeadlineToItsOwnSendTime() {
        try (Client client = EtcdClients.connect(EtcdOptions.of(etcd.endpoints()))) {
            EtcdSession session = new EtcdSession(client, TTL, now::get).start();
            await().atMost(Duration.ofSeconds(5)).until(() -> session.validLease().isPresent());
            long lease = session.validLease().getAsLong();
            // Move the clock one keep-alive period (TTL/5) on: the session's next keep-alive is due and is sent at
            // this instant (the clock then stands still until the test moves it again).
            long keepAliveSent = now.addAndGet(TimeUnit.SECONDS.toNanos(1));
            long deadline = keepAliveSent + TTL.toNanos() - MARGIN;
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
                    .until(() -> session.vouchedUntilNanos() == deadline);
            now.set(deadline - 1);
            assertTrue(session.isValid(lease), "one nanosecond before the new deadline");
            now.set(deadline);
            assertFalse(session.isValid(lease));
            session.close();
        }
    }

    @Test
    void whenTheDeadlinePassesListenersAreToldTheLeaseIsLostAndANewOneIsGranted() {
        try (Client client = EtcdClients.connect(EtcdOptions.of(etcd.endpoints()))) {
            EtcdSession session = new EtcdSession(client, TTL, now::get);
            ConcurrentLinkedQueue<String> told = told(session);
            session.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> session.validLease().isPresent());
            long first = session.validLease().getAsLong();
            // As a process paused for the whole TTL wakes: the lease may have expired in etcd; it is not trusted again.
            now.addAndGet(TTL.toNanos());
            await().atMost(Duration.ofSeconds(5)).until(() -> told.size() >= 3);
            assertEquals("granted " + first, told.poll());
            assertEquals("lost " + first, told.poll());
            long second = Long.parseLong(told.poll().substring("granted ".length()));
            assertTrue(second != first && session.isValid(second));
            assertEquals(2, session.leasesGranted());
            session.close();
        }
    }

    @Test
    void fencedButNotExpiredTheSameLeaseIsVouchedForAgainOnceAKeepAliveSucceeds() {
        try (Client client = EtcdClients.connect(EtcdOptions.of(etcd.endpoints()))) {
            EtcdSession session = new EtcdSession(client, TTL, now::get);
            ConcurrentLinkedQueue<String> told = told(session);
            session.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> session.validLease().isPresent());
            long first = session.validLease().getAsLong();
            // Past the margin, not past the TTL (an etcd leader election, a stalled disk): fenced at once...
            now.addAndGet(TTL.toNanos() - MARGIN + TimeUnit.MILLISECONDS.toNanos(500));
            assertFalse(session.isValid(first), "not vouched for past the margin, from any thread, at once");
            // ...then the next keep-alive succeeds (etcd held the lease throughout): the same lease again.
            await().atMost(Duration.ofSeconds(5)).until(() -> told.size() >= 3);
            assertEquals(List.of("granted " + first, "lost " + first, "granted " + first), List.copyOf(told));
            assertTrue(session.isValid(first));
            assertEquals(1, session.leasesGranted(), "no new lease");
            session.close();
        }
    }

    /**
     * etcd keeps a lease through a restart and gives it a whole TTL again: a lease the node gave up while etcd was
     * down would keep its keys (a master key holding an election up) for one TTL after etcd is back, unless it is
     * revoked once etcd answers. And a new lease comes as soon as the node's client is renewed. (This one holds etcd
     * down for 6 s.)
     */
    @Test
    void aLeaseGivenUpWhileEtcdWasDownIsRevokedOnceEtcdAnswersAndItsKeysGoWithIt() {
        // The node's client: renewed when etcd can be reached again, which fails what was still sent to the old one.
        EtcdOptions options = EtcdOptions.of(etcd.endpoints());
        AtomicLong renewedAt = new AtomicLong();
        AtomicLong grantedAt = new AtomicLong();
        try (EtcdConnection client = EtcdConnection.open(options);
             MemberProbe probe = new MemberProbe(client, options, Duration.ofMillis(500)).start()) {
            client.onReconnect(() -> renewedAt.compareAndSet(0, System.nanoTime()));
            // A TTL of 10 s: a grant tried every 2 s (which the renewed client does not wait for), and the old lease
            // would hold its key 10 s after etcd's restart.
            Duration ttl = Duration.ofSeconds(10);
            EtcdSession session = new EtcdSession(client, ttl, now::get);
            try {
                ConcurrentLinkedQueue<String> told = told(session);
                AtomicBoolean lost = new AtomicBoolean();
                session.addListener(new EtcdSession.Listener() {
                    @Override
                    public void leaseGranted(long leaseId) {
                        if (lost.get()) {
                            grantedAt.compareAndSet(0, System.nanoTime());
                        }
                    }

                    @Override
                    public void leaseLost(long leaseId) {
                        lost.set(true);
                    }
                });
                session.start();
                await().atMost(Duration.ofSeconds(5)).until(() -> session.validLease().isPresent());
                long first = session.validLease().getAsLong();
                ByteSequence key = Keys.bytes("/session/bound");
                PutOption onFirst = PutOption.builder().withLeaseId(first).build();
                EtcdClients.await(client.getKVClient().put(key, Keys.bytes("x"), onFirst), 3000, "put");
                etcd.member(0).stop();
                try {
                    now.addAndGet(ttl.toNanos()); // no keep-alive for a TTL: the session gives the lease up
                    await().atMost(Duration.ofSeconds(5)).until(() -> told.contains("lost " + first));
                    // The revoke the session sent as it gave the lease up cannot succeed: it is kept to try again.
                    await().during(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(7))
                            .until(() -> session.unrevokedLeases() == 1);
                } finally {
                    etcd.member(0).restart();
                }
                await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(5)).until(() -> told.size() >= 3);
                assertTrue(told.stream().anyMatch(t -> t.startsWith("granted ") && !t.equals("granted " + first)),
                        "told " + told);
                // Tried at once on the renewed client, not after the pause between tries (up to 4 s here: a grant's
                // 2 s wait on the old client, then a 2 s pause; 20 ms measured, 1 s allowed for a busy machine).
                // Before the renewal is fine too: the old client made it.
                await().atMost(Duration.ofSeconds(1)).until(() -> renewedAt.get() != 0);
                long afterRenewal = Duration.ofNanos(grantedAt.get() - renewedAt.get()).toMillis();
                System.out.printf("a new lease %d ms after the client was renewed%n", afterRenewal);
                assertTrue(afterRenewal <= 1_000, "a new lease " + afterRenewal + " ms after the renewal");
                // Without the revoke the key would stay until the old lease's new TTL ran out: 10 s after etcd's
                // restart.
                await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10))
                        .until(() -> EtcdClients.await(client.getKVClient().get(key), 1000, "get").getCount() == 0);
                System.out.printf("the given-up lease's key went %d ms after the new lease was granted%n",
                        Duration.ofNanos(System.nanoTime() - grantedAt.get()).toMillis());
                await().atMost(Duration.ofSeconds(1)).until(() -> session.unrevokedLeases() == 0);
            } finally {
                session.close();
            }
        }
    }

    /**
     * A watch on {@code prefix} whose re-reads back off {@code backoff}/2 to {@code backoff}, each delay added to
     * {@code retries}.
     */
    private static KeyWatch slowWatch(Client client, String prefix, ScheduledExecutorService scheduler, Duration backoff,
                                      List<Long> retries) {
        KeyWatch.Timing slow = new KeyWatch.Timing(Duration.ofMillis(300), Duration.ofMillis(300),
                Duration.ofMillis(800), backoff, backoff, Duration.ofSeconds(2));
        return new KeyWatch(client, Keys.bytes(prefix), true, scheduler, slow, new KeyWatch.Listener() {
            @Override
            public void resynced(List<KeyValue> kvs, long revision) {
            }

            @Override
            public void changed(List<WatchEvent> events, long revision) {
            }

            @Override
            public void retrying(long delayMillis, String why) {
                retries.add(delayMillis);
            }
        });
    }

    /**
     * A watch whose re-read failed while etcd was away waits out its backoff (a 30 s one here) unless told etcd
     * answers again: the session tells it when it holds a lease again, on the same client (no probe renews it), be it
     * a new lease (the last one given up) or the same one vouched for again (it was only fenced).
     */
    @ParameterizedTest(name = "lease given up: {0}")
    @ValueSource(booleans = {true, false})
    void aWatchWaitingOutItsBackoffReadsAgainWhenTheSessionHoldsALeaseAgain(boolean givenUp) {
        ScheduledExecutorService scheduler = DaemonThreads.scheduled("test-watch");
        try (EtcdConnection client = EtcdConnection.open(EtcdOptions.of(etcd.endpoints()))) {
            EtcdSession session = new EtcdSession(client, TTL, now::get);
            ConcurrentLinkedQueue<String> told = told(session);
            AtomicLong grantedAt = new AtomicLong();
            session.addListener(new EtcdSession.Listener() {
                @Override
                public void leaseGranted(long leaseId) {
                    if (told.size() >= 2) { // after the first lease and its loss (or fence)
                        grantedAt.compareAndSet(0, System.nanoTime());
                    }
                }

                @Override
                public void leaseLost(long leaseId) {
                }
            });
            List<Long> retries = new CopyOnWriteArrayList<>();
            KeyWatch watch = slowWatch(client, "/answers/", scheduler, Duration.ofSeconds(30), retries);
            try {
                // A cold client first: the watch's first read has only 300 ms, and a failed one would wait 30 s.
                EtcdClients.await(client.getKVClient().get(Keys.bytes("/answers/")), 5000, "warm-up read");
                session.start();
                watch.start();
                await().atMost(Duration.ofSeconds(5)).until(() -> session.validLease().isPresent() && watch.resyncs() == 1);
                long first = session.validLease().getAsLong();
                etcd.member(0).stop();
                try {
                    // Past the TTL: the lease is given up. Past the margin only: fenced, and vouched for again later.
                    now.addAndGet(givenUp ? TTL.toNanos() : TTL.toNanos() - MARGIN + TimeUnit.MILLISECONDS.toNanos(500));
                    await().atMost(Duration.ofSeconds(5)).until(() -> told.contains("lost " + first) && !retries.isEmpty());
                } finally {
                    etcd.member(0).restart();
                }
                assertTrue(retries.get(0) >= 15_000, "the watch waits out a long backoff: " + retries);
                await().atMost(Duration.ofSeconds(15)).until(() -> grantedAt.get() != 0);
                long granted = grantedAt.get();
                assertEquals(givenUp ? 2 : 1, session.leasesGranted(), "told " + told);
                await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5)).until(() -> watch.resyncs() >= 2);
                System.out.printf("the watch read again %d ms after the %s lease (its backoff said %d ms)%n",
                        Duration.ofNanos(System.nanoTime() - granted).toMillis(), givenUp ? "new" : "resumed",
                        retries.get(0));
            } finally {
                watch.close();
                session.close();
                DaemonThreads.stop(scheduler, Duration.ofSeconds(2));
            }
        }
    }

    /**
     * An outage shorter than the fence (an etcd leader election; seconds with a long TTL) breaks the watches but never
     * fences the lease (the test's clock stands still): the first keep-alive answered after failed ones tells them.
     */
    @Test
    void aWatchBrokenByAnOutageShorterThanTheFenceReadsAgainAtTheFirstKeepAliveAnswered() {
        ScheduledExecutorService scheduler = DaemonThreads.scheduled("test-watch");
        try (EtcdConnection client = EtcdConnection.open(EtcdOptions.of(etcd.endpoints()))) {
            EtcdSession session = new EtcdSession(client, TTL, now::get);
            ConcurrentLinkedQueue<String> told = told(session);
            List<Long> retries = new CopyOnWriteArrayList<>();
            KeyWatch watch = slowWatch(client, "/short/", scheduler, Duration.ofSeconds(60), retries);
            try {
                EtcdClients.await(client.getKVClient().get(Keys.bytes("/short/")), 5000, "warm-up read");
                session.start();
                watch.start();
                await().atMost(Duration.ofSeconds(5)).until(() -> session.validLease().isPresent() && watch.resyncs() == 1);
                etcd.member(0).stop();
                try {
                    await().atMost(Duration.ofSeconds(5)).until(() -> !retries.isEmpty() && session.unansweredCalls() > 0);
                } finally {
                    etcd.member(0).restart();
                }
                long back = System.nanoTime();
                assertTrue(retries.get(0) >= 30_000, "the watch waits out a long backoff: " + retries);
                // Far less than the shortest backoff drawn (30 s): only the keep-alive's signal reads again this soon.
                await().atMost(Duration.ofSeconds(14)).pollInterval(Duration.ofMillis(5)).until(() -> watch.resyncs() >= 2);
                System.out.printf("after a short outage the watch read again %d ms after etcd was restarted (its backoff"
                        + " said %d ms)%n", Duration.ofNanos(System.nanoTime() - back).toMillis(), retries.get(0));
                assertEquals(1, session.leasesGranted());
                assertEquals(1, told.size(), "never fenced: " + told);
            } finally {
                watch.close();
                session.close();
                DaemonThreads.stop(scheduler, Duration.ofSeconds(2));
            }
        }
    }

    /**
     * A node that starts while etcd does not answer (a whole cluster booting after a power cut, etcd still without a
     * leader): its watches start before its first lease, fail and back off (30 s here). Its first lease tells them
     * etcd answers, as a new lease after a lost one does.
     */
    @Test
    void aWatchStartedBeforeEtcdAnswersReadsOnTheSessionsFirstLease() {
        ScheduledExecutorService scheduler = DaemonThreads.scheduled("test-watch");
        etcd.member(0).stop();
        boolean restarted = false;
        try (EtcdConnection client = EtcdConnection.open(EtcdOptions.of(etcd.endpoints()))) {
            EtcdSession session = new EtcdSession(client, TTL, System::nanoTime);
            AtomicLong grantedAt = new AtomicLong();
            session.addListener(new EtcdSession.Listener() {
                @Override
                public void leaseGranted(long leaseId) {
                    grantedAt.compareAndSet(0, System.nanoTime());
                }

                @Override
                public void leaseLost(long leaseId) {
                }
            });
            List<Long> retries = new CopyOnWriteArrayList<>();
            KeyWatch watch = slowWatch(client, "/boot/", scheduler, Duration.ofSeconds(60), retries);
            try {
                watch.start(); // before the session, as the node starts its view
                session.start();
                await().atMost(Duration.ofSeconds(5)).until(() -> !retries.isEmpty() && session.unansweredCalls() > 0);
                assertEquals(0, session.leasesGranted());
                assertTrue(retries.get(0) >= 30_000, "the watch waits out a long backoff: " + retries);
                etcd.member(0).restart();
                restarted = true;
                await().atMost(Duration.ofSeconds(20)).until(() -> grantedAt.get() != 0);
                long granted = grantedAt.get();
                assertEquals(1, session.leasesGranted());
                await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5)).until(() -> watch.resyncs() == 1);
                System.out.printf("the watch started before etcd answered read %d ms after the first lease (its backoff"
                        + " said %d ms)%n", Duration.ofNanos(System.nanoTime() - granted).toMillis(), retries.get(0));
            } finally {
                watch.close();
                session.close();
                DaemonThreads.stop(scheduler, Duration.ofSeconds(2));
            }
        } finally {
            if (!restarted) {
                etcd.member(0).restart();
            }
        }
    }

    /**
     * While etcd turns grants away (no quorum: "no leader") or leaves them unanswered, a node without a lease asks again
     * within 250 ms, or at once after one that timed out (its timeout doubled, up to the keep-alive period): not after
     * a keep-alive period, TTL/5 (a second at TTL 5, 6 s here at TTL 30), which it spent without a lease after etcd's
     * quorum was back.
     */
    @Test
    void aNodeWithoutALeaseAsksEtcdAgainWithinAQuarterSecondWhateverTheTtl() {
        enum Mode { REFUSE, HANG, ANSWER }
        AtomicReference<Mode> mode = new AtomicReference<>(Mode.REFUSE);
        List<Long> refused = new CopyOnWriteArrayList<>();
        List<Long> hung = new CopyOnWriteArrayList<>();
        try (Client real = EtcdClients.connect(EtcdOptions.of(etcd.endpoints()))) {
            Lease lease = Delegate.of(Lease.class, real.getLeaseClient(), (method, args, call) -> {
                if (!method.getName().equals("grant")) {
                    return call.call();
                }
                switch (mode.get()) {
                    case REFUSE -> {
                        refused.add(System.nanoTime());
                        return CompletableFuture.failedFuture(
                                Status.UNAVAILABLE.withDescription("etcdserver: no leader").asRuntimeException());
                    }
                    case HANG -> {
                        hung.add(System.nanoTime());
                        return new CompletableFuture<>(); // etcd holds it: the session's timeout ends it
                    }
                    default -> {
                        return call.call();
                    }
                }
            });
            Client client = Delegate.of(Client.class, real,
                    (method, args, call) -> method.getName().equals("getLeaseClient") ? lease : call.call());
            EtcdClients.await(real.getKVClient().get(Keys.bytes("/warm")), 5000, "a first call: the channel is up");
            EtcdSession session = new EtcdSession(client, Duration.ofSeconds(30), System::nanoTime).start();
            try {
                await().atMost(Duration.ofSeconds(5)).until(() -> refused.size() >= 5);
                mode.set(Mode.HANG);
                await().atMost(Duration.ofSeconds(15)).until(() -> hung.size() >= 3);
                long answered = System.nanoTime();
                mode.set(Mode.ANSWER);
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
                        .until(() -> session.validLease().isPresent());
                long leaseAfter = System.nanoTime() - answered;
                long refusedEvery = maxGap(refused);
                // Each timed-out grant is followed at once by the next, whose timeout is doubled: 2 s, then 4 s.
                long afterFirst = hung.get(1) - hung.get(0) - TimeUnit.MILLISECONDS.toNanos(2000);
                long afterSecond = hung.get(2) - hung.get(1) - TimeUnit.MILLISECONDS.toNanos(4000);
                System.out.printf("grants turned away every %d ms at most; after a grant's timeout the next went %d and"
                        + " %d ms later (timeouts 2 and 4 s); a lease %d ms after etcd answered (TTL 30 s: a keep-alive"
                        + " period is 6 s)%n", refusedEvery / 1_000_000, afterFirst / 1_000_000, afterSecond / 1_000_000,
                        leaseAfter / 1_000_000);
                long slack = TimeUnit.MILLISECONDS.toNanos(250);
                assertTrue(refusedEvery <= EtcdSession.GRANT_EVERY_NANOS + slack,
                        "turned-away grants asked again within 250 ms: " + refusedEvery / 1_000_000 + " ms");
                assertTrue(afterFirst >= 0 && afterFirst <= slack, "at once after the first timeout: " + afterFirst);
                assertTrue(afterSecond >= 0 && afterSecond <= slack, "at once after the doubled one: " + afterSecond);
                // The grant out when etcd answered waits out its timeout (6 s, the period); the next is answered.
                assertTrue(leaseAfter <= TimeUnit.SECONDS.toNanos(6) + TimeUnit.MILLISECONDS.toNanos(1000),
                        leaseAfter / 1_000_000 + " ms");
                assertEquals(1, session.leasesGranted());
            } finally {
                session.close();
            }
        }
    }

    /** A grant etcd refuses outright (permission denied) is asked again a keep-alive period later, not every 250 ms. */
    @Test
    void aGrantEtcdRefusesOutrightIsAskedAgainAKeepAlivePeriodLater() {
        List<Long> refused = new CopyOnWriteArrayList<>();
        try (Client real = EtcdClients.connect(EtcdOptions.of(etcd.endpoints()))) {
            Lease lease = Delegate.of(Lease.class, real.getLeaseClient(), (method, args, call) -> {
                if (!method.getName().equals("grant")) {
                    return call.call();
                }
                refused.add(System.nanoTime());
                return CompletableFuture.failedFuture(
                        Status.PERMISSION_DENIED.withDescription("etcdserver: permission denied").asRuntimeException());
            });
            Client client = Delegate.of(Client.class, real,
                    (method, args, call) -> method.getName().equals("getLeaseClient") ? lease : call.call());
            EtcdSession session = new EtcdSession(client, TTL, System::nanoTime).start();
            try {
                await().atMost(Duration.ofSeconds(10)).until(() -> refused.size() >= 3);
                long least = Long.MAX_VALUE;
                for (int i = 1; i < refused.size(); i++) {
                    least = Math.min(least, refused.get(i) - refused.get(i - 1));
                }
                System.out.printf("grants refused outright: asked again every %d ms at least (TTL/5: 1000 ms)%n",
                        least / 1_000_000);
                assertTrue(least >= TimeUnit.MILLISECONDS.toNanos(950), least / 1_000_000 + " ms");
                assertEquals(0, session.leasesGranted());
            } finally {
                session.close();
            }
        }
    }

    private static long maxGap(List<Long> times) {
        long max = 0;
        for (int i = 1; i < times.size(); i++) {
            max = Math.max(max, times.get(i) - times.get(i - 1));
        }
        return max;
    }

    /**
     * A keep-alive failed by a rebuild of the node's client (it went to the old client, which is closed) is not etcd
     * failing to answer: it is not counted, and the keep-alive answered next on the new client does not tell the
     * watches that etcd answers again (the rebuild has them read again itself; telling them too made each read twice).
     */
    @Test
    void aKeepAliveFailedByARebuildOfTheClientIsNotEtcdFailingToAnswer() {
        AtomicBoolean hold = new AtomicBoolean();
        AtomicInteger held = new AtomicInteger();
        List<AtomicInteger> keepAlives = new CopyOnWriteArrayList<>();
        try (EtcdConnection client = new EtcdConnection(etcd.endpoints(), endpoints -> {
            Client real = EtcdClients.connect(EtcdOptions.of(endpoints));
            AtomicInteger sent = new AtomicInteger();
            keepAlives.add(sent);
            boolean first = keepAlives.size() == 1;
            Lease lease = Delegate.of(Lease.class, real.getLeaseClient(), (method, args, call) -> {
                if (method.getName().equals("keepAliveOnce")) {
                    sent.incrementAndGet();
                    if (first && hold.get()) {
                        held.incrementAndGet();
                        return new CompletableFuture<>(); // out when the client is rebuilt
                    }
                }
                return call.call();
            });
            return Delegate.of(Client.class, real,
                    (method, args, call) -> method.getName().equals("getLeaseClient") ? lease : call.call());
        })) {
            AtomicInteger toldAnswersAgain = new AtomicInteger();
            client.onAnswersAgain(toldAnswersAgain::incrementAndGet);
            EtcdSession session = new EtcdSession(client, TTL, System::nanoTime).start();
            try {
                await().atMost(Duration.ofSeconds(5)).until(() -> keepAlives.get(0).get() >= 1);
                hold.set(true);
                await().atMost(Duration.ofSeconds(3)).until(() -> held.get() == 1);
                client.renew("the test");
                // The next two keep-alives go to the new client: the first answered, and the one after it is sent
                // only once the session has acted on that answer.
                await().atMost(Duration.ofSeconds(5)).until(() -> keepAlives.size() == 2 && keepAlives.get(1).get() >= 2);
                assertEquals(0, session.unansweredCalls(), "a call the rebuild failed is not etcd's silence");
                assertEquals(0, toldAnswersAgain.get(), "nothing to tell: etcd never failed to answer");
                assertEquals(1, session.leasesGranted());
                assertTrue(session.validLease().isPresent());
            } finally {
                session.close();
            }
        }
    }

    /**
     * A watch's re-read sent while etcd had no quorum can still be out when etcd answers again, and then fail only at
     * its timeout (FireIT's quorum loss saw one fail 150 ms after the node's new lease, and back off 4.8 s more: that
     * node's mounts came back 5 s after the others'). When told etcd answers, the watch reads again at once; the
     * read that was out is superseded, its answer dropped when it comes.
     */
    @Test
    void aWatchWhoseReadIsStillOutWhenEtcdAnswersAgainReadsAgainAtOnce() {
        HeldRead held = new HeldRead();
        ScheduledExecutorService scheduler = DaemonThreads.scheduled("test-watch");
        try (EtcdConnection client = new EtcdConnection(etcd.endpoints(),
                endpoints -> held.around(EtcdClients.connect(EtcdOptions.of(endpoints))))) {
            ByteSequence key = Keys.bytes("/out/k");
            EtcdClients.await(client.getKVClient().put(key, Keys.bytes("1")), 5000, "put");
            Map<String, String> seen = new ConcurrentHashMap<>();
            AtomicLong resyncs = new AtomicLong();
            // Calls and re-reads with 30 s to spare: whatever the watch does within a second is the signal's doing.
            KeyWatch.Timing slow = new KeyWatch.Timing(Duration.ofSeconds(30), Duration.ofSeconds(10),
                    Duration.ofSeconds(25), Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(2));
            KeyWatch watch = new KeyWatch(client, Keys.bytes("/out/"), true, scheduler, slow, new KeyWatch.Listener() {
                @Override
                public void resynced(List<KeyValue> kvs, long revision) {
                    resyncs.incrementAndGet();
                    seen.clear();
                    kvs.forEach(kv -> seen.put(kv.getKey().toString(StandardCharsets.UTF_8), kv.getValue().toString(StandardCharsets.UTF_8)));
                }

                @Override
                public void changed(List<WatchEvent> events, long revision) {
                    events.forEach(e -> seen.put(e.getKeyValue().getKey().toString(StandardCharsets.UTF_8), e.getKeyValue().getValue().toString(StandardCharsets.UTF_8)));
                }
            });
            try {
                watch.start();
                await().atMost(Duration.ofSeconds(5)).until(() -> "1".equals(seen.get("/out/k")));
                held.holdNext();
                watch.resyncSoon(); // a re-read, whose answer stays out as one sent to a member without a leader would
                await().atMost(Duration.ofSeconds(5)).until(held::holding);
                EtcdClients.await(client.getKVClient().put(key, Keys.bytes("2")), 5000, "put");

                long told = System.nanoTime();
                client.answersAgain("the test");
                await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(5))
                        .until(() -> "2".equals(seen.get("/out/k")));
                System.out.printf("with a read still out, the watch read again %d ms after etcd answered%n",
                        Duration.ofNanos(System.nanoTime() - told).toMillis());
                assertTrue(held.holding(), "read again before the read that was out ended");
                assertEquals(2, resyncs.get());

                held.release(); // its answer, from before the put, comes now and is dropped
                EtcdClients.await(client.getKVClient().put(key, Keys.bytes("3")), 5000, "put");
                await().atMost(Duration.ofSeconds(5)).until(() -> "3".equals(seen.get("/out/k")));
                assertEquals(2, resyncs.get(), "the superseded read's answer was not delivered");
                assertEquals(3, watch.resyncAttempts());
            } finally {
                watch.close();
                DaemonThreads.stop(scheduler, Duration.ofSeconds(2));
            }
        }
    }

    /** Around a real client: the next read asked for is sent to etcd, and its answer held until released. */
    private static final class HeldRead {
        private final AtomicBoolean holdNext = new AtomicBoolean();
        private final CompletableFuture<Void> released = new CompletableFuture<>();
        private volatile boolean holding;

        void holdNext() {
            holdNext.set(true);
        }

        boolean holding() {
            return holding && !released.isDone();
        }

        void release() {
            released.complete(null);
        }

        Client around(Client real) {
            KV kv = Delegate.of(KV.class, real.getKVClient(), (method, args, call) -> {
                Object answer = call.call();
                if (method.getName().equals("get") && holdNext.compareAndSet(true, false)) {
                    holding = true;
                    return ((CompletableFuture<?>) answer).thenCombine(released, (r, v) -> r);
                }
                return answer;
            });
            return Delegate.of(Client.class, real,
                    (method, args, call) -> method.getName().equals("getKVClient") ? kv : call.call());
        }
    }
}
