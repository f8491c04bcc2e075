package radiod.cluster.watch;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.watch.WatchEvent;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.Keys;
import radiod.lifecycle.DaemonThreads;
import radiod.testkit.EtcdCluster;

/** One supervised watch against a real etcd: what it delivers, and how it recovers. */
class KeyWatchIT {
    /** Quick enough for a test: silence noticed in under a second, calls given up after 300 ms, re-reads 100 ms to 1.6 s. */
    private static final KeyWatch.Timing FAST = new KeyWatch.Timing(Duration.ofMillis(300), Duration.ofMillis(300),
            Duration.ofMillis(800), Duration.ofMillis(100), Duration.ofMillis(1600), Duration.ofMillis(2000));

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    private final ScheduledExecutorService scheduler = DaemonThreads.scheduled("test-watch");
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
        DaemonThreads.stop(scheduler, Duration.ofSeconds(2));
    }

    /** Keeps what the watch says as a map (key → value) and a log of deliveries. */
    private static final class Recorder implements KeyWatch.Listener {
        final TreeMap<String, String> picture = new TreeMap<>();
        final List<String> log = new CopyOnWriteArrayList<>();
        final List<Long> delays = new CopyOnWriteArrayList<>();
        final List<String> reasons = new CopyOnWriteArrayList<>();
        volatile CountDownLatch holdFirstResync;
        volatile int resynced;

        @Override
        public void resynced(List<KeyValue> kvs, long revision) {
            synchronized (picture) {
                picture.clear();
                kvs.forEach(kv -> picture.put(kv.getKey().toString(), kv.getValue().toString()));
            }
            log.add("resync " + kvs.stream().map(kv -> kv.getKey().toString()).toList());
            resynced++;
            CountDownLatch hold = holdFirstResync;
            if (hold != null) {
                holdFirstResync = null;
                try {
                    hold.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        @Override
        public void changed(List<WatchEvent> events, long revision) {
            synchronized (picture) {
                for (WatchEvent e : events) {
                    String k = e.getKeyValue().getKey().toString();
                    if (e.getEventType() == WatchEvent.EventType.PUT) {
                        picture.put(k, e.getKeyValue().getValue().toString());
                        log.add("put " + k + "=" + e.getKeyValue().getValue());
                    } else {
                        picture.remove(k);
                        log.add("delete " + k);
                    }
                }
            }
        }

        @Override
        public void retrying(long delayMillis, String why) {
            delays.add(delayMillis);
            reasons.add(why);
        }

        String get(String key) {
            synchronized (picture) {
                return picture.get(key);
            }
        }
    }

    private Client client() {
        Client c = EtcdClients.connect(EtcdOptions.of(etcd.endpoints()));
        open.add(c);
        return c;
    }

    private KeyWatch watch(Client client, String prefix, Recorder recorder, DoubleSupplier random) {
        KeyWatch w = new KeyWatch(client, Keys.bytes(prefix), true, scheduler, FAST, recorder, System::nanoTime, random);
        open.add(0, w);
        return w;
    }

    private static void put(Client c, String key, String value) {
        EtcdClients.await(c.getKVClient().put(Keys.bytes(key), Keys.bytes(value)), 3000, "put " + key);
    }

    /**
     * A put just after etcd's restart: the client's channel may still be waiting out gRPC's reconnect backoff from the
     * outage (about 1, 2.6, 5.2 s), which a loaded machine stretches past {@link #put}'s 3 s.
     */
    private static void putAfterRestart(Client c, String key, String value) {
        EtcdClients.await(c.getKVClient().put(Keys.bytes(key), Keys.bytes(value)), 15_000, "put " + key);
    }

    private static long delete(Client c, String key) {
        return EtcdClients.await(c.getKVClient().delete(Keys.bytes(key)), 3000, "delete " + key).getHeader().getRevision();
    }

    @Test
    void theFirstDeliveryIsTheWholePrefixThenEveryPutAndDeleteInOrder() {
        Client c = client();
        put(c, "/kw/a", "1");
        put(c, "/kwother", "not under the prefix");
        Recorder r = new Recorder();
        KeyWatch w = watch(c, "/kw/", r, () -> 0.0);
        w.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> r.resynced == 1);
        put(c, "/kw/b", "2");
        put(c, "/kw/a", "3");
        delete(c, "/kw/b");
        put(c, "/kwother", "still not");
        await().atMost(Duration.ofSeconds(2)).until(() -> r.log.size() >= 4);
        assertEquals(List.of("resync [/kw/a]", "put /kw/b=2", "put /kw/a=3", "delete /kw/b"), r.log);
        assertEquals("3", r.get("/kw/a"));
        assertEquals(1, w.resyncs());
        assertThrows(IllegalStateException.class, w::start, "a watch starts once");
    }

    @Test
    void whileEtcdIsDownReReadsBackOffWithJitterAndWhenItIsBackNothingIsMissed() {
        Client c = client();
        put(c, "/down/before", "1");
        Recorder r = new Recorder();
        KeyWatch w = watch(c, "/down/", r, new Random(17)::nextDouble);
        w.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> r.resynced == 1);
        etcd.member(0).stop();
        try {
            // Silence noticed, then failed reads: 100, 200, 400, 800, 1600, 1600 ms ceilings, each drawn in [c/2, c].
            await().atMost(Duration.ofSeconds(20)).until(() -> r.delays.size() >= 6);
        } finally {
            etcd.member(0).restart();
        }
        List<Long> delays = List.copyOf(r.delays.subList(0, 6));
        long[] ceilings = {100, 200, 400, 800, 1600, 1600};
        for (int i = 0; i < ceilings.length; i++) {
            long d = delays.get(i);
            assertTrue(d >= ceilings[i] / 2 && d <= ceilings[i], "delay " + i + " of " + delays);
        }
        assertTrue(delays.get(5) > delays.get(0) * 4, "the delay grows: " + delays);
        assertTrue(java.util.stream.IntStream.range(0, 6).anyMatch(i -> delays.get(i) != ceilings[i]), "jittered: " + delays);

        putAfterRestart(c, "/down/after", "2");
        await().atMost(Duration.ofSeconds(15)).until(() -> "2".equals(r.get("/down/after")));
        assertEquals("1", r.get("/down/before"));
        assertTrue(w.resyncs() >= 2, "read again after etcd came back");
        assertTrue(w.resyncAttempts() > w.resyncs(), "failed reads counted");
    }

    /** A re-read waiting out a long backoff is brought forward when the node's client is renewed (etcd is back). */
    @Test
    void resyncSoonDoesNotWaitForTheBackoff() {
        Client c = client();
        put(c, "/soon/k", "1");
        Recorder r = new Recorder();
        KeyWatch.Timing slow = new KeyWatch.Timing(Duration.ofMillis(300), Duration.ofMillis(300), Duration.ofMillis(800),
                Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(2));
        KeyWatch w = new KeyWatch(c, Keys.bytes("/soon/"), true, scheduler, slow, r, System::nanoTime, () -> 0.0);
        open.add(0, w);
        w.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> r.resynced == 1);
        etcd.member(0).stop();
        try {
            await().atMost(Duration.ofSeconds(5)).until(() -> r.delays.size() == 1); // silence: a re-read in 15 s
        } finally {
            etcd.member(0).restart();
        }
        assertTrue(r.delays.get(0) >= 15_000, "delays " + r.delays);
        // Through the watch's own client, which waits for its connection: the read brought forward must not fail on
        // a channel still backing off from the outage (it would wait 30 s again).
        put(c, "/soon/k", "2");
        long asked = System.nanoTime();
        w.resyncSoon();
        await().atMost(Duration.ofSeconds(3)).until(() -> "2".equals(r.get("/soon/k")));
        System.out.printf("read again %d ms after resyncSoon (its backoff said %d ms)%n",
                Duration.ofNanos(System.nanoTime() - asked).toMillis(), r.delays.get(0));
        await().atMost(Duration.ofSeconds(1)).until(() -> r.resynced == 2);
        // The re-read that waited out the 30 s backoff is cancelled, not left queued to do nothing.
        List<Long> queued = ((ScheduledThreadPoolExecutor) scheduler).getQueue().stream()
                .map(t -> ((Delayed) t).getDelay(TimeUnit.MILLISECONDS)).toList();
        assertTrue(queued.stream().allMatch(d -> d < 5_000), "the scheduler's queued delays (ms): " + queued);
        put(c, "/soon/k", "3");
        await().atMost(Duration.ofSeconds(1)).until(() -> "3".equals(r.get("/soon/k")));
    }

    @Test
    void aWatchWhoseStartingRevisionWasCompactedAwayReadsAgain() {
        Client c = client();
        Recorder r = new Recorder();
        CountDownLatch release = new CountDownLatch(1);
        r.holdFirstResync = release; // the first picture is taken slowly: etcd compacts meanwhile
        // The client's first call (connection, a cold JVM) outside the watch: on a busy machine it can take longer than
        // the watch's 300 ms, and a failed first read would add a reason this test does not expect.
        EtcdClients.await(c.getKVClient().get(Keys.bytes("/warm")), 3000, "warm-up read");
        KeyWatch w = watch(c, "/compact/", r, () -> 0.0);
        w.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> r.log.size() == 1);
        put(c, "/compact/x", "1");
        put(c, "/compact/y", "2");
        long rev = delete(c, "/compact/x");
        EtcdClients.await(c.getKVClient().compact(rev), 3000, "compact");
        release.countDown();

        await().atMost(Duration.ofSeconds(5)).until(() -> r.resynced >= 2);
        assertEquals(List.of("etcd compacted the revisions the watch needed"), r.reasons);
        assertEquals(List.of("resync []", "resync [/compact/y]"), r.log.subList(0, 2));
        put(c, "/compact/z", "3");
        await().atMost(Duration.ofSeconds(2)).until(() -> "3".equals(r.get("/compact/z")));
        assertEquals(2, w.resyncs());
    }
    /**
     * A watch that starts more than 1,000 revisions behind gets its events in batches of 1,000 revisions, each batch's
     * header naming etcd's current revision (etcd 3.4's syncWatchers): the batches after the first must not be taken
     * for old news.
     */
    @Test
    void aWatchFarBehindGetsEveryBatchOfItsCatchUp() {
        Client c = client();
        Recorder r = new Recorder();
        CountDownLatch release = new CountDownLatch(1);
        r.holdFirstResync = release; // the watch starts after the first picture: 2,500 revisions behind
        EtcdClients.await(c.getKVClient().get(Keys.bytes("/warm")), 3000, "warm-up read");
        KeyWatch w = watch(c, "/behind/", r, () -> 0.0);
        w.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> r.log.size() == 1);
        int puts = 2_500;
        List<java.util.concurrent.CompletableFuture<?>> pending = new ArrayList<>();
        for (int i = 0; i < puts; i++) {
            pending.add(c.getKVClient().put(Keys.bytes("/behind/k" + (i % 50)), Keys.bytes(Integer.toString(i))));
            if (pending.size() == 100) {
                java.util.concurrent.CompletableFuture.allOf(pending.toArray(java.util.concurrent.CompletableFuture[]::new))
                        .orTimeout(10, TimeUnit.SECONDS).join();
                pending.clear();
            }
        }
        release.countDown();

        await().atMost(Duration.ofSeconds(10)).until(() -> r.log.size() == 1 + puts);
        // The puts of a hundred were in flight together: etcd's order is the truth.
        TreeMap<String, String> stored = new TreeMap<>();
        EtcdClients.await(c.getKVClient().get(Keys.bytes("/behind/"), io.etcd.jetcd.options.GetOption.builder()
                .isPrefix(true).build()), 3000, "read").getKvs()
                .forEach(kv -> stored.put(kv.getKey().toString(), kv.getValue().toString()));
        assertEquals(50, stored.size());
        synchronized (r.picture) {
            assertEquals(stored, r.picture);
        }
        assertEquals(List.of(), r.reasons);
        assertEquals(1, w.resyncs());
    }

    /**
     * A closed watch, and a watch read again, leave no stream open at etcd (jetcd 0.8.5 only half-closes a watcher's
     * stream, which etcd keeps open: {@link WatchStreams}).
     */
    @Test
    void closingAWatchOrReadingAgainEndsItsStreamAtEtcd() {
        Client c = client();
        put(c, "/streams/k", "1");
        long before = etcd.watchStreams();
        List<KeyWatch> watches = new ArrayList<>();
        List<Recorder> recorders = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Recorder r = new Recorder();
            KeyWatch w = watch(c, "/streams/", r, () -> 0.0);
            w.start();
            watches.add(w);
            recorders.add(r);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> recorders.stream().allMatch(r -> r.resynced == 1));
        await("10 watch streams").atMost(Duration.ofSeconds(5))
                .until(etcd::watchStreams, org.hamcrest.Matchers.equalTo(before + 10));

        // Read again five times: each re-read closes the watch it had and opens one.
        KeyWatch first = watches.get(0);
        for (int i = 1; i <= 5; i++) {
            first.resyncSoon();
            int expected = i + 1;
            await().atMost(Duration.ofSeconds(5)).until(() -> recorders.get(0).resynced == expected);
        }
        put(c, "/streams/k", "2");
        await().atMost(Duration.ofSeconds(5)).until(() -> "2".equals(recorders.get(0).get("/streams/k")));
        await("10 watch streams after 5 re-reads").atMost(Duration.ofSeconds(5))
                .until(etcd::watchStreams, org.hamcrest.Matchers.equalTo(before + 10));

        watches.forEach(KeyWatch::close);
        await("the watch streams gone").atMost(Duration.ofSeconds(5))
                .until(etcd::watchStreams, org.hamcrest.Matchers.equalTo(before));
    }
}
