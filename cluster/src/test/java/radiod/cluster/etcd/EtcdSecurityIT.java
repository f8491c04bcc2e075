package radiod.cluster.etcd;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.Client;
import radiod.cluster.model.Json;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterView;
import radiod.testkit.EtcdCluster;
import radiod.testkit.TestCertificates;

/** radiod's etcd primitives against an etcd that demands TLS client certificates, and one with user/password auth. */
class EtcdSecurityIT {

    private static void sessionAndViewWork(EtcdOptions options) {
        try (Client client = EtcdClients.connect(options)) {
            EtcdSession session = new EtcdSession(client, Duration.ofSeconds(3)).start();
            ClusterView view = new ClusterView(client, options.keys(), Duration.ofSeconds(2)).start();
            await().atMost(Duration.ofSeconds(10)).until(() -> session.validLease().isPresent());
            Mount m = new Mount("/secure.mp3", null, "pw", null, null, 0, 0, null);
            EtcdClients.await(client.getKVClient().put(options.keys().mount(m.path()),
                    io.etcd.jetcd.ByteSequence.from(Json.encode(m))), options, "put");
            await().atMost(Duration.ofSeconds(5)).until(() -> view.current().mounts().containsKey("/secure.mp3"));
            view.close();
            session.close();
        }
    }

    @Nested
    class WithClientCertificates {
        @RegisterExtension
        static final EtcdCluster etcd = EtcdCluster.singleWithClientCertificates();

        @Test
        void aSessionAndAViewWorkWithTheClientCertificate() {
            TestCertificates c = etcd.certificates();
            sessionAndViewWork(new EtcdOptions(etcd.endpoints(), null, null, null, c.ca(), c.clientCert(), c.clientKey(),
                    Duration.ofSeconds(3)));
        }

        @Test
        void withoutAClientCertificateEtcdIsRefusedWithinTheTimeout() {
            TestCertificates c = etcd.certificates();
            EtcdOptions noCert = new EtcdOptions(etcd.endpoints(), null, null, null, c.ca(), null, null, Duration.ofSeconds(1));
            try (Client client = EtcdClients.connect(noCert)) {
                assertThrows(EtcdUnavailableException.class,
                        () -> EtcdClients.await(client.getKVClient().get(Keys.bytes("/x")), noCert, "get"));
            }
        }
    }

    @Nested
    class WithUserAndPassword {
        @RegisterExtension
        static final EtcdCluster etcd = EtcdCluster.single();

        @Test
        void aSessionAndAViewWorkWithTheUsersPasswordAndAWrongPasswordIsRefused() {
            etcd.enableAuth("s3cret");
            sessionAndViewWork(new EtcdOptions(etcd.endpoints(), null, "root", "s3cret", null, null, null, Duration.ofSeconds(3)));
            EtcdOptions wrong = new EtcdOptions(etcd.endpoints(), null, "root", "wrong", null, null, null, Duration.ofSeconds(2));
            try (Client client = EtcdClients.connect(wrong)) {
                assertThrows(EtcdUnavailableException.class,
                        () -> EtcdClients.await(client.getKVClient().get(Keys.bytes("/x")), wrong, "get"));
            }
            EtcdOptions anonymous = EtcdOptions.of(etcd.endpoints());
            try (Client client = EtcdClients.connect(anonymous)) {
                var e = assertThrows(EtcdUnavailableException.class,
                        () -> EtcdClients.await(client.getKVClient().put(Keys.bytes("/x"), Keys.bytes("y")), anonymous, "put"));
                assertEquals(true, e.getMessage().length() > 0);
            }
        }
    }
}
