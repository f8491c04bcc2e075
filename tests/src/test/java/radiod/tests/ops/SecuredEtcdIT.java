package radiod.tests.ops;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import picocli.CommandLine;
import radiod.radioctl.Main;
import radiod.tests.harness.Encoder;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodCluster.EtcdAccess;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;
import radiod.testkit.TestCertificates;

/**
 * radiod processes and radioctl against an etcd that demands TLS client certificates, and against one with
 * user/password authentication: a master is elected, radioctl creates a mount, an encoder through a relay is heard
 * through the other node, and killing the master moves mastership (leases and watches work with the credentials).
 */
class SecuredEtcdIT {

    static void clusterWorks(EtcdCluster etcd, EtcdAccess access, List<String> radioctlCredentials) throws Exception {
        try (RadiodCluster cluster = new RadiodCluster(etcd, 2, 3, access).start()) {
            RadiodProcess master = cluster.awaitReady(Duration.ofSeconds(30));
            List<String> args = new ArrayList<>(List.of("--endpoints", etcd.endpointsCsv(), "--prefix", cluster.prefix()));
            args.addAll(radioctlCredentials);
            assertEquals(0, radioctl(args, "create-mount", "/secure.mp3", "--password", "secure-pw", "--bitrate", "128"));
            RadiodProcess relay = cluster.nodes().stream().filter(n -> n != master).findFirst().orElseThrow();
            try (Encoder encoder = new Encoder("icecast://source:secure-pw@" + relay.address() + ":" + cluster.sourcePort + "/secure.mp3")) {
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> Streams.isMp3(Streams.read(relay.httpUrl("/secure.mp3"), 8192, 3000)));
                assertEquals(0, radioctl(args, "status"));
                master.kill();
                await().atMost(Duration.ofSeconds(15)).until(() -> cluster.master().filter(m -> m == relay).isPresent());
                assertNotEquals(master, cluster.master().orElseThrow());
            }
        }
    }

    static int radioctl(List<String> common, String... command) {
        CommandLine cli = Main.commandLine(new Main(Map.of(), Path.of("/nonexistent/radioctl.yml")));
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(new StringWriter(), true));
        cli.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(common);
        all.addAll(List.of(command));
        int exit = cli.execute(all.toArray(String[]::new));
        if (exit != 0) {
            System.out.println("radioctl " + all + " exited " + exit + ": " + err);
        }
        return exit;
    }

    @Nested
    class WithClientCertificates {
        @RegisterExtension
        static final EtcdCluster etcd = EtcdCluster.singleWithClientCertificates();

        @Test
        void radiodAndRadioctlWorkWithTheClientCertificate() throws Exception {
            TestCertificates c = etcd.certificates();
            clusterWorks(etcd, new EtcdAccess(null, null, c), List.of("--cacert", c.ca().toString(), "--cert",
                    c.clientCert().toString(), "--key", c.clientKey().toString()));
        }
    }

    @Nested
    class WithUserAndPassword {
        @RegisterExtension
        static final EtcdCluster etcd = EtcdCluster.single();

        @Test
        void radiodAndRadioctlWorkWithTheUser() throws Exception {
            etcd.enableAuth("etcd-root-pw");
            clusterWorks(etcd, new EtcdAccess("root", "etcd-root-pw", null), List.of("--etcd-user", "root", "--etcd-password",
                    "etcd-root-pw"));
        }
    }
}
