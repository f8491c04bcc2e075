package radiod.bench.redirect;

import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

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
    /** 1 Tbit/s a node: tens of millions of decisions a second never fill the nodes between two renewals. */
    private static final long MAX_BPS = 1_000_000_000_000L;

    private DecisionBench() {
    }

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        long seconds = args.length > 1 ? Long.parseLong(args[1]) : 10;
        long warmup = args.length > 2 ? Long.parseLong(args[2]) : 5;
        Mount live = new Mount("/live.mp3", null, "bench", null, null, 0, 128, null);
        AtomicReference<ClusterSnapshot> view = SideBySide.renewedView(live, MAX_BPS);
        Pipeline pipeline = Pipeline.parse(Pipeline.DEFAULT);
        LongAdder none = new LongAdder();
        String figures = SideBySide.run(threads, warmup, seconds, "decision", () -> () -> {
            if (pipeline.choose(view.get(), live).isEmpty()) {
                none.increment();
            }
        });
        System.out.printf("%d threads: %s, %d without a node (warm-up included)%n", threads, figures, none.sum());
    }
}
