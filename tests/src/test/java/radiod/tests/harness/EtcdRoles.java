package radiod.tests.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The etcd users and roles that production uses, made by the script that ships for it
 * ({@code ansible/roles/etcd/files/radiod-etcd-auth}, run as etcd's root): radiod, radioctl, radioctl-ro.
 */
public final class EtcdRoles {
    public static final String ROOT_PASSWORD = "etcd-root-pw";
    public static final String RADIOD_PASSWORD = "radiod-pw";
    public static final String RADIOCTL_PASSWORD = "radioctl-pw";
    public static final String RADIOCTL_RO_PASSWORD = "radioctl-ro-pw";

    /** The test passwords, as the script takes them. */
    public static final Map<String, String> PASSWORDS = Map.of("ETCD_ROOT_PASSWORD", ROOT_PASSWORD,
            "ETCD_RADIOD_PASSWORD", RADIOD_PASSWORD, "ETCD_RADIOCTL_PASSWORD", RADIOCTL_PASSWORD,
            "ETCD_RADIOCTL_RO_PASSWORD", RADIOCTL_RO_PASSWORD);

    private EtcdRoles() {
    }

    /** What one run of the script did. */
    public record Run(int exitCode, String output) {
    }

    /** The script, found from the working directory (a module's, or the checkout's). */
    public static Path script() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path p = dir.resolve("ansible/roles/etcd/files/radiod-etcd-auth");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        throw new IllegalStateException("ansible/roles/etcd/files/radiod-etcd-auth not found above " + Path.of("").toAbsolutePath());
    }

    /** Runs the script with the test passwords against these endpoints for this prefix; throws unless it succeeds. */
    public static String create(String endpoints, String prefix) {
        Run r = run(endpoints, prefix, PASSWORDS);
        if (r.exitCode() != 0) {
            throw new IllegalStateException("radiod-etcd-auth exited " + r.exitCode() + ":\n" + r.output());
        }
        return r.output();
    }

    /** Runs the script with these environment variables (passwords) and returns its exit code and output. */
    public static Run run(String endpoints, String prefix, Map<String, String> env) {
        List<String> cmd = new ArrayList<>(List.of(script().toString(), "--prefix", prefix));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("ETCD"));
        pb.environment().putAll(env);
        pb.environment().put("ETCDCTL_ENDPOINTS", endpoints);
        try {
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("radiod-etcd-auth did not finish within 60 s:\n" + out);
            }
            return new Run(p.exitValue(), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
