package radiod.redirector.balance;

import java.util.random.RandomGenerator;

import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/**
 * One named step of the load-balancing pipeline. Stages see a node's <em>predicted</em> load: what it last
 * published plus what this node has sent it since ({@link Predictions}).
 */
public sealed interface Stage permits Stage.Filter, Stage.Scorer, Stage.Policy {
    /** The name used in the pipeline string, e.g. {@code listeners_available}. */
    String id();

    /** Drops nodes that must not take the listener. */
    non-sealed interface Filter extends Stage {
        /**
         * @param listeners predicted listeners on the node, all mounts
         * @param bps       predicted outgoing bandwidth of the node, bits per second
         */
        boolean accepts(NodeStatus node, int listeners, long bps, Mount mount, ClusterSnapshot view);
    }

    /**
     * Weighs the nodes that passed the filters: a score is 0 or more, higher is better. The pipeline multiplies the
     * scores of all its scorers, so one capacity scorer gives a fill proportional to free capacity.
     */
    non-sealed interface Scorer extends Stage {
        double score(NodeStatus node, int listeners, long bps, Mount mount);
    }

    /** Picks one candidate; the pipeline's last stage. */
    non-sealed interface Policy extends Stage {
        /**
         * @param scores the candidates' scores in {@code [0, count)}
         * @return the index of the chosen candidate
         */
        int pick(double[] scores, int count, RandomGenerator random);
    }
}
