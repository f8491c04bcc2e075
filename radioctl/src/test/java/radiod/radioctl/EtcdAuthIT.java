package radiod.radioctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

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
    void missingOrWrongCredentialsAreRefusalsNotOutages() {
        for (List<String> args : List.of(List.of("--endpoints", etcd.endpointsCsv()),
                List.of("--endpoints", etcd.endpointsCsv(), "--etcd-user", "root", "--etcd-password", "wrong"))) {
            Radioctl.Result r = new Radioctl(args, Map.of()).run("list-mounts");
            assertEquals(1, r.exitCode(), r::toString);
            assertTrue(r.err().startsWith("radioctl: etcd at " + etcd.endpointsCsv() + " refused radioctl ("), r::toString);
            assertTrue(r.err().contains("check --etcd-user/--etcd-password or the config file"), r::toString);
        }
    }
}
