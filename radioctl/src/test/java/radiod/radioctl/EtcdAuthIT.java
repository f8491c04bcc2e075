package radiod.radioctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import radiod.testkit.EtcdCluster;

/** Against an etcd with authentication on: credentials from the environment work, bad ones are told apart from an outage. */
class EtcdAuthIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    @BeforeAll
    static void enableAuth() {
        etcd.enableAuth("rootpw");
    }

    @Test
    void theRightCredentialsFromTheEnvironmentWork() {
        Radioctl radioctl = new Radioctl(List.of("--endpoints", etcd.endpointsCsv()),
                Map.of("RADIOCTL_ETCD_USER", "root", "RADIOCTL_ETCD_PASSWORD", "rootpw"));
        Radioctl.Result r = radioctl.run("create-mount", "/live.mp3");
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(0, radioctl.run("show-mount", "/live.mp3").exitCode());
    }

    @Test
    void thePasswordFromAFileOrStandardInputWorksAndFromAnArgumentWorksWithAWarning(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("etcd-password"), "rootpw\n");
        List<String> common = List.of("--endpoints", etcd.endpointsCsv(), "--etcd-user", "root");
        Radioctl.Result fromFile = new Radioctl(common, Map.of()).run("--etcd-password-file", file.toString(), "list-mounts");
        assertEquals(0, fromFile.exitCode(), fromFile::toString);
        assertEquals("", fromFile.err());
        Radioctl.Result fromStdin = new Radioctl(common, Map.of()).withStdin("rootpw\n").run("list-mounts", "--password-stdin");
        assertEquals(0, fromStdin.exitCode(), fromStdin::toString);
        assertEquals("", fromStdin.err());
        Radioctl.Result fromArgument = new Radioctl(common, Map.of()).run("--etcd-password", "rootpw", "list-mounts");
        assertEquals(0, fromArgument.exitCode(), fromArgument::toString);
        assertTrue(fromArgument.err().startsWith("radioctl: warning: --etcd-password puts the password where every user"),
                fromArgument::toString);
        assertEquals(1, fromArgument.err().lines().count(), fromArgument::toString);
    }

    @Test
    void missingOrWrongCredentialsAreRefusalsNotOutages() {
        for (Map<String, String> env : List.of(Map.<String, String>of(),
                Map.of("RADIOCTL_ETCD_USER", "root", "RADIOCTL_ETCD_PASSWORD", "wrong"))) {
            Radioctl.Result r = new Radioctl(List.of("--endpoints", etcd.endpointsCsv()), env).run("list-mounts");
            assertEquals(1, r.exitCode(), r::toString);
            assertTrue(r.err().startsWith("radioctl: etcd at " + etcd.endpointsCsv() + " refused radioctl ("), r::toString);
            assertTrue(r.err().contains("check --etcd-user/--etcd-password or the config file"), r::toString);
        }
    }
}
