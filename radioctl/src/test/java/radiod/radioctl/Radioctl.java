package radiod.radioctl;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import picocli.CommandLine;
import radiod.testkit.etcd.EtcdPrefix;

/** Runs radioctl in-process, as an operator would from a shell, and keeps what it printed. */
final class Radioctl {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Asked at each run: a test's etcd prefix is known only once the test starts. */
    private final Supplier<List<String>> globalArgs;
    private final Map<String, String> env;
    private final String stdin;

    Radioctl(List<String> globalArgs, Map<String, String> env) {
        this(() -> globalArgs, env, "");
    }

    private Radioctl(Supplier<List<String>> globalArgs, Map<String, String> env, String stdin) {
        this.globalArgs = globalArgs;
        this.env = Map.copyOf(env);
        this.stdin = stdin;
    }

    /** The same, with this text on standard input. */
    Radioctl withStdin(String text) {
        return new Radioctl(globalArgs, env, text);
    }

    /** radioctl against the given endpoints and prefix, with a timeout that a busy CI machine does not hit. */
    static Radioctl at(String endpoints, String prefix) {
        return new Radioctl(globalArgs(endpoints, prefix), Map.of());
    }

    /** radioctl against a test's own prefix (read when a command runs, so a field may hold it). */
    static Radioctl at(EtcdPrefix keys) {
        return new Radioctl(() -> globalArgs(keys.endpointsCsv(), keys.prefix()), Map.of(), "");
    }

    private static List<String> globalArgs(String endpoints, String prefix) {
        return List.of("--endpoints", endpoints, "--prefix", prefix, "--timeout", "10s");
    }

    Result run(String... args) {
        List<String> all = new ArrayList<>(globalArgs.get());
        all.addAll(List.of(args));
        return runExactly(all.toArray(String[]::new));
    }

    /** Without the global arguments. */
    Result runExactly(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine(new Main(env, null,
                new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8))));
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        long start = System.nanoTime();
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString(), Duration.ofNanos(System.nanoTime() - start));
    }

    record Result(int exitCode, String out, String err, Duration took) {
        JsonNode json() {
            try {
                return JSON.readTree(out);
            } catch (Exception e) {
                throw new AssertionError("not JSON: " + e.getMessage() + "\n" + out, e);
            }
        }

        @Override
        public String toString() {
            return "exit " + exitCode + " after " + took.toMillis() + " ms\n--- out\n" + out + "--- err\n" + err;
        }
    }
}
