package radiod.tests.ops;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import picocli.CommandLine;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.Keys;
import radiod.radioctl.Main;
import radiod.tests.harness.Encoder;
import radiod.tests.harness.EtcdRoles;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodCluster.EtcdAccess;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;
import radiod.testkit.TestCertificates;
import radiod.testkit.audio.Mp3Frames;

/**
 * radiod processes and radioctl against an etcd that demands TLS client certificates, and against one with
 * authentication and the users and roles production uses (made by the shipped script; root only for that): a
 * master is elected, radioctl creates a mount, an encoder through a relay is heard through the other node, and
 * killing the master moves mastership (leases and watches work with the credentials). With the roles, a read-only
 * radioctl shows the cluster but cannot change it.
 */
class SecuredEtcdIT {
    /** How radioctl was called and what it printed. */
    record Result(int exitCode, String out, String err) {
    }

    /** radioctl in-process: these arguments, this environment (where the etcd password goes). */
    record Radioctl(List<String> args, Map<String, String> env) {
        Result run(String... command) {
            CommandLine cli = Main.commandLine(new Main(env, Path.of("/nonexistent/radioctl.yml")));
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(err, true));
            List<String> all = new ArrayList<>(args);
            all.addAll(List.of(command));
            int exit = cli.execute(all.toArray(String[]::new));
            Result r = new Result(exit, out.toString(), err.toString());
            if (exit != 0) {
                System.out.println("radioctl " + all + " exited " + exit + ": " + r.err());
            }
            return r;
        }

        int exit(String... command) {
            return run(command).exitCode();
        }
    }

    /**
     * @param radioctl         radioctl with the credentials that may change the cluster
     * @param readOnlyRadioctl radioctl with credentials that may only read it, or null
     */
    static void clusterWorks(RadiodCluster cluster, Radioctl radioctl, Radioctl readOnlyRadioctl) throws Exception {
        try (cluster) {
            cluster.start();
            RadiodProcess master = cluster.awaitReady(Duration.ofSeconds(30));
            assertEquals(0, radioctl.exit("create-mount", "/secure.mp3", "--password", "secure-pw", "--bitrate", "128"));
            RadiodProcess relay = cluster.nodes().stream().filter(n -> n != master).findFirst().orElseThrow();
            try (Encoder encoder = new Encoder("icecast://source:secure-pw@" + relay.address() + ":" + cluster.sourcePort + "/secure.mp3")) {
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> Mp3Frames.isMp3(Streams.read(relay.httpUrl("/secure.mp3"), 8192, 3000)));
                assertEquals(0, radioctl.exit("status"));
                if (readOnlyRadioctl != null) {
                    readOnlyCannotChangeTheCluster(cluster, radioctl, readOnlyRadioctl);
                }
                master.kill();
                await().atMost(Duration.ofSeconds(15)).until(() -> cluster.master().filter(m -> m == relay).isPresent());
                assertNotEquals(master, cluster.master().orElseThrow());
                if (readOnlyRadioctl != null) {
                    // A lease of its own and a key under kicks/: the radioctl role covers kick-source.
                    Result kick = radioctl.run("kick-source", "/secure.mp3");
                    assertEquals(0, kick.exitCode(), kick::toString);
                }
            }
        }
    }

    /**
     * The read-only user runs status, show-mount, list-mounts and listeners; every change it tries is refused and
     * nothing is written.
     */
    static void readOnlyCannotChangeTheCluster(RadiodCluster cluster, Radioctl radioctl, Radioctl readOnly) {
        String node = "node9"; // not running: its drain changes nothing in the cluster
        assertEquals(0, readOnly.exit("status"));
        Result show = readOnly.run("show-mount", "/secure.mp3");
        assertEquals(0, show.exitCode(), show::toString);
        assertTrue(show.out().startsWith("mount /secure.mp3\n"), show::toString);
        assertEquals(0, readOnly.exit("list-mounts"));
        Result listeners = readOnly.run("listeners"); // reads the admin token, then asks every node
        assertEquals(0, listeners.exitCode(), listeners::toString);
        String before = keysUnderPrefix(cluster, "mounts/", "drain/", "titles/", "kicks/");

        for (String[] change : new String[][] {
                {"edit-mount", "/secure.mp3", "--max-listeners", "5"},
                {"create-mount", "/other.mp3"},
                {"delete-mount", "/secure.mp3"},
                {"set-title", "/secure.mp3", "read-only title"},
                {"drain", node, "--force"},
                {"kick-source", "/secure.mp3"}}) {
            Result r = readOnly.run(change);
            assertEquals(1, r.exitCode(), () -> String.join(" ", change) + ": " + r);
            assertTrue(r.err().startsWith("radioctl: etcd at " + cluster.etcd().endpointsCsv()
                    + " refused user radioctl-ro this request ("), r::toString);
            assertTrue(r.err().contains("permission denied): its etcd role does not allow it (a read-only user can run "
                    + "status, list-mounts, show-mount and listeners; changes need a user with the radioctl role)\n"),
                    r::toString);
        }
        assertEquals(before, keysUnderPrefix(cluster, "mounts/", "drain/", "titles/", "kicks/"), "nothing was written");

        // The same changes with the read-write user are made.
        assertEquals(0, radioctl.exit("edit-mount", "/secure.mp3", "--max-listeners", "5"));
        assertEquals(0, radioctl.exit("set-title", "/secure.mp3", "Station ID"));
        assertEquals(0, radioctl.exit("drain", node, "--force"));
        assertEquals(0, radioctl.exit("undrain", node));
        assertNotEquals(before, keysUnderPrefix(cluster, "mounts/", "drain/", "titles/", "kicks/"));
    }

    /** Every key under these subtrees of the cluster's prefix, with its value and revisions. */
    static String keysUnderPrefix(RadiodCluster cluster, String... subtrees) {
        StringBuilder sb = new StringBuilder();
        for (String subtree : subtrees) {
            List<KeyValue> kvs = EtcdClients.await(cluster.etcdClient().getKVClient().get(
                    Keys.bytes(cluster.prefix() + subtree), GetOption.builder().isPrefix(true).build()),
                    cluster.etcdOptions(), "reading " + subtree).getKvs();
            for (KeyValue kv : kvs) {
                sb.append(kv.getKey()).append(' ').append(kv.getCreateRevision()).append(' ').append(kv.getModRevision())
                        .append(' ').append(kv.getValue()).append('\n');
            }
        }
        return sb.toString();
    }

    @Nested
    class WithClientCertificates {
        @RegisterExtension
        static final EtcdCluster etcd = EtcdCluster.singleWithClientCertificates();

        @Test
        void radiodAndRadioctlWorkWithTheClientCertificate() throws Exception {
            TestCertificates c = etcd.certificates();
            RadiodCluster cluster = new RadiodCluster(etcd, 2, 3, new EtcdAccess(null, null, c));
            clusterWorks(cluster, new Radioctl(List.of("--endpoints", etcd.endpointsCsv(), "--prefix", cluster.prefix(),
                    "--cacert", c.ca().toString(), "--cert", c.clientCert().toString(), "--key", c.clientKey().toString()),
                    Map.of()), null);
        }
    }

    @Nested
    class WithLeastPrivilegeUsers {
        @RegisterExtension
        static final EtcdCluster etcd = EtcdCluster.single();

        @Test
        void radiodAndRadioctlWorkWithTheirRolesAndAReadOnlyRadioctlCannotChangeTheCluster() throws Exception {
            RadiodCluster cluster = new RadiodCluster(etcd, 2, 3,
                    new EtcdAccess("radiod", EtcdRoles.RADIOD_PASSWORD, null));
            try {
                // etcd's root, for this only: the roles and users, and authentication on.
                EtcdRoles.create(etcd.endpointsCsv(), cluster.prefix());
            } catch (RuntimeException e) {
                cluster.close();
                throw e;
            }
            List<String> common = List.of("--endpoints", etcd.endpointsCsv(), "--prefix", cluster.prefix());
            List<String> ctl = new ArrayList<>(common);
            ctl.addAll(List.of("--etcd-user", "radioctl"));
            List<String> ro = new ArrayList<>(common);
            ro.addAll(List.of("--etcd-user", "radioctl-ro"));
            clusterWorks(cluster, new Radioctl(ctl, Map.of("RADIOCTL_ETCD_PASSWORD", EtcdRoles.RADIOCTL_PASSWORD)),
                    new Radioctl(ro, Map.of("RADIOCTL_ETCD_PASSWORD", EtcdRoles.RADIOCTL_RO_PASSWORD)));
        }
    }
}
