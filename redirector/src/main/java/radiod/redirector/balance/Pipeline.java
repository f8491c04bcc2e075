package radiod.redirector.balance;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/**
 * The load-balancing pipeline: filters drop nodes, scorers weigh the rest, one policy picks. Built from a
 * comma-separated list of stage names, e.g. {@code icecast_active,listeners_available,listeners_score,weighted}.
 * Every pick is added to the {@link Predictions}, so the next pick already sees it.
 */
public final class Pipeline {
    public static final String DEFAULT =
            "icecast_active,not_drained,listeners_available,bandwidth_available,has_mount,listeners_score,weighted";

    private final String spec;
    private final Stage.Filter[] filters;
    private final Stage.Scorer[] scorers;
    private final Stage.Policy policy;
    private final Predictions predictions = new Predictions();

    private Pipeline(String spec, List<Stage.Filter> filters, List<Stage.Scorer> scorers, Stage.Policy policy) {
        this.spec = spec;
        this.filters = filters.toArray(Stage.Filter[]::new);
        this.scorers = scorers.toArray(Stage.Scorer[]::new);
        this.policy = policy;
    }

    /** @throws IllegalArgumentException naming an unknown stage and listing the valid ones */
    public static Pipeline parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("balancer.pipeline is empty: use stages from " + valid());
        }
        List<Stage.Filter> filters = new ArrayList<>();
        List<Stage.Scorer> scorers = new ArrayList<>();
        Stage.Policy policy = null;
        String[] names = spec.split(",");
        for (int i = 0; i < names.length; i++) {
            String name = names[i].trim().toLowerCase(Locale.ROOT);
            Stage stage = Stages.ALL.get(name);
            if (stage == null) {
                throw new IllegalArgumentException("balancer.pipeline: unknown stage '" + name + "'; valid stages: " + valid());
            }
            if (policy != null) {
                throw new IllegalArgumentException("balancer.pipeline: '" + policy.name()
                        + "' is a policy and must come last (found '" + name + "' after it)");
            }
            if (stage instanceof Stage.Filter f) {
                filters.add(f);
            } else if (stage instanceof Stage.Scorer s) {
                scorers.add(s);
            } else {
                policy = (Stage.Policy) stage;
            }
        }
        if (policy == null) {
            throw new IllegalArgumentException("balancer.pipeline must end with a policy: weighted, best or random");
        }
        return new Pipeline(spec, filters, scorers, policy);
    }

    public static String valid() {
        return String.join(", ", Stages.ALL.keySet());
    }

    public String spec() {
        return spec;
    }

    public Predictions predictions() {
        return predictions;
    }

    /** Picks the node for one listener of {@code mount}, or empty if no node passes the filters. */
    public Optional<NodeStatus> choose(ClusterSnapshot view, Mount mount) {
        return choose(view, mount, ThreadLocalRandom.current());
    }

    public Optional<NodeStatus> choose(ClusterSnapshot view, Mount mount, RandomGenerator random) {
        Collection<NodeStatus> nodes = view.nodes().values();
        int n = nodes.size();
        NodeStatus[] candidates = new NodeStatus[n];
        double[] scores = new double[n];
        int count = 0;
        outer:
        for (NodeStatus node : nodes) {
            for (Stage.Filter f : filters) {
                if (!f.accepts(node, view, mount, predictions)) {
                    continue outer;
                }
            }
            double score = 1.0;
            for (Stage.Scorer s : scorers) {
                score *= s.score(node, mount, predictions);
            }
            candidates[count] = node;
            scores[count] = score;
            count++;
        }
        if (count == 0) {
            return Optional.empty();
        }
        NodeStatus chosen = candidates[count == 1 ? 0 : policy.pick(scores, count, random)];
        predictions.add(chosen, mount.bitsPerSecond());
        return Optional.of(chosen);
    }
}
