package radiod.bench.redirect;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import io.netty.util.concurrent.FastThreadLocalThread;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;

/** What {@link DecisionBench} and {@link LeanPathBench} share: a view renewed as nodes publish, threads side by side. */
final class SideBySide {
    /** Every 20 ms, not every second: at these benches' rates a second's listeners would fill the nodes. */
    static final long RENEW_MILLIS = 20;

    private SideBySide() {
    }

    /** {@link RedirectBenchServer}'s three nodes with {@code maxBps} each, renewed every {@value #RENEW_MILLIS} ms. */
    static AtomicReference<ClusterSnapshot> renewedView(Mount live, long maxBps) {
        AtomicReference<ClusterSnapshot> view = new AtomicReference<>(RedirectBenchServer.snapshot(live, System.currentTimeMillis(), maxBps));
        Thread renew = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(RENEW_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
                view.set(RedirectBenchServer.snapshot(live, System.currentTimeMillis(), maxBps));
            }
        }, "renew");
        renew.setDaemon(true);
        renew.start();
        return view;
    }

    /**
     * Runs {@code threads} event-loop-like threads, each doing the operation {@code perThread} makes on that thread,
     * for {@code warmup} then {@code seconds} seconds; returns "N ns of CPU per {@code what} (by thread: …), M
     * {@code what}s" over the measured part.
     */
    static String run(int threads, long warmup, long seconds, String what, Supplier<Runnable> perThread)
            throws InterruptedException {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long[] cpu = new long[threads];
        long[] done = new long[threads];
        CountDownLatch finished = new CountDownLatch(threads);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int me = t;
            workers.add(new FastThreadLocalThread(() -> {
                Runnable op = perThread.get();
                long warmEnd = System.nanoTime() + warmup * 1_000_000_000L;
                while (System.nanoTime() < warmEnd) {
                    op.run();
                }
                long end = System.nanoTime() + seconds * 1_000_000_000L;
                long c0 = mx.getCurrentThreadCpuTime();
                long n = 0;
                while ((n & 1023) != 0 || System.nanoTime() < end) {
                    op.run();
                    n++;
                }
                cpu[me] = mx.getCurrentThreadCpuTime() - c0;
                done[me] = n;
                finished.countDown();
            }, what + "-" + t));
        }
        workers.forEach(Thread::start);
        finished.await();
        long total = 0;
        long cpuTotal = 0;
        StringBuilder each = new StringBuilder();
        for (int t = 0; t < threads; t++) {
            total += done[t];
            cpuTotal += cpu[t];
            each.append(String.format(" %.0f", (double) cpu[t] / done[t]));
        }
        return String.format("%.0f ns of CPU per %s (by thread:%s), %d %ss", (double) cpuTotal / total, what, each, total, what);
    }
}
