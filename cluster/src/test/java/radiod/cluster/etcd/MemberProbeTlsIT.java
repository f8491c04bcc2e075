package radiod.cluster.etcd;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import radiod.testkit.EtcdCluster;
import radiod.testkit.TestCertificates;

/** The member probe over TLS with client certificates, as a production cluster would have it. */
class MemberProbeTlsIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.ofSizeWithClientCertificates(3);

    static boolean isLeader(EtcdConnection connection, EtcdCluster.Member m) {
        var status = EtcdClients.await(connection.getMaintenanceClient().statusMember("127.0.0.1:" + m.clientPort()), 3000,
                "status of " + m.name());
        return status.getLeader() == status.getHeader().getMemberId();
    }

    @Test
    void everyMemberAnswersOverTlsAndAFrozenOneIsLeft() throws Exception {
        TestCertificates c = etcd.certificates();
        EtcdOptions options = new EtcdOptions(etcd.endpoints(), "/probe-tls/", null, null, c.ca(), c.clientCert(),
                c.clientKey(), Duration.ofSeconds(1));
        EtcdCluster.Member paused = null;
        try (EtcdConnection connection = EtcdConnection.open(options);
             MemberProbe probe = new MemberProbe(connection, options, Duration.ofMillis(500)).start()) {
            // Two failed rounds keep a member away and three good ones take it back, so a probe that cannot speak
            // TLS never gets here: every member would stay away from the second round on. A busy machine's first
            // rounds may be slow (a cold JVM's first answers), hence a wait rather than a look after round 3.
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> probe.rounds() >= MemberHealth.ANSWERS_TO_RETURN && probe.keptAway().isEmpty());
            assertEquals(Map.of(), probe.keptAway(), "each member answers its status over TLS");
            assertEquals(etcd.endpoints(), connection.endpoints());

            // A follower, so that the others keep their leader throughout.
            int follower = 0;
            while (isLeader(connection, etcd.member(follower))) {
                follower++;
            }
            paused = etcd.member(follower);
            paused.pause();
            String frozen = paused.endpoint();
            await().atMost(Duration.ofMillis(2000)).until(() -> !connection.endpoints().contains(frozen));
            assertEquals(List.of(frozen), List.copyOf(probe.keptAway().keySet()));
            EtcdClients.await(connection.getKVClient().put(Keys.bytes("/probe-tls/k"), Keys.bytes("v")), 3000,
                    "a put through the rebuilt client");

            paused.resume();
            paused = null;
            await().atMost(Duration.ofSeconds(5)).until(() -> connection.endpoints().equals(etcd.endpoints()));
        } finally {
            if (paused != null) {
                paused.resume();
            }
        }
    }
}
