package radiod.redirector.balance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;

import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/**
 * The load-balancing pipeline: filters drop nodes, scorers weigh the rest, one policy picks. Built from a
 * comma-separated list of stage names, e.g. {@code icecast_active,listeners_available,listeners_score,weighted}.
 *
 * <p>Every decision is added to the pipeline's {@link Predictions} before it is returned, so the next decision
 * already sees it; a newer status of the node replaces the estimate. Thread-safe and lock-free: concurrent
 * decisions reserve capacity with one atomic add each, and a decision that loses the race for a node's last slot
 * takes its reservation back and decides again. Far from a node's limits (room for {@value #ROOM_PER_THREAD} listeners
 * per thread deciding, 1,024 at least), a thread reserves {@value #AHEAD} listeners in one add and hands them out to
 * its next decisions for that node and bitrate without touching the shared estimate, which event loops deciding side
 * by side would otherwise write on every decision (two threads deciding back to back: 290–311 ns a decision without
 * this, 105–163 ns with it; DecisionBench, bench/RESULTS.md). Near a limit, each listener is reserved alone and
 * re-checked, so no node is ever filled past a limit; what threads hold ahead (at most {@value #AHEAD} - 1 per thread
 * and node, under 3% of that room) counts as taken until the node's next status, for everyone but their holder. The
 * room grows with the threads (16 event loops: 8,192 listeners), so on a many-core node only nodes with that much
 * room free are reserved ahead for; the others are decided as before, one add per listener.
 */
public final class Pipeline {
    /** Every filter, free listener slots as the weight, a weighted random pick. */
    public static final String DEFAULT =
            "icecast_active,not_drained,listeners_available,bandwidth_available,has_mount,listeners_score,weighted";

    private static final Map<String, Stage> STAGES = new LinkedHashMap<>();
    /** Races lost for a last slot before giving up on this request (each loss means capacity is running out). */
    private static final int ATTEMPTS = 8;
    /** Listeners a thread reserves on a node in one add when the node is far from its limits. */
    static final int AHEAD = 16;
    /**
     * How far from its limits a node must be for a thread to reserve ahead: room for this many listeners (and their
     * bandwidth) per thread deciding, and for {@link #MIN_ROOM} at least. So what the threads hold ahead, at most
     * {@link #AHEAD} - 1 each, stays under 3% of a node's free room, and the weighted spread barely moves.
     */
    private static final int ROOM_PER_THREAD = 32 * AHEAD;
    private static final int MIN_ROOM = 64 * AHEAD;

    static {
        for (Stage s : Filters.values()) {
            STAGES.put(s.id(), s);
        }
        for (Stage s : Scorers.values()) {
            STAGES.put(s.id(), s);
        }
        for (Stage s : Policies.values()) {
            STAGES.put(s.id(), s);
        }
    }

    /**
     * A thread's working arrays for a decision, grown to the largest cluster seen: a listener rush makes no garbage
     * here (they were 15% of the lean redirect path's allocations). A policy reads only the first {@code count}.
     */
    private static final class Scratch {
        int[] index = new int[0];
        double[] scores = new double[0];
        long[] seen = new long[0];
        /**
         * By node (its place in the sorted nodes): the estimate this thread holds listeners of, reserved ahead in one
         * add, and how many of them are still to hand out. Only this thread reads or writes them.
         */
        Predictions.Estimate[] heldOf = new Predictions.Estimate[0];
        int[] held = new int[0];
        /** The bitrate they were reserved with: only a listener of the same bitrate takes one. */
        long[] heldBps = new long[0];
        /** The estimate's packed load just before the reservation ahead was added to it. */
        long[] heldBase = new long[0];

        Scratch fit(int n) {
            if (index.length < n) {
                index = new int[n];
                scores = new double[n];
                seen = new long[n];
                heldOf = new Predictions.Estimate[n];
                held = new int[n];
                heldBps = new long[n];
                heldBase = new long[n];
            }
            return this;
        }
    }


    /**
     * The nodes of one snapshot's node map, in name order so that seeded decisions are reproducible, and beside each
     * its slot in the predictions.
     */
    private record Nodes(Map<String, NodeStatus> source, NodeStatus[] sorted, Predictions.Slot[] slots) {
    }

    private final String spec;
    private final Stage.Filter[] filters;
    private final Stage.Scorer[] scorers;
    private final Stage.Policy policy;
    private final Predictions predictions = new Predictions();
    /** Threads that have decided with this pipeline (a node's event loops), for the room {@link #AHEAD} needs. */
    private final AtomicInteger threads = new AtomicInteger();
    /** Per pipeline: what a thread holds ahead belongs to this pipeline's estimates. */
    private final ThreadLocal<Scratch> scratches = ThreadLocal.withInitial(() -> {
        threads.incrementAndGet();
        return new Scratch();
    });
    private volatile Nodes nodes = new Nodes(Map.of(), new NodeStatus[0], new Predictions.Slot[0]);

    private Pipeline(String spec, List<Stage.Filter> filters, List<Stage.Scorer> scorers, Stage.Policy policy) {
        this.spec = spec;
        this.filters = filters.toArray(Stage.Filter[]::new);
        this.scorers = scorers.toArray(Stage.Scorer[]::new);
        this.policy = policy;
    }

    /**
     * @throws IllegalArgumentException naming the bad stage and listing the valid ones, or saying where the policy
     *                                  goes
     */
    public static Pipeline parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("pipeline is empty: list stages separated by commas, ending with a policy, "
                    + "e.g. " + DEFAULT + " (valid stages: " + String.join(", ", stageNames()) + ")");
        }
        List<Stage.Filter> filters = new ArrayList<>();
        List<Stage.Scorer> scorers = new ArrayList<>();
        Stage.Policy policy = null;
        List<String> names = new ArrayList<>();
        for (String raw : spec.split(",", -1)) {
            String name = raw.trim().toLowerCase(Locale.ROOT);
            Stage stage = STAGES.get(name);
            if (stage == null) {
                throw new IllegalArgumentException("pipeline '" + spec + "': " + (name.isEmpty() ? "empty stage name"
                        : "unknown stage '" + name + "'") + "; valid stages: " + String.join(", ", stageNames()));
            }
            if (policy != null) {
                throw new IllegalArgumentException("pipeline '" + spec + "': the policy '" + policy.id()
                        + "' must be the last stage, found '" + name + "' after it");
            }
            names.add(name);
            if (stage instanceof Stage.Filter f) {
                filters.add(f);
            } else if (stage instanceof Stage.Scorer s) {
                scorers.add(s);
            } else {
                policy = (Stage.Policy) stage;
            }
        }
        if (policy == null) {
            throw new IllegalArgumentException("pipeline '" + spec + "' must end with a policy: one of "
                    + String.join(", ", ids(Policies.values())));
        }
        return new Pipeline(String.join(",", names), filters, scorers, policy);
    }

    /** Every stage name, filters first, then scorers, then policies. */
    public static List<String> stageNames() {
        return List.copyOf(STAGES.keySet());
    }

    /** The stages, normalised: lower case, comma-separated, no blanks. */
    public String spec() {
        return spec;
    }

    /** Picks the node for one listener of {@code mount} and counts it there, or empty if no node passes the filters. */
    public Optional<NodeStatus> choose(ClusterSnapshot view, Mount mount) {
        return choose(view, mount, ThreadLocalRandom.current());
    }

    /** As {@link #choose(ClusterSnapshot, Mount)}, drawing from {@code random} (for reproducible tests). */
    public Optional<NodeStatus> choose(ClusterSnapshot view, Mount mount, RandomGenerator random) {
        return decide(view, mount, random, true);
    }

    /** The same decision as {@link #choose}, counted nowhere: for a HEAD, which brings no listener. */
    public Optional<NodeStatus> preview(ClusterSnapshot view, Mount mount) {
        return decide(view, mount, ThreadLocalRandom.current(), false);
    }

    private Optional<NodeStatus> decide(ClusterSnapshot view, Mount mount, RandomGenerator random, boolean reserve) {
        Nodes known = nodesOf(view);
        NodeStatus[] all = known.sorted;
        Predictions.Slot[] slots = known.slots;
        int n = all.length;
        if (n == 0) {
            return Optional.empty();
        }
        long unitBps = mount.bitsPerSecond();
        Scratch scratch = scratches.get().fit(n);
        int room = Math.max(MIN_ROOM, ROOM_PER_THREAD * threads.get());
        int[] index = scratch.index;
        double[] scores = scratch.scores;
        long[] seen = scratch.seen;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            int count = 0;
            for (int i = 0; i < n; i++) {
                NodeStatus node = all[i];
                Predictions.Estimate current = slots[i].current(node);
                long extra = current == null ? 0 : current.packed();
                boolean holds = current != null && scratch.heldOf[i] == current && scratch.held[i] > 0
                        && scratch.heldBps[i] == unitBps;
                if (holds) {
                    // What this thread reserved ahead for this bitrate is still free for it (so its last ones are
                    // not lost to it when the others have taken the rest).
                    extra -= Predictions.units(unitBps, scratch.held[i]);
                }
                int listeners = node.listeners() + Predictions.listeners(extra);
                long bps = node.bandwidthBps() + Predictions.bps(extra);
                if (!accepts(node, listeners, bps, mount, view)) {
                    if (!holds) {
                        continue;
                    }
                    // Another thread's reservation in flight (taken back in a moment: a race lost for the last slot)
                    // can make the node look full to this one, whose next listener is counted and fitted already:
                    // judged by the load its reservation was added to, plus the ones it has handed out, instead.
                    extra = scratch.heldBase[i] + Predictions.units(unitBps, AHEAD - scratch.held[i]);
                    listeners = node.listeners() + Predictions.listeners(extra);
                    bps = node.bandwidthBps() + Predictions.bps(extra);
                    if (!accepts(node, listeners, bps, mount, view)) {
                        continue;
                    }
                }
                double score = 1.0;
                for (Stage.Scorer s : scorers) {
                    score *= s.score(node, listeners, bps, mount);
                }
                index[count] = i;
                scores[count] = score;
                seen[count] = extra;
                count++;
            }
            if (count == 0) {
                return Optional.empty();
            }
            int k = count == 1 ? 0 : policy.pick(scores, count, random);
            int at = index[k];
            NodeStatus chosen = all[at];
            if (!reserve) {
                return Optional.of(chosen);
            }
            Predictions.Estimate estimate = slots[at].estimateFor(chosen);
            if (scratch.heldOf[at] == estimate && scratch.held[at] > 0 && scratch.heldBps[at] == unitBps) {
                scratch.held[at]--; // reserved ahead by this thread: counted already, and known to fit
                return Optional.of(chosen);
            }
            boolean holding = scratch.heldOf[at] == estimate && scratch.held[at] > 0; // of another bitrate: kept
            if (!holding && roomFor(chosen, seen[k], room, unitBps, mount, view)) {
                long before = estimate.reserve(unitBps, AHEAD);
                if (roomFor(chosen, before, room, unitBps, mount, view)) {
                    scratch.heldOf[at] = estimate;
                    scratch.held[at] = AHEAD - 1;
                    scratch.heldBps[at] = unitBps;
                    scratch.heldBase[at] = before;
                    return Optional.of(chosen);
                }
                estimate.release(unitBps, AHEAD);
            }
            long before = estimate.reserve(unitBps, 1);
            if (before == seen[k] || roomFor(chosen, before, 1, unitBps, mount, view)) {
                return Optional.of(chosen);
            }
            estimate.release(unitBps, 1);
        }
        return Optional.empty();
    }

    /**
     * Whether the node, with {@code extra} on top of its status, passes the filters with {@code count - 1} more
     * listeners of {@code unitBps}: i.e. has room for {@code count} listeners, the one deciding among them (the
     * filters are monotone: more load never lets a node through that less load stops).
     */
    private boolean roomFor(NodeStatus node, long extra, int count, long unitBps, Mount mount, ClusterSnapshot view) {
        return accepts(node, node.listeners() + Predictions.listeners(extra) + count - 1,
                node.bandwidthBps() + Predictions.bps(extra) + (count - 1) * unitBps, mount, view);
    }

    /** Listeners this pipeline has counted on the node since its status (those reserved ahead included): for tests. */
    int reservedOn(NodeStatus node) {
        return Predictions.listeners(predictions.extra(node));
    }

    private boolean accepts(NodeStatus node, int listeners, long bps, Mount mount, ClusterSnapshot view) {
        for (Stage.Filter f : filters) {
            if (!f.accepts(node, listeners, bps, mount, view)) {
                return false;
            }
        }
        return true;
    }

    private Nodes nodesOf(ClusterSnapshot view) {
        Map<String, NodeStatus> source = view.nodes();
        Nodes cached = nodes;
        if (cached.source != source) {
            NodeStatus[] sorted = source.values().toArray(NodeStatus[]::new);
            Arrays.sort(sorted, Comparator.comparing(NodeStatus::name));
            predictions.retain(source);
            Predictions.Slot[] slots = new Predictions.Slot[sorted.length];
            for (int i = 0; i < sorted.length; i++) {
                slots[i] = predictions.slot(sorted[i].name());
            }
            cached = new Nodes(source, sorted, slots);
            nodes = cached;
        }
        return cached;
    }

    private static List<String> ids(Stage[] stages) {
        List<String> ids = new ArrayList<>();
        for (Stage s : stages) {
            ids.add(s.id());
        }
        return ids;
    }

    @Override
    public String toString() {
        return spec;
    }
}
