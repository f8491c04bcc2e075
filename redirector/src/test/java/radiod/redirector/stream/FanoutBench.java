package radiod.redirector.stream;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import radiod.testkit.Icecast;
import radiod.testkit.Ports;
import radiod.testkit.encoder.Tone;

/**
 * The passthrough's fan-out against Icecast serving the same listeners directly, one after the other in one run:
 * a real Icecast fed by ffmpeg at 128 kbit/s, a {@link FanoutBenchServer} (a node's HTTP front and passthrough)
 * reading it, and {@code radiod.testkit.load.ListenerLoad} opening N listeners to Icecast, then to the
 * passthrough's {@code /_stream/}. Prints, per N and way, CPU ms per listener-minute of radiod and of Icecast
 * (utime + stime from /proc), radiod's live heap per listener, and listeners dropped or fallen behind.
 *
 * <pre>
 * mvn -o -q -pl redirector -am test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test
 * java -cp redirector/target/test-classes:redirector/target/classes:$(cat /tmp/cp.txt) \
 *     radiod.redirector.stream.FanoutBench [listeners=1000,5000] [settle=10] [duration=30] [batch=250] [addr=127.0.0.41] \
 *     [ways=icecast,radiod] [serverOpts="-XX:StartFlightRecording=filename=/tmp/fanout.jfr"]
 * </pre>
 *
 * Loopback only; every process it starts is stopped at the end.
 */
public final class FanoutBench {
    private static final int RATE = 16_000; // 128 kbit/s in bytes

    private final String addr;
    private final Path dir;
    private final String classpath = System.getProperty("java.class.path");
    private final List<Process> started = new ArrayList<>();
    private Icecast icecast;

    private FanoutBench(String addr) throws IOException {
        this.addr = addr;
        this.dir = Files.createTempDirectory("radiod-fanout-bench-");
        dir.toFile().setWritable(true, false);
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = new LinkedHashMap<>(Map.of("listeners", "1000,5000", "settle", "10", "duration", "30",
                "batch", "250", "addr", "127.0.0.41", "ramp", "500",
                "ways", "icecast,radiod"));
        for (String a : argv) {
            int eq = a.indexOf('=');
            args.put(a.substring(0, eq), a.substring(eq + 1));
        }
        FanoutBench bench = new FanoutBench(args.get("addr"));
        try {
            bench.run(args);
        } finally {
            bench.stop();
        }
    }

    private void run(Map<String, String> args) throws Exception {
        int icecastPort = Ports.free(addr);
        int httpPort = Ports.free(addr);
        icecast = Icecast.start(addr, icecastPort, List.of(), 12_000); // room for the listeners
        start(Tone.mp3(Tone.url("source", icecast.sourcePassword(), addr, icecastPort, "/live.mp3")).command(), "ffmpeg");
        List<String> java = new ArrayList<>(List.of("java", "-Xms64m", "-Xmx512m", "-XX:+ExitOnOutOfMemoryError"));
        if (!args.getOrDefault("serverOpts", "").isBlank()) {
            java.addAll(List.of(args.get("serverOpts").trim().split(" +")));
        }
        java.addAll(List.of("-cp", classpath, FanoutBenchServer.class.getName(), addr, Integer.toString(httpPort), addr,
                Integer.toString(icecastPort), args.get("batch")));
        Process server = start(java, "server");
        awaitLog("server", "ready on", 30);
        awaitStream("http://" + addr + ":" + icecastPort + "/live.mp3", 30);
        System.err.printf("measuring on %d cores, load average %s%n", Runtime.getRuntime().availableProcessors(),
                Files.readString(Path.of("/proc/loadavg")).trim());
        Map<String, Map<String, String>> results = new LinkedHashMap<>();
        for (String n : args.get("listeners").split(",")) {
            if (args.get("ways").contains("icecast")) {
                results.put("icecast " + n, load(args, n, "http://" + addr + ":" + icecastPort + "/live.mp3",
                        List.of("--pid", "icecast=" + icecast.pid())));
            }
            results.put("radiod " + n, load(args, n, "http://" + addr + ":" + httpPort + "/_stream/live.mp3",
                    List.of("--pid", "proxy=" + server.pid(), "--pid", "icecast=" + icecast.pid(), "--jvm-pid",
                            Long.toString(server.pid()))));
        }
        System.out.printf("%n%-8s %-8s %9s %7s %6s %8s | %8s %8s %8s | %9s%n", "N", "way", "streaming", "dropped", "behind",
                "refused", "radiod", "icecast", "total", "heap B/l");
        for (Map.Entry<String, Map<String, String>> e : results.entrySet()) {
            Map<String, String> r = e.getValue();
            String[] key = e.getKey().split(" ");
            double proxy = Double.parseDouble(r.getOrDefault("proxy_cpu_ms_per_listener_min", "0"));
            double ice = Double.parseDouble(r.get("icecast_cpu_ms_per_listener_min"));
            System.out.printf("%-8s %-8s %9s %7s %6s %8s | %8s %8.3f %8.3f | %9s%n", key[1], key[0], r.get("streaming"),
                    r.get("dropped"), r.get("behind"), r.get("refused_or_failed"), r.getOrDefault("proxy_cpu_ms_per_listener_min", "-"),
                    ice, proxy + ice, r.getOrDefault("heap_bytes_per_listener", "-"));
        }
        for (String n : args.get("listeners").split(",")) {
            Map<String, String> r = results.get("radiod " + n);
            if (!results.containsKey("icecast " + n)) {
                continue;
            }
            double direct = Double.parseDouble(results.get("icecast " + n).get("icecast_cpu_ms_per_listener_min"));
            double total = Double.parseDouble(r.get("proxy_cpu_ms_per_listener_min"))
                    + Double.parseDouble(r.get("icecast_cpu_ms_per_listener_min"));
            System.out.printf("N=%s: radiod + Icecast / Icecast direct = %.2f (goal <= 1.0); heap %.1f kB per listener "
                    + "(goal <= 20); dropped %s, behind %s, refused %s (goal 0)%n", n, total / direct,
                    Double.parseDouble(r.get("heap_bytes_per_listener")) / 1024, r.get("dropped"), r.get("behind"),
                    r.get("refused_or_failed"));
        }
    }

    private Map<String, String> load(Map<String, String> args, String n, String url, List<String> pids) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("java", "-Xmx1g", "-cp", classpath, "radiod.testkit.load.ListenerLoad",
                "--url", url, "--listeners", n, "--ramp", args.get("ramp"), "--settle", args.get("settle"),
                "--duration", args.get("duration"), "--rate", Integer.toString(RATE)));
        cmd.addAll(pids);
        System.err.println("  " + String.join(" ", cmd.subList(4, cmd.size())));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("ListenerLoad failed: " + out);
        }
        System.err.println("    " + out.replace('\n', ' '));
        Map<String, String> r = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                r.put(line.substring(0, eq), line.substring(eq + 1).trim());
            }
        }
        Thread.sleep(3000); // the servers let go of the closed connections before the next way
        return r;
    }

    private Process start(List<String> cmd, String name) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start();
        started.add(p);
        return p;
    }

    private void awaitLog(String name, String text, int seconds) throws Exception {
        for (int i = 0; i < seconds * 10; i++) {
            Path log = dir.resolve(name + ".log");
            if (Files.exists(log) && Files.readString(log).contains(text)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException(name + " did not say '" + text + "': " + Files.readString(dir.resolve(name + ".log")));
    }

    private void awaitStream(String url, int seconds) throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        for (int i = 0; i < seconds * 4; i++) {
            try {
                java.net.http.HttpResponse<java.io.InputStream> r = http.send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(url)).timeout(java.time.Duration.ofSeconds(2)).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofInputStream());
                try (java.io.InputStream in = r.body()) {
                    if (r.statusCode() == 200 && in.readNBytes(20_000).length == 20_000) {
                        return;
                    }
                }
            } catch (IOException e) {
                // not yet
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("the mount did not go live at " + url + "; see " + dir);
    }

    private void stop() throws Exception {
        for (int i = started.size() - 1; i >= 0; i--) {
            Process p = started.get(i);
            p.destroy();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        if (icecast != null) {
            icecast.close();
        }
        if (System.getenv("KEEP") == null) {
            Audio.delete(dir);
        } else {
            System.err.println("kept " + dir);
        }
    }
}
