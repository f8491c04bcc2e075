package radiod.tests.fire;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import picocli.CommandLine;
import radiod.radioctl.Main;
import radiod.tests.harness.RadiodCluster;

/** radioctl, run in this JVM against a test cluster's etcd, as an operator would type it. */
public final class Radioctl {
    /** What one command did. */
    public record Result(int exit, String out, String err) {
    }

    private Radioctl() {
    }

    public static Result run(RadiodCluster cluster, String... args) {
        CommandLine cli = Main.commandLine(new Main(Map.of(), Path.of("/nonexistent/radioctl.yml")));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(List.of("--endpoints", cluster.etcd().endpointsCsv(), "--prefix", cluster.prefix()));
        all.addAll(List.of(args));
        int exit = cli.execute(all.toArray(String[]::new));
        if (exit != 0) {
            System.out.println("radioctl " + String.join(" ", args) + " exited " + exit + ": " + err);
        }
        return new Result(exit, out.toString(), err.toString());
    }
}
