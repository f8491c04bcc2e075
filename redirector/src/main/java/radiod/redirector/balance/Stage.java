package radiod.redirector.balance;

import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/** One named step of the load-balancing pipeline. */
public sealed interface Stage permits Stage.Filter, Stage.Scorer, Stage.Policy {
    String name();

    /** Drops nodes that must not take the listener. */
    non-sealed interface Filter extends Stage {
        boolean accepts(NodeStatus node, ClusterSnapshot view, Mount mount, Predictions predicted);
    }

    /** Weighs nodes: the pipeline multiplies the scores of all scorers (each in (0, 1]). */
    non-sealed interface Scorer extends Stage {
        double score(NodeStatus node, Mount mount, Predictions predicted);
    }

    /** Picks one node from the candidates and their scores. */
    non-sealed interface Policy extends Stage {
        /** @return the index of the chosen candidate */
        int pick(double[] scores, int count, java.util.random.RandomGenerator random);
    }
}
