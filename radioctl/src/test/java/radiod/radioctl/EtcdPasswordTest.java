package radiod.radioctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import radiod.radioctl.connect.Settings;

/** Where radioctl takes the etcd password from, and its warning when the password is an argument that ps shows. */
class EtcdPasswordTest {
    private static final String WARNING = "radioctl: warning: --etcd-password puts the password where every user of "
            + "this machine sees it (ps); use RADIOCTL_ETCD_PASSWORD, --etcd-password-file FILE or --password-stdin instead\n";

    @TempDir
    Path dir;

    /** The settings radioctl resolves for these arguments, with this standard input. */
    private static Settings settings(Map<String, String> env, String stdin, String... args) {
        InputStream in = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
        Main main = new Main(env, null, in);
        Main.commandLine(main).parseArgs(args);
        return main.settings();
    }

    @Test
    void theFilesFirstLineIsThePassword() throws Exception {
        Path file = Files.writeString(dir.resolve("etcd-password"), "file pw\r\nsecond line\n");
        Settings s = settings(Map.of(), "", "--etcd-user", "radioctl", "--etcd-password-file", file.toString(), "status");
        assertEquals("radioctl", s.etcd().username());
        assertEquals("file pw", s.etcd().password());
        // After the command's name too, and it wins over the environment.
        s = settings(Map.of("RADIOCTL_ETCD_USER", "radioctl", "RADIOCTL_ETCD_PASSWORD", "env pw"), "", "status",
                "--etcd-password-file", file.toString());
        assertEquals("file pw", s.etcd().password());
    }

    @Test
    void standardInputsFirstLineIsThePassword() {
        assertEquals("stdin pw", settings(Map.of(), "stdin pw\nrest", "--etcd-user", "u", "--password-stdin", "status")
                .etcd().password());
        assertEquals("no newline", settings(Map.of(), "no newline", "--etcd-user", "u", "status", "--etcd-password-stdin")
                .etcd().password());
    }

    @Test
    void theEnvironmentStillWorksAndTheArgumentToo() {
        assertEquals("env pw", settings(Map.of("RADIOCTL_ETCD_PASSWORD", "env pw"), "", "--etcd-user", "u", "status")
                .etcd().password());
        assertEquals("arg pw", settings(Map.of(), "", "--etcd-user", "u", "--etcd-password", "arg pw", "status")
                .etcd().password());
    }

    @Test
    void aPasswordGivenAsAnArgumentIsWarnedAboutOnStandardErrorAndTheCommandGoesOn() {
        // The command stops at its own bad argument, before etcd: what is printed before that is the warning.
        Radioctl.Result r = new Radioctl(List.of("--etcd-user", "u", "--etcd-password", "arg pw"), Map.of())
                .run("show-mount", "no-slash");
        assertEquals(2, r.exitCode(), r::toString);
        assertTrue(r.err().startsWith(WARNING), r::toString);
        assertTrue(r.err().substring(WARNING.length()).startsWith("radioctl: mount path"), r::toString);
        assertFalse(r.out().contains("arg pw") || r.err().contains("arg pw"), r::toString);
    }

    @Test
    void otherWaysOfGivingThePasswordAreNotWarnedAbout() throws Exception {
        Path file = Files.writeString(dir.resolve("pw"), "file pw\n");
        for (Radioctl radioctl : List.of(
                new Radioctl(List.of("--etcd-user", "u", "--etcd-password-file", file.toString()), Map.of()),
                new Radioctl(List.of("--etcd-user", "u", "--password-stdin"), Map.of()).withStdin("stdin pw\n"),
                new Radioctl(List.of("--etcd-user", "u"), Map.of("RADIOCTL_ETCD_PASSWORD", "env pw")))) {
            Radioctl.Result r = radioctl.run("show-mount", "no-slash");
            assertEquals(2, r.exitCode(), r::toString);
            assertTrue(r.err().startsWith("radioctl: mount path"), r::toString);
        }
    }

    @Test
    void aMissingOrEmptySourceOrTwoOfThemAreUsageErrors() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty"), "\nsecond\n");
        Path missing = dir.resolve("missing");
        Map<List<String>, String> cases = Map.of(
                List.of("--etcd-password-file", missing.toString()), "radioctl: --etcd-password-file " + missing + ": no such file\n",
                List.of("--etcd-password-file", empty.toString()),
                "radioctl: --etcd-password-file " + empty + ": no password (its first line is empty)\n",
                List.of("--password-stdin"), "radioctl: --password-stdin: no password (its first line is empty)\n",
                List.of("--password-stdin", "--etcd-password-file", empty.toString()),
                "radioctl: --etcd-password, --etcd-password-file and --password-stdin cannot be given together: use one\n");
        cases.forEach((args, message) -> {
            List<String> all = new ArrayList<>(List.of("--endpoints", "http://127.0.0.1:9", "--etcd-user", "u"));
            all.addAll(args);
            Radioctl.Result r = new Radioctl(all, Map.of()).run("list-mounts");
            assertEquals(2, r.exitCode(), r::toString);
            assertEquals(message, r.err(), r::toString);
        });
    }
}
