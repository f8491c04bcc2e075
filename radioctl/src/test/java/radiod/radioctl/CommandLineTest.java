package radiod.radioctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import picocli.CommandLine;
import radiod.radioctl.output.MountUrls;
import radiod.radioctl.output.Table;
import radiod.radioctl.output.Units;

/** What radioctl does without etcd: help, version, completion, usage errors. */
class CommandLineTest {
    /** Nothing listens here: a command that got as far as etcd would fail with 5, not the code expected. */
    private final Radioctl radioctl = new Radioctl(List.of("--endpoints", "http://127.0.0.1:9", "--timeout", "1s"), Map.of());

    private static final List<String> COMMANDS = List.of("create-mount", "create-transcoding-mount", "edit-mount",
            "delete-mount", "list-mounts", "show-mount", "status", "listeners", "drain", "undrain", "completion");

    @Test
    void helpIsOnTheToolAndOnEveryCommand() {
        Radioctl.Result top = radioctl.runExactly("--help");
        assertEquals(0, top.exitCode());
        for (String c : COMMANDS) {
            assertTrue(top.out().contains("  " + c + " "), c);
            Radioctl.Result help = radioctl.runExactly(c, "--help");
            assertEquals(0, help.exitCode(), help::toString);
            assertTrue(help.out().startsWith("Usage: radioctl " + c), help::toString);
            assertTrue(help.out().contains("--endpoints"), "global options are listed too");
            assertEquals(0, radioctl.runExactly("help", c).exitCode());
        }
        assertTrue(top.out().contains("Exit codes: 0 done"), top::toString);
        assertTrue(top.out().contains("6 no master (status)"), top::toString);
        // picocli wraps the help at 80 columns
        assertTrue(top.out().replaceAll("\\s+", " ").contains("8 listeners still connected when drain --wait ended"),
                top::toString);
        Radioctl.Result drain = radioctl.runExactly("drain", "--help");
        assertTrue(drain.out().replaceAll("\\s+", " ").contains("8 with --wait: drained, but listeners were still connected"),
                drain::toString);
        Radioctl.Result status = radioctl.runExactly("status", "--help");
        assertTrue(status.out().contains("Exit codes:") && status.out().contains("6   done, but no node is master"),
                status::toString);
    }

    @Test
    void versionNamesTheBuild() {
        Radioctl.Result r = radioctl.runExactly("--version");
        assertEquals(0, r.exitCode());
        assertTrue(r.out().matches("radioctl \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\n"), r.out());
    }

    @Test
    void completionPrintsABashScriptThatKnowsTheCommandsAndOptions() {
        Radioctl.Result r = radioctl.runExactly("completion");
        assertEquals(0, r.exitCode());
        assertTrue(r.out().startsWith("#!/usr/bin/env bash"), r.out().lines().findFirst().orElse(""));
        assertTrue(r.out().contains("complete -F _complete_radioctl"), "registers the function");
        assertTrue(r.out().contains("create-transcoding-mount") && r.out().contains("--show-password"));
        assertTrue(r.out().contains("=(\"mp3\" \"opus\" \"vorbis\") # --codec values"), "completes codecs");
    }

    @Test
    void usageMistakesExitTwoWithAOneLineReason() {
        Radioctl.Result noCommand = radioctl.runExactly();
        assertEquals(2, noCommand.exitCode());
        assertTrue(noCommand.err().startsWith("Usage: radioctl"));

        Radioctl.Result unknown = radioctl.run("frobnicate");
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.err().startsWith("radioctl: Unmatched argument at index 4: 'frobnicate'"), unknown::toString);

        Radioctl.Result badMount = radioctl.run("listeners", "live.mp3");
        assertEquals(2, badMount.exitCode(), badMount::toString);
        assertTrue(badMount.err().startsWith("radioctl: mount path 'live.mp3' is not valid"), badMount::toString);

        Radioctl.Result missing = radioctl.run("create-transcoding-mount", "/x.mp3", "--source", "/y.mp3", "--bitrate", "64");
        assertEquals(2, missing.exitCode());
        assertEquals("radioctl: Missing required option: '--codec=CODEC'\nradioctl: see `radioctl create-transcoding-mount --help`\n",
                missing.err());
    }

    @Test
    void aPlainPicocliCommandLineGivesTheSameExitCodes() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new Main(Map.of(), null));
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        assertEquals(2, cl.execute("create-mount", "/x.mp3", "--bitrate", "-3"));
        assertEquals("radioctl: bitrate must be between 0 (unknown) and 10000 kbit/s, got -3\n", err.toString());
        assertEquals(2, cl.execute("create-mount"));
        assertEquals(0, cl.execute("--version"));
    }

    @Test
    void tablesAlignColumnsAndUnitsRead() {
        String t = new Table("A", "LONGER", "C").row("xx", 1, null).row("y", "two", "z").render();
        assertEquals("A   LONGER  C\nxx  1       -\ny   two     z\n", t);
        assertEquals("999 bit/s", Units.bitsPerSecond(999));
        assertEquals("128 kbit/s", Units.bitsPerSecond(128_000));
        assertEquals("1.5 Mbit/s", Units.bitsPerSecond(1_500_000));
        assertEquals("999 B", Units.bytes(999));
        assertEquals("1.2 MB", Units.bytes(1_234_567));
        assertEquals("icecast://dj%40home:p%3Ass%20w@radio:8000/live.mp3",
                MountUrls.icecastUrl("http://radio:8000/live.mp3", "dj@home", "p:ss w"));
    }
}
