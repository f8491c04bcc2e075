package radiod.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import radiod.controller.node.RadiodNode;

/** radiod's command line: the options systemd, Ansible's validate and /usr/bin/radiod use, and what a typo gets. */
class ArgsTest {

    @Test
    void theConfigIsNamedEveryWayAndDefaultsToEtc() throws Exception {
        assertEquals(Path.of("/etc/radiod/radiod.yml"), Args.parse().config());
        for (String[] a : new String[][] {{"--config", "/x.yml"}, {"-c", "/x.yml"}, {"--config=/x.yml"}, {"-c=/x.yml"}}) {
            Args p = Args.parse(a);
            assertEquals(Path.of("/x.yml"), p.config(), String.join(" ", a));
            assertFalse(p.checkOnly() || p.help() || p.version(), String.join(" ", a));
        }
        Args check = Args.parse("--check-config", "--config", "/y.yml");
        assertTrue(check.checkOnly());
        assertEquals(Path.of("/y.yml"), check.config());
        assertTrue(Args.parse("-h").help());
        assertTrue(Args.parse("--help").help());
        assertTrue(Args.parse("-V").version());
        assertTrue(Args.parse("--version").version());
    }

    @Test
    void aBadCommandLineSaysWhatIsWrong() {
        assertEquals("Unknown option: '--confg'", assertThrows(Args.UsageException.class,
                () -> Args.parse("--confg", "/x.yml")).getMessage());
        assertEquals("Missing required parameter for option '--config' (FILE)", assertThrows(Args.UsageException.class,
                () -> Args.parse("--config")).getMessage());
        assertEquals("Unmatched argument at index 0: 'radiod.yml'", assertThrows(Args.UsageException.class,
                () -> Args.parse("radiod.yml")).getMessage());
        assertEquals("option '--config' (FILE) should be specified only once", assertThrows(Args.UsageException.class,
                () -> Args.parse("-c", "/a.yml", "--config=/b.yml")).getMessage());
        assertEquals("option '--config' needs a file name", assertThrows(Args.UsageException.class,
                () -> Args.parse("--config=")).getMessage());
    }

    @Test
    void helpVersionAndErrorsExitAsBefore() {
        Run help = run("--help");
        assertEquals(0, help.status);
        assertTrue(help.out.startsWith("Usage: radiod [-hV] [--check-config] [-c=FILE]"), help.out);
        assertTrue(help.out.contains("--check-config  Check the configuration file and exit (0 if valid)."), help.out);
        assertEquals("", help.err);

        Run version = run("-V");
        assertEquals(0, version.status);
        assertEquals("radiod " + RadiodNode.VERSION + System.lineSeparator(), version.out);

        Run typo = run("--chek-config");
        assertEquals(2, typo.status);
        assertTrue(typo.err.startsWith("radiod: Unknown option: '--chek-config'" + System.lineSeparator() + "Usage: radiod"),
                typo.err);
        assertEquals("", typo.out);
    }

    @Test
    void checkConfigNamesTheFileAndTheField(@TempDir Path dir) throws IOException {
        Run missing = run("--check-config", "--config", dir.resolve("none.yml").toString());
        assertEquals(2, missing.status);
        assertTrue(missing.err.startsWith("radiod: ") && missing.err.contains("none.yml"), missing.err);

        Path bad = Files.writeString(dir.resolve("bad.yml"), "node:\n  name: n1\n");
        Run invalid = run("--check-config", "-c", bad.toString());
        assertEquals(2, invalid.status);
        assertTrue(invalid.err.startsWith("radiod: config " + bad + ": node.addresses: "), invalid.err);
    }

    private record Run(int status, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(status, out.toString(), err.toString());
    }
}
