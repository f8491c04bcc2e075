package radiod.redirector.balance;

import java.util.random.RandomGenerator;

/** The policies a pipeline can end with. */
enum Policies implements Stage.Policy {
    /** Random, with probability proportional to score (uniform if every score is 0). */
    WEIGHTED("weighted") {
        @Override
        public int pick(double[] scores, int count, RandomGenerator random) {
            double total = 0;
            for (int i = 0; i < count; i++) {
                total += scores[i];
            }
            if (!(total > 0)) {
                return random.nextInt(count);
            }
            double x = random.nextDouble() * total;
            for (int i = 0; i < count - 1; i++) {
                x -= scores[i];
                if (x < 0) {
                    return i;
                }
            }
            return count - 1;
        }
    },
    /** The highest score; ties are broken uniformly at random so equal nodes share the load. */
    BEST("best") {
        @Override
        public int pick(double[] scores, int count, RandomGenerator random) {
            int best = 0;
            int ties = 1;
            for (int i = 1; i < count; i++) {
                if (scores[i] > scores[best]) {
                    best = i;
                    ties = 1;
                } else if (scores[i] == scores[best] && random.nextInt(++ties) == 0) {
                    best = i;
                }
            }
            return best;
        }
    },
    /** Uniformly random, scores ignored. */
    RANDOM("random") {
        @Override
        public int pick(double[] scores, int count, RandomGenerator random) {
            return random.nextInt(count);
        }
    };

    private final String id;

    Policies(String id) {
        this.id = id;
    }

    @Override
    public String id() {
        return id;
    }
}
