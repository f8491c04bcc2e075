package radiod.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real etcd (Debian's {@code etcd-server}) of one or more members on free loopback ports,
 * with temporary data directories, for integration tests.
 *
 * <pre>
 * &#64;RegisterExtension static final EtcdCluster etcd = EtcdCluster.single();
 * </pre>
 *
 * Members can be stopped, killed, paused (SIGSTOP) and started again on the same ports and data,
 * so tests can exercise etcd restarts and outages.
 */
public final class EtcdCluster implements BeforeAllCallback, AfterAllCallback, AutoCloseable {
    private static final String HOST = "127.0.0.1";

    private final List<Member> members = new ArrayList<>();
    private boolean tls;
    private TestCertificates certificates;
    private final String token = "radiod-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    private Path baseDir;
    /** A second address the members' client ports listen on (a test host in a network namespace's reach), or null. */
    private String extraClientHost;

    private EtcdCluster(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("an etcd cluster needs at least one member, got " + size);
        }
        for (int i = 0; i < size; i++) {
            members.add(new Member(this, "etcd" + i, Ports.free(HOST), Ports.free(HOST)));
        }
    }

    public static EtcdCluster single() {
        return new EtcdCluster(1);
    }

    public static EtcdCluster ofSize(int size) {
        return new EtcdCluster(size);
    }

    /**
     * Makes every member's client port listen on {@code address} too (same port; plain HTTP only), for radiod nodes
     * in a network namespace that reach this one through a veth pair. Call before {@link #start()}.
     */
    public EtcdCluster alsoListeningOn(String address) {
        if (tls) {
            throw new IllegalStateException("a second client address is for plain-HTTP clusters");
        }
        this.extraClientHost = address;
        return this;
    }

    /** The client endpoints on the second address given to {@link #alsoListeningOn}. */
    public List<String> endpointsOn(String address) {
        if (!address.equals(extraClientHost)) {
            throw new IllegalArgumentException("etcd does not listen on " + address);
        }
        return members.stream().map(m -> "http://" + address + ":" + m.clientPort).collect(Collectors.toList());
    }

    /** One member whose client port speaks TLS and requires a client certificate signed by {@link #certificates()}. */
    public static EtcdCluster singleWithClientCertificates() {
        EtcdCluster c = new EtcdCluster(1);
        c.tls = true;
        return c;
    }

    /** As {@link #singleWithClientCertificates()}, with {@code size} members (their peers talk plain HTTP). */
    public static EtcdCluster ofSizeWithClientCertificates(int size) {
        EtcdCluster c = new EtcdCluster(size);
        c.tls = true;
        return c;
    }

    /** The CA, server and client certificates of a TLS cluster (null otherwise). */
    public TestCertificates certificates() {
        return certificates;
    }

    /**
     * Turns on etcd's authentication with a root user and the given password (etcdctl, as an operator
     * would). Clients need that user from then on.
     */
    public void enableAuth(String rootPassword) {
        String ep = endpointsCsv();
        Etcdctl.run(ep, "user", "add", "root:" + rootPassword);
        Etcdctl.run(ep, "auth", "enable");
    }

    /**
     * The leases etcd holds now ({@code etcdctl lease list}, as an operator would count them): one per radiod
     * session and whatever else its clients granted and did not revoke or let expire.
     */
    public List<String> leases() {
        String out = Etcdctl.run(endpointsCsv(), "lease", "list");
        return out.lines().skip(1).map(String::strip).filter(l -> !l.isEmpty()).collect(Collectors.toList());
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    /** Starts every member and waits until each answers on its client port. */
    public synchronized void start() {
        try {
            if (baseDir == null) {
                // On tmpfs when there is one: test data need no fsync, and a loaded disk must not slow etcd down.
                Path shm = Path.of("/dev/shm");
                baseDir = Files.isDirectory(shm) && Files.isWritable(shm)
                        ? Files.createTempDirectory(shm, "radiod-etcd-") : Files.createTempDirectory("radiod-etcd-");
                if (tls) {
                    certificates = TestCertificates.create(baseDir.resolve("certs"));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (Member m : members) {
            if (!m.running()) {
                m.start();
            }
        }
        for (Member m : members) {
            m.awaitReady(Duration.ofSeconds(20));
        }
    }

    public List<Member> members() {
        return List.copyOf(members);
    }

    public Member member(int i) {
        return members.get(i);
    }

    /**
     * The watch streams etcd holds open now, summed over its running members (each member's
     * {@code etcd_debugging_mvcc_watch_stream_total} on its {@code /metrics}): one for each watch a client keeps, as
     * jetcd opens a stream per watch. Plain-text clusters only.
     */
    public long watchStreams() {
        if (tls) {
            throw new IllegalStateException("watchStreams() reads /metrics in plain text");
        }
        long sum = 0;
        for (Member m : members) {
            if (m.running()) {
                sum += m.metric("etcd_debugging_mvcc_watch_stream_total");
            }
        }
        return sum;
    }

    /** Client endpoints of every member, e.g. {@code http://127.0.0.1:23791}. */
    public List<String> endpoints() {
        return members.stream().map(Member::endpoint).collect(Collectors.toList());
    }

    public String endpointsCsv() {
        return String.join(",", endpoints());
    }

    String initialCluster() {
        return members.stream().map(m -> m.name + "=http://" + HOST + ":" + m.peerPort)
                .collect(Collectors.joining(","));
    }

    Path baseDir() {
        return baseDir;
    }

    String token() {
        return token;
    }

    @Override
    public synchronized void close() {
        for (Member m : members) {
            m.kill();
        }
        if (baseDir != null) {
            Files2.deleteRecursively(baseDir);
            baseDir = null;
        }
    }

    /** One etcd member process. */
    public static final class Member {
        private final EtcdCluster cluster;
        private final String name;
        private final int clientPort;
        private final int peerPort;
        private Process process;
        private boolean started;
        private List<String> commandPrefix = List.of();
        private final List<String> unexpectedExits = new ArrayList<>();

        Member(EtcdCluster cluster, String name, int clientPort, int peerPort) {
            this.cluster = cluster;
            this.name = name;
            this.clientPort = clientPort;
            this.peerPort = peerPort;
        }

        public String name() {
            return name;
        }

        public String endpoint() {
            return (cluster.tls ? "https://" : "http://") + HOST + ":" + clientPort;
        }

        public int clientPort() {
            return clientPort;
        }

        /** A gauge or counter without labels from the member's {@code /metrics}. */
        public long metric(String name) {
            try {
                java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
                        java.net.http.HttpRequest.newBuilder(java.net.URI.create(endpoint() + "/metrics"))
                                .timeout(Duration.ofSeconds(3)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
                return r.body().lines().filter(l -> l.startsWith(name + " "))
                        .mapToLong(l -> (long) Double.parseDouble(l.substring(name.length() + 1).trim())).findFirst()
                        .orElseThrow(() -> new IllegalStateException(name + " is not on " + this.name + "'s /metrics"));
            } catch (IOException e) {
                throw new UncheckedIOException(name + " from " + this.name, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        public synchronized boolean running() {
            return process != null && process.isAlive();
        }

        public synchronized long pid() {
            if (process == null) {
                throw new IllegalStateException(name + " is not running");
            }
            return process.pid();
        }

        /**
         * Runs this member under a command prefix from its next start on (e.g. a wrapper that places it in a cgroup
         * and execs it, so that its pid is etcd's own).
         */
        public synchronized Member commandPrefix(List<String> prefix) {
            this.commandPrefix = List.copyOf(prefix);
            return this;
        }

        /**
         * How each earlier process of this member ended when it ended without {@link #stop()} or {@link #kill()}
         * (seen at the next start): a crash, or the kernel's OOM killer.
         */
        public synchronized List<String> unexpectedExits() {
            return List.copyOf(unexpectedExits);
        }

        /** Starts (or restarts) this member on the same ports and data directory. */
        public synchronized void start() {
            if (running()) {
                return;
            }
            if (process != null) {
                unexpectedExits.add("pid " + process.pid() + " exited " + process.exitValue());
            }
            Path data = cluster.baseDir().resolve(name);
            List<String> cmd = new ArrayList<>(commandPrefix);
            cmd.addAll(List.of(
                    "etcd",
                    "--name", name,
                    "--data-dir", data.toString(),
                    "--listen-client-urls", cluster.extraClientHost == null ? endpoint()
                            : endpoint() + ",http://" + cluster.extraClientHost + ":" + clientPort,
                    "--advertise-client-urls", endpoint(),
                    "--listen-peer-urls", "http://" + HOST + ":" + peerPort,
                    "--initial-advertise-peer-urls", "http://" + HOST + ":" + peerPort,
                    "--initial-cluster", cluster.initialCluster(),
                    "--initial-cluster-token", cluster.token(),
                    "--initial-cluster-state", started ? "existing" : "new",
                    "--heartbeat-interval", "50",
                    "--election-timeout", "500",
                    "--logger", "zap",
                    "--log-level", "warn"));
            if (cluster.tls) {
                TestCertificates c = cluster.certificates;
                cmd.addAll(List.of("--client-cert-auth", "--trusted-ca-file", c.ca().toString(),
                        "--cert-file", c.serverCert().toString(), "--key-file", c.serverKey().toString()));
            }
            try {
                Path log = cluster.baseDir().resolve(name + ".log");
                process = new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                        .start();
                started = true;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start etcd (install Debian's etcd-server): " + e.getMessage(), e);
            }
        }

        /** The last {@code lines} lines of this member's log, or why it cannot be read. */
        String logTail(int lines) {
            try {
                List<String> all = Files.readAllLines(cluster.baseDir().resolve(name + ".log"));
                return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
            } catch (IOException e) {
                return "(no log: " + e.getMessage() + ")";
            }
        }

        void awaitReady(Duration timeout) {
            Instant deadline = Instant.now().plus(timeout);
            while (Instant.now().isBefore(deadline)) {
                if (!running()) { // its log goes with the cluster's directory: quote the end of it
                    throw new IllegalStateException("etcd member " + name + " exited; the end of its log:\n" + logTail(20));
                }
                if (cluster.tls ? Ports.accepts(HOST, clientPort) : Ports.answersHttp(HOST, clientPort, "/health")) {
                    return;
                }
                Ports.pause(50);
            }
            throw new IllegalStateException("etcd member " + name + " not healthy within " + timeout);
        }

        /** Starts this member and waits until it answers. */
        public void restart() {
            stop();
            start();
            awaitReady(Duration.ofSeconds(20));
        }

        /** SIGTERM and wait. */
        public synchronized void stop() {
            if (process != null) {
                process.destroy();
                Processes.await(process, Duration.ofSeconds(10));
                process = null;
            }
        }

        /** SIGKILL and wait. */
        public synchronized void kill() {
            if (process != null) {
                process.destroyForcibly();
                Processes.await(process, Duration.ofSeconds(10));
                process = null;
            }
        }

        /** SIGSTOP: the member stops answering but keeps its sockets open. */
        public void pause() {
            Processes.signal(pid(), "STOP");
        }

        /** SIGCONT after {@link #pause()}. */
        public void resume() {
            Processes.signal(pid(), "CONT");
        }
    }
}
