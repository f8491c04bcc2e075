package radiod.redirector.balance;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.random.RandomGenerator;

import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/** The stages a pipeline can be built from, by name. */
public final class Stages {
    private Stages() {
    }

    static final Map<String, Stage> ALL = new LinkedHashMap<>();

    static {
        filter("icecast_active", (n, v, m, p) -> n.icecastUp());
        filter("not_drained", (n, v, m, p) -> !n.drained() && !v.isDrained(n.name()));
        filter("has_mount", (n, v, m, p) -> n.hasMount(m.path()));
        filter("listeners_available", (n, v, m, p) -> n.maxListeners() == 0
                || n.listeners() + p.listeners(n) < n.maxListeners());
        filter("bandwidth_available", (n, v, m, p) -> n.maxBandwidthBps() == 0
                || n.bandwidthBps() + p.bps(n) + m.bitsPerSecond() <= n.maxBandwidthBps());
        scorer("listeners_score", (n, m, p) -> free(n.listeners() + p.listeners(n), n.maxListeners(), 1));
        scorer("bandwidth_score", (n, m, p) -> free(n.bandwidthBps() + p.bps(n), n.maxBandwidthBps(), m.bitsPerSecond()));
        policy("weighted", Stages::weighted);
        policy("best", Stages::best);
        policy("random", (scores, count, random) -> random.nextInt(count));
    }

    /** The share left free, or with no limit, 1 / (1 + use in units). Never 0, so weighted picks stay possible. */
    private static double free(long used, long limit, long unit) {
        if (limit <= 0) {
            return 1.0 / (1.0 + (double) used / Math.max(1, unit));
        }
        return Math.max(1e-6, (double) (limit - used) / limit);
    }

    private static int weighted(double[] scores, int count, RandomGenerator random) {
        double total = 0;
        for (int i = 0; i < count; i++) {
            total += scores[i];
        }
        double x = random.nextDouble() * total;
        for (int i = 0; i < count; i++) {
            x -= scores[i];
            if (x < 0) {
                return i;
            }
        }
        return count - 1;
    }

    private static int best(double[] scores, int count, RandomGenerator random) {
        int best = 0;
        int ties = 1;
        for (int i = 1; i < count; i++) {
            if (scores[i] > scores[best]) {
                best = i;
                ties = 1;
            } else if (scores[i] == scores[best] && random.nextInt(++ties) == 0) {
                best = i; // uniform among equals
            }
        }
        return best;
    }

    private interface F {
        boolean test(NodeStatus n, ClusterSnapshot v, Mount m, Predictions p);
    }

    private interface S {
        double score(NodeStatus n, Mount m, Predictions p);
    }

    private interface P {
        int pick(double[] scores, int count, RandomGenerator random);
    }

    private static void filter(String name, F f) {
        ALL.put(name, new Stage.Filter() {
            @Override
            public boolean accepts(NodeStatus node, ClusterSnapshot view, Mount mount, Predictions predicted) {
                return f.test(node, view, mount, predicted);
            }

            @Override
            public String name() {
                return name;
            }
        });
    }

    private static void scorer(String name, S s) {
        ALL.put(name, new Stage.Scorer() {
            @Override
            public double score(NodeStatus node, Mount mount, Predictions predicted) {
                return s.score(node, mount, predicted);
            }

            @Override
            public String name() {
                return name;
            }
        });
    }

    private static void policy(String name, P p) {
        ALL.put(name, new Stage.Policy() {
            @Override
            public int pick(double[] scores, int count, RandomGenerator random) {
                return p.pick(scores, count, random);
            }

            @Override
            public String name() {
                return name;
            }
        });
    }
}
