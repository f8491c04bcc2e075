package radiod.tests.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import radiod.testkit.Processes;

/** One radiod process of a {@link RadiodCluster}, started as {@link RadiodJvm} says with its own YAML config. */
public final class RadiodProcess {
    private final RadiodCluster cluster;
    private final String name;
    private final String address;
    private final List<String> commandPrefix;
    private final List<String> etcdEndpoints;
    private final Path config;
    private final Path log;
    private volatile String published;
    private Process process;
    private final List<String> unexpectedExits = new java.util.ArrayList<>();

    RadiodProcess(RadiodCluster cluster, String name, RadiodCluster.Placement placement) {
        this.cluster = cluster;
        this.name = name;
        this.address = placement.address();
        this.commandPrefix = placement.commandPrefix();
        this.etcdEndpoints = placement.etcdEndpoints();
        this.config = cluster.dir().resolve(name + ".yml");
        this.log = cluster.dir().resolve(name + ".log");
    }

    public String name() {
        return name;
    }

    public String address() {
        return address;
    }

    public Path log() {
        return log;
    }

    /**
     * Publishes {@code address} as the node's address ({@code node.addresses}) while it still listens on its own
     * ({@code node.bind}): a node behind a NAT, whose public address its own ports do not answer on. Set before
     * {@link #start()}.
     */
    public RadiodProcess publishAs(String address) {
        this.published = address;
        return this;
    }

    /** The node's access log (one line per finished listener session). */
    public Path accessLog() {
        return cluster.dir().resolve(name + "-access.log");
    }

    public String httpUrl(String path) {
        return "http://" + address + ":" + cluster.httpPort + path;
    }

    public String icecastUrl(String path) {
        return "http://" + address + ":" + cluster.icecastPort + path;
    }

    public String yaml() {
        return """
                node:
                  name: %s
                  addresses: [%s]%s
                etcd:
                  endpoints: [%s]
                  prefix: %s
                  lease_ttl: %d
                %shttp: {port: %d, access_log: %s}
                source: {port: %d}
                dns:
                  port: %d
                  zone: radio.test
                  nameservers: [%s]
                  ttl: %d
                icecast:
                  port: %d
                  dir: %s
                transcoder:
                  dir: %s
                %s""".formatted(name, published == null ? address : published,
                published == null ? "" : "\n  bind: " + address, String.join(", ", etcdEndpoints), cluster.prefix(),
                cluster.ttl(), cluster.access().yaml(), cluster.httpPort, accessLog(), cluster.sourcePort, cluster.dnsPort,
                cluster.dnsNameservers().stream().map(ns -> "'" + ns + "'").collect(java.util.stream.Collectors.joining(", ")),
                cluster.ttl(), cluster.icecastPort,
                cluster.dir().resolve(name + "-icecast"), cluster.dir().resolve(name + "-transcoders"), cluster.tlsYaml());
    }

    public synchronized void start() {
        if (running()) {
            return;
        }
        if (process != null) {
            unexpectedExits.add("pid " + process.pid() + " exited " + process.exitValue());
        }
        try {
            Files.writeString(config, yaml());
            List<String> cmd = new java.util.ArrayList<>(commandPrefix);
            cmd.addAll(RadiodJvm.command());
            cmd.addAll(List.of("-Dlogback.configurationFile=" + logbackConfig(), "radiod.controller.Main", "--config",
                    config.toString()));
            ProcessBuilder builder = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            builder.environment().putIfAbsent("MALLOC_ARENA_MAX", "2"); // as the package's launcher
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Path logbackConfig() throws IOException {
        Path f = cluster.dir().resolve("logback-radiod.xml");
        if (!Files.exists(f)) {
            Files.writeString(f, """
                    <configuration>
                      <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
                        <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{0} - %msg%n</pattern></encoder>
                      </appender>
                      <logger name="io.grpc" level="WARN"/>
                      <logger name="io.netty" level="WARN"/>
                      <logger name="io.etcd.jetcd" level="ERROR"/>
                      <logger name="io.vertx" level="WARN"/>
                      <root level="INFO"><appender-ref ref="OUT"/></root>
                    </configuration>
                    """);
        }
        return f;
    }

    public synchronized boolean running() {
        return process != null && process.isAlive();
    }

    public synchronized long pid() {
        return process.pid();
    }

    /**
     * How each earlier radiod process of this node ended when it ended without {@link #kill()} or {@link #stop()}
     * (seen at the next start): a crash, {@code -XX:+ExitOnOutOfMemoryError}, or the kernel's OOM killer.
     */
    public synchronized List<String> unexpectedExits() {
        return List.copyOf(unexpectedExits);
    }

    /** radiod's process and its descendants (Icecast, liquidsoap), none when it is not running. */
    public synchronized List<ProcessHandle> processes() {
        if (process == null || !process.isAlive()) {
            return List.of();
        }
        List<ProcessHandle> all = new java.util.ArrayList<>(List.of(process.toHandle()));
        process.toHandle().descendants().forEach(all::add);
        return all;
    }

    /** The node's Icecast child process, if one runs. */
    public Optional<ProcessHandle> icecast() {
        if (process == null) {
            return Optional.empty();
        }
        return process.toHandle().descendants()
                .filter(p -> p.info().command().map(c -> c.contains("icecast")).orElse(false))
                .findFirst();
    }

    /** kill -9 of radiod and its children (Icecast, liquidsoap), as a machine dying would. */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        Processes.killTree(process.toHandle());
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** SIGTERM and wait for a clean stop. */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        if (!Processes.await(process, Duration.ofSeconds(15))) {
            Processes.killTree(process.toHandle());
        }
        process = null;
    }

    public String logText() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "";
        }
    }
}
