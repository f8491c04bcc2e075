package radiod.cluster.etcd;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import radiod.testkit.EtcdCluster;

/**
 * A single-member etcd (the demo's, or a station's one etcd) down for a while and back: the node's client talks to it
 * again within a probe round or two of its return, not at gRPC's next reconnect attempt, whose backoff grows from 1 s
 * by 1.6 times per failed attempt (to 2 minutes), because the probe has the connection renew its client.
 */
class SingleMemberRestartIT {
    static final Duration PERIOD = Duration.ofMillis(500);
    /** Long enough for the client's backoff to reach several seconds (1 + 1.6 + 2.6 + 4.1 s ... of attempts). */
    static final Duration OUTAGE = Duration.ofSeconds(8);

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    @Test
    void theClientTalksToEtcdWithinTwoSecondsOfItsReturnAfterEveryMemberWasUnreachable() throws Exception {
        EtcdOptions options = EtcdOptions.of(etcd.endpoints()).withPrefix("/single/");
        try (EtcdConnection connection = EtcdConnection.open(options);
             MemberProbe probe = new MemberProbe(connection, options, PERIOD).start()) {
            EtcdClients.await(connection.getKVClient().put(Keys.bytes("/single/k"), Keys.bytes("v")), 5000, "put");
            // Counted from here: on a busy machine the probe can renew once already at the start (a just-started etcd
            // slow to give its status, then answering again).
            long renewed = connection.reconnects();
            etcd.member(0).stop();
            long stopped = System.nanoTime();
            long rounds = probe.rounds();
            // Calls while it is down, as a node's keep-alives and reads make: each failed connection attempt grows
            // the client's backoff. The outage is counted in the probe's rounds, each one period long.
            await().atMost(OUTAGE.plusSeconds(10)).pollInterval(Duration.ofMillis(250)).until(() -> {
                try {
                    EtcdClients.await(connection.getKVClient().get(Keys.bytes("/single/k")), 200, "get while down");
                } catch (RuntimeException expected) {
                    // down: that is the point
                }
                return probe.rounds() - rounds >= OUTAGE.toMillis() / PERIOD.toMillis();
            });
            assertEquals(renewed, connection.reconnects(), "nothing to renew while etcd is down");
            etcd.member(0).restart();
            long back = System.nanoTime();
            // Renewed, and the renewed client answers (the old one could get lucky and reconnect in time on its own).
            await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20)).until(() -> {
                if (connection.reconnects() != renewed + 1) {
                    return false;
                }
                try {
                    EtcdClients.await(connection.getKVClient().get(Keys.bytes("/single/k")), 200, "get");
                    return true;
                } catch (RuntimeException notYet) {
                    return false;
                }
            });
            long answered = System.nanoTime();
            System.out.printf("etcd down %d ms; a renewed client answered %d ms after it was back%n",
                    Duration.ofNanos(back - stopped).toMillis(), Duration.ofNanos(answered - back).toMillis());
            await().during(Duration.ofMillis(3 * PERIOD.toMillis())).until(() -> connection.reconnects() == renewed + 1);
        }
    }
}
