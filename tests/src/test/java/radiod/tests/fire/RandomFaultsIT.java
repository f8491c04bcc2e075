package radiod.tests.fire;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.RunsAlone;
import radiod.testkit.Processes;

/**
 * Faults drawn at random (node and Icecast kills, a frozen master, an etcd member's kill, a restart), at random
 * moments, seeded and reproducible: after each, every listener must hear audio again within
 * {@link Fire#REJOIN_BOUND}, a plain encoder on a spared node must not have been dropped, and the invariants must
 * hold. {@code bin/test} runs a short run (4 faults,
 * seed 7); the long one is {@code bin/fire 30 <seed>} (see README). The seed and every fault go to stdout.
 */
@RunsAlone
class RandomFaultsIT {
    static Fire fire;

    @BeforeAll
    static void start() {
        fire = new Fire(1);
    }

    @AfterAll
    static void stop() {
        if (fire != null) {
            fire.close();
        }
    }

    enum Fault { KILL_MASTER, KILL_RELAY, KILL_TRANSCODER_NODE, KILL_ICECAST, FREEZE_MASTER, KILL_ETCD_MEMBER, RESTART_NODE }

    @Test
    void randomFaults() {
        long seed = Long.getLong("fire.seed", 7);
        int faults = Integer.getInteger("fire.faults", 4);
        Random random = new Random(seed);
        Fire.report("random run: seed " + seed + ", " + faults + " faults");
        List<Fire.Outcome> all = new ArrayList<>();
        for (int i = 1; i <= faults; i++) {
            Fault f = Fault.values()[random.nextInt(Fault.values().length)];
            Fire.sleep(random.nextInt(3000));
            long downMs = 500 + random.nextInt(3500);
            Set<RadiodProcess> victims = victims(f, downMs);
            // A plain encoder where its node is spared; a retrying one where its own node is the victim.
            // Decided before the fault: afterwards a retrying encoder is on another node, which the victims spared.
            boolean encoderSpared = !victims.contains(fire.encoderNode());
            if (encoderSpared) {
                fire.plainEncoderAwayFrom(victims);
            } else {
                fire.retryingEncoderOn(fire.encoderNode());
            }
            Fire.Before b = fire.before();
            String what = i + "/" + faults + " " + inject(f, downMs, victims);
            Fire.Outcome o = fire.recovered(what, b, victims);
            o.assertEveryoneBack();
            if (encoderSpared) {
                o.assertEncoderKept();
            }
            all.add(o);
            fire.oneTranscoder();
            fire.settle(Duration.ofSeconds(60));
        }
        List<Long> gaps = new ArrayList<>();
        all.forEach(g -> {
            gaps.addAll(g.surviving().values());
            gaps.addAll(g.rejoining().values());
            gaps.addAll(g.transcoded().values());
        });
        gaps.sort(null);
        Fire.report(String.format("random run seed %d: %d faults, listener gaps median %.2f s, worst %.2f s", seed, faults,
                gaps.get(gaps.size() / 2) / 1000.0, gaps.get(gaps.size() - 1) / 1000.0));
        // Each node (radiod, its Icecast and transcoders, an etcd member) within 512 MiB throughout.
        fire.assertMemoryBound();
    }

    /** The nodes a fault will take (kill, freeze, restart, or kill its Icecast), as {@link #inject} picks them. */
    static Set<RadiodProcess> victims(Fault f, long downMs) {
        RadiodProcess master = fire.master();
        RadiodProcess relay = fire.cluster.nodes().stream().filter(n -> n != master).findFirst().orElseThrow();
        return switch (f) {
            case KILL_MASTER, FREEZE_MASTER -> Set.of(master);
            case KILL_RELAY, KILL_ICECAST -> Set.of(relay);
            case KILL_TRANSCODER_NODE -> Set.of(fire.transcoderNode());
            case KILL_ETCD_MEMBER -> Set.of();
            case RESTART_NODE -> Set.of(fire.cluster.node((int) (downMs % 3)));
        };
    }

    /**
     * Injects the fault on the victims {@link #victims} chose (not on whoever holds the role now: the master or the
     * transcoder may have moved while the encoder was placed, and the outcome is judged against those victims),
     * leaves it for {@code downMs} (the lease TTL and a second for a freeze), and repairs it.
     */
    static String inject(Fault f, long downMs, Set<RadiodProcess> victims) {
        switch (f) {
            case KILL_MASTER, KILL_RELAY, KILL_TRANSCODER_NODE -> {
                RadiodProcess victim = victims.iterator().next();
                victim.kill();
                Fire.sleep(downMs);
                victim.start();
                return f + " " + victim.name() + ", back after " + downMs + " ms";
            }
            case KILL_ICECAST -> {
                RadiodProcess relay = victims.iterator().next();
                relay.icecast().ifPresent(ProcessHandle::destroyForcibly);
                return f + " on " + relay.name();
            }
            case FREEZE_MASTER -> {
                RadiodProcess master = victims.iterator().next();
                Processes.signal(master.pid(), "STOP");
                try {
                    await().atMost(Duration.ofSeconds(Fire.TTL + 5))
                            .until(() -> fire.cluster.master().filter(m -> m != master).isPresent());
                } finally {
                    Processes.signal(master.pid(), "CONT");
                }
                return f + " " + master.name() + " until another was master";
            }
            case KILL_ETCD_MEMBER -> {
                int m = (int) (downMs % 3);
                fire.etcd.member(m).kill();
                Fire.sleep(downMs);
                fire.etcd.member(m).restart();
                return f + " " + m + ", back after " + downMs + " ms";
            }
            case RESTART_NODE -> {
                RadiodProcess n = fire.cluster.node((int) (downMs % 3));
                n.stop();
                n.start();
                return f + " " + n.name() + " (SIGTERM, start)";
            }
            default -> throw new IllegalStateException(f.toString());
        }
    }
}
