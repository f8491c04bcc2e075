package radiod.bench.redirect;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import io.netty.util.concurrent.FastThreadLocalThread;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.balance.Pipeline;

/**
 * The load-balancing decision alone: threads choosing a node for a listener on one shared {@link Pipeline}, as a
 * node's event loops do, over {@link RedirectBenchServer}'s three nodes (each status renewed every 20 ms, as in
 * {@link LeanPathBench}, and with room for a terabit each). Prints each thread's CPU time per decision. With two threads it shows what deciding side by
 * side costs the threads (the estimates they share), with one the decision's own work.
 *
 * <p>Usage: {@code DecisionBench [threads, default 2] [seconds measured, default 10] [seconds of warm-up, default 5]}.
 */
public final class DecisionBench {
    private static final long RENEW_MILLIS = 20;
    /** 1 Tbit/s a node: tens of millions of decisions a second never fill the nodes between two renewals. */
    private static final long MAX_BPS = 1_000_000_000_000L;

    private DecisionBench() {
    }

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        long seconds = args.length > 1 ? Long.parseLong(args[1]) : 10;
        long warmup = args.length > 2 ? Long.parseLong(args[2]) : 5;
        Mount live = new Mount("/live.mp3", null, "bench", null, null, 0, 128, null);
        AtomicReference<ClusterSnapshot> view = new AtomicReference<>(RedirectBenchServer.snapshot(live, System.currentTimeMillis(), MAX_BPS));
        Thread renew = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(RENEW_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
                view.set(RedirectBenchServer.snapshot(live, System.currentTimeMillis(), MAX_BPS));
            }
        }, "renew");
        renew.setDaemon(true);
        renew.start();
        Pipeline pipeline = Pipeline.parse(Pipeline.DEFAULT);
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long[] cpu = new long[threads];
        long[] done = new long[threads];
        long[] refused = new long[threads];
        CountDownLatch finished = new CountDownLatch(threads);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int me = t;
            workers.add(new FastThreadLocalThread(() -> {
                long warmEnd = System.nanoTime() + warmup * 1_000_000_000L;
                while (System.nanoTime() < warmEnd) {
                    pipeline.choose(view.get(), live);
                }
                long end = System.nanoTime() + seconds * 1_000_000_000L;
                long c0 = mx.getCurrentThreadCpuTime();
                long n = 0;
                long none = 0;
                while ((n & 1023) != 0 || System.nanoTime() < end) {
                    if (pipeline.choose(view.get(), live).isEmpty()) {
                        none++;
                    }
                    n++;
                }
                cpu[me] = mx.getCurrentThreadCpuTime() - c0;
                done[me] = n;
                refused[me] = none;
                finished.countDown();
            }, "decide-" + t));
        }
        workers.forEach(Thread::start);
        finished.await();
        long total = 0;
        long cpuTotal = 0;
        long none = 0;
        StringBuilder each = new StringBuilder();
        for (int t = 0; t < threads; t++) {
            total += done[t];
            cpuTotal += cpu[t];
            none += refused[t];
            each.append(String.format(" %.0f", (double) cpu[t] / done[t]));
        }
        System.out.printf("%d threads: %.0f ns of CPU per decision (by thread:%s), %d decisions, %d without a node%n",
                threads, (double) cpuTotal / total, each, total, none);
    }
}
