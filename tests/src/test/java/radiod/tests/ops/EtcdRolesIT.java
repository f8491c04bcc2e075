package radiod.tests.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.auth.Permission;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.EtcdUnavailableException;
import radiod.cluster.etcd.Keys;
import radiod.cluster.view.Snapshots;
import radiod.tests.harness.EtcdRoles;
import radiod.testkit.EtcdCluster;

/**
 * The shipped script that makes etcd's users and roles (ansible/roles/etcd/files/radiod-etcd-auth): each user may
 * do what its tool needs and nothing else, a second run changes nothing, and a run after someone widened a role,
 * gave a user another role or changed a password puts it back.
 */
class EtcdRolesIT {
    private static final String PREFIX = "/radiod/";

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    private static Client as(String user, String password) {
        return EtcdClients.connect(new EtcdOptions(etcd.endpoints(), PREFIX, user, password, null, null, null,
                Duration.ofSeconds(10)));
    }

    private static ByteSequence key(String k) {
        return Keys.bytes(k);
    }

    /** Whether etcd let the request through; false if it refused it for lack of permission. */
    private static boolean allowed(Supplier<CompletableFuture<?>> request) {
        try {
            EtcdClients.await(request.get(), 10_000, "request");
            return true;
        } catch (EtcdUnavailableException e) {
            if (String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("permission denied")) {
                return false;
            }
            throw e;
        }
    }

    private static boolean mayPut(Client c, String k) {
        return allowed(() -> c.getKVClient().put(key(k), key("v")));
    }

    private static boolean mayGet(Client c, String k) {
        return allowed(() -> c.getKVClient().get(key(k)));
    }

    @Test
    void eachUserMayDoWhatItsToolNeedsAndASecondRunChangesNothing() {
        EtcdRoles.create(etcd.endpointsCsv(), PREFIX);
        assertEquals("radiod-etcd-auth: no change (roles radiod, radioctl-ro, radioctl on /radiod/)\n",
                EtcdRoles.create(etcd.endpointsCsv(), PREFIX));

        try (Client anonymous = as(null, null)) {
            EtcdUnavailableException e = assertThrows(EtcdUnavailableException.class,
                    () -> EtcdClients.await(anonymous.getKVClient().get(key(PREFIX)), 10_000, "reading"));
            assertTrue(e.getMessage().contains("user name is empty"), "authentication is on: " + e.getMessage());
        }
        try (Client radiod = as("radiod", EtcdRoles.RADIOD_PASSWORD);
             Client radioctl = as("radioctl", EtcdRoles.RADIOCTL_PASSWORD);
             Client readOnly = as("radioctl-ro", EtcdRoles.RADIOCTL_RO_PASSWORD)) {
            // radiod: everything under its prefix, nothing outside.
            for (String k : List.of("nodes/node1", "master", "transcoders/live-64.mp3", "titles/live.mp3", "admin/token")) {
                assertTrue(mayPut(radiod, PREFIX + k), k);
            }
            assertFalse(mayPut(radiod, "/elsewhere"));
            assertFalse(mayGet(radiod, "/elsewhere"));
            long nodeLease = EtcdClients.await(radiod.getLeaseClient().grant(30), 10_000, "grant").getID();
            assertTrue(allowed(() -> radiod.getKVClient().put(key(PREFIX + "nodes/node2"), key("v"),
                    PutOption.builder().withLeaseId(nodeLease).build())));

            // Only radiod reads the secrets (the certificate's private key, the ACME account key).
            for (String k : List.of("secret/tls/key", "secret/acme/account")) {
                assertTrue(mayGet(radiod, PREFIX + k), k);
                assertFalse(mayGet(radioctl, PREFIX + k), k);
                assertFalse(mayGet(readOnly, PREFIX + k), k);
                assertFalse(mayPut(radioctl, PREFIX + k), k);
            }

            // radioctl: reads all but the secrets; writes mounts, drains, titles, kicks (on a lease of its own) and
            // renewal requests, nothing else.
            assertTrue(mayGet(radioctl, PREFIX + "admin/token"));
            assertTrue(mayGet(radioctl, PREFIX + "tls/certificate"));
            for (String k : List.of("mounts/live.mp3", "drain/node1", "titles/live.mp3", "tls/renew")) {
                assertTrue(mayPut(radioctl, PREFIX + k), k);
            }
            long kickLease = EtcdClients.await(radioctl.getLeaseClient().grant(30), 10_000, "grant").getID();
            assertTrue(allowed(() -> radioctl.getKVClient().put(key(PREFIX + "kicks/live.mp3"), key("v"),
                    PutOption.builder().withLeaseId(kickLease).build())));
            for (String k : List.of("nodes/node1", "master", "transcoders/live-64.mp3", "admin/token", "tls/certificate",
                    "tls/status", "acme/holder", "acme/challenges/node1-1-0")) {
                assertFalse(mayPut(radioctl, PREFIX + k), k);
            }
            assertFalse(allowed(() -> radioctl.getLeaseClient().revoke(nodeLease)), "cannot end a node's lease");

            // radioctl-ro: reads all but the secrets (status, show-mount, the admin token for listeners), writes
            // nothing. A read of the whole prefix would take in the secrets: etcd refuses it, and radioctl reads the
            // two ranges around them in one transaction instead.
            assertTrue(mayGet(readOnly, PREFIX + "admin/token"));
            assertTrue(mayGet(readOnly, PREFIX + "tls/certificate"));
            assertFalse(allowed(() -> readOnly.getKVClient().get(key(PREFIX), GetOption.builder()
                    .isPrefix(true).build())));
            Keys keys = new Keys(PREFIX);
            assertTrue(Snapshots.read(readOnly, keys, 10_000).revision() > 0, "status reads the cluster");
            assertTrue(Snapshots.read(radioctl, keys, 10_000).revision() > 0);
            for (String k : List.of("mounts/live.mp3", "drain/node1", "titles/live.mp3", "kicks/live.mp3", "nodes/node1",
                    "master", "tls/renew")) {
                assertFalse(mayPut(readOnly, PREFIX + k), k);
            }
            assertFalse(allowed(() -> readOnly.getKVClient().delete(key(PREFIX + "mounts/live.mp3"))));
            assertFalse(allowed(() -> readOnly.getLeaseClient().revoke(nodeLease)), "cannot end a node's lease");
        }
    }

    @Test
    void aRunAfterSomeoneWidenedARoleOrChangedAUserPutsItBack() {
        EtcdRoles.create(etcd.endpointsCsv(), PREFIX);
        try (Client root = as("root", EtcdRoles.ROOT_PASSWORD)) {
            var auth = root.getAuthClient();
            EtcdClients.await(auth.roleGrantPermission(key("radioctl-ro"), key(PREFIX), key("/radiod0"),
                    Permission.Type.READWRITE), 10_000, "widen");
            EtcdClients.await(auth.roleGrantPermission(key("radioctl"), key("/elsewhere"), ByteSequence.EMPTY,
                    Permission.Type.WRITE), 10_000, "widen");
            EtcdClients.await(auth.userGrantRole(key("radioctl"), key("root")), 10_000, "promote");
            EtcdClients.await(auth.userChangePassword(key("radiod"), key("someone-elses")), 10_000, "passwd");
        }
        try (Client readOnly = as("radioctl-ro", EtcdRoles.RADIOCTL_RO_PASSWORD)) {
            assertTrue(mayPut(readOnly, PREFIX + "mounts/x.mp3"), "the role was widened");
        }

        String out = EtcdRoles.create(etcd.endpointsCsv(), PREFIX);
        String readOnlyLine = out.lines().filter(l -> l.startsWith("changed: role radioctl-ro: ")).findFirst().orElse("");
        assertTrue(readOnlyLine.contains("read [/radiod/, /radiod/secret/)")
                && readOnlyLine.contains("read [/radiod/secret0, /radiod0)")
                && !readOnlyLine.contains("write"), out);
        assertTrue(out.contains("changed: role radioctl: "), out);
        assertTrue(out.contains("changed: user radioctl: role root taken away\n"), out);
        assertTrue(out.contains("changed: user radiod: new password\n"), out);
        assertEquals("radiod-etcd-auth: no change (roles radiod, radioctl-ro, radioctl on /radiod/)\n",
                EtcdRoles.create(etcd.endpointsCsv(), PREFIX));

        try (Client readOnly = as("radioctl-ro", EtcdRoles.RADIOCTL_RO_PASSWORD);
             Client radioctl = as("radioctl", EtcdRoles.RADIOCTL_PASSWORD);
             Client radiod = as("radiod", EtcdRoles.RADIOD_PASSWORD)) {
            assertFalse(mayPut(readOnly, PREFIX + "mounts/x.mp3"));
            assertFalse(mayPut(radioctl, "/elsewhere"));
            assertFalse(mayPut(radioctl, PREFIX + "master"), "no longer root");
            assertTrue(mayPut(radiod, PREFIX + "nodes/node1"), "its password is radiod's again");
        }
    }

    @Test
    void withoutItsPasswordsOrWithAWrongRootPasswordItRefusesAndSaysWhy() {
        EtcdRoles.create(etcd.endpointsCsv(), PREFIX);
        Map<String, String> noRoot = new HashMap<>(EtcdRoles.PASSWORDS);
        noRoot.remove("ETCD_ROOT_PASSWORD");
        EtcdRoles.Run r = EtcdRoles.run(etcd.endpointsCsv(), PREFIX, noRoot);
        assertEquals(2, r.exitCode(), r.output());
        assertEquals("radiod-etcd-auth: ETCD_ROOT_PASSWORD is not set\n", r.output());

        Map<String, String> wrongRoot = new HashMap<>(EtcdRoles.PASSWORDS);
        wrongRoot.put("ETCD_ROOT_PASSWORD", "wrong");
        r = EtcdRoles.run(etcd.endpointsCsv(), PREFIX, wrongRoot);
        assertEquals(1, r.exitCode(), r.output());
        assertTrue(r.output().startsWith("radiod-etcd-auth: root cannot log in (is ETCD_ROOT_PASSWORD right?)"), r.output());

        r = EtcdRoles.run(etcd.endpointsCsv(), "radiod", EtcdRoles.PASSWORDS);
        assertEquals(2, r.exitCode(), r.output());
    }
}
