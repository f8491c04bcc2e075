package radiod.tests.harness;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.etcd.jetcd.Client;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Json;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;
import radiod.cluster.view.Snapshots;
import radiod.testkit.EtcdCluster;
import radiod.testkit.Ports;
import radiod.testkit.TestCertificates;

/**
 * A real radiod cluster for end-to-end tests: N radiod processes (each supervising its own Icecast) on
 * 127.0.0.11, .12, … with the same ports on every address, coordinated through a real etcd.
 */
public final class RadiodCluster implements AutoCloseable {
    static {
        // Conditions poll etcd and HTTP; one slow answer on a loaded machine is a reason to poll again, not to fail.
        org.awaitility.Awaitility.ignoreExceptionsByDefault();
    }

    private final EtcdCluster etcd;
    private final Path dir;
    private final int ttl;
    private final String prefix;
    private final List<RadiodProcess> nodes = new ArrayList<>();
    private final Client client;
    private final EtcdOptions options;
    public final int httpPort;
    public final int sourcePort;
    public final int icecastPort;
    public final int dnsPort;
    /** {@code tls.https_port} and {@code tls.source_port}, used when {@link #tlsFiles} is set. */
    public final int httpsPort;
    public final int tlsSourcePort;
    private volatile Path tlsCertificate;
    private volatile Path tlsKey;

    /**
     * Where a node runs: its address, a command prefix that starts it (e.g. {@code ip netns exec <ns>}) and the etcd
     * endpoints it uses.
     */
    public record Placement(String address, List<String> commandPrefix, List<String> etcdEndpoints) {
        public Placement {
            commandPrefix = List.copyOf(commandPrefix);
            etcdEndpoints = List.copyOf(etcdEndpoints);
        }
    }

    /**
     * How radiod and the harness authenticate to etcd: a user and password, a client certificate, both or neither
     * (the TLS files also switch the endpoints to https, as {@link EtcdCluster#singleWithClientCertificates} serves).
     */
    public record EtcdAccess(String user, String password, TestCertificates tls) {
        public static final EtcdAccess OPEN = new EtcdAccess(null, null, null);

        EtcdOptions options(List<String> endpoints) {
            return new EtcdOptions(endpoints, null, user, password, tls == null ? null : tls.ca(),
                    tls == null ? null : tls.clientCert(), tls == null ? null : tls.clientKey(), null);
        }

        /** The lines under {@code etcd:} of radiod's config. */
        String yaml() {
            StringBuilder y = new StringBuilder();
            if (user != null) {
                y.append("  username: ").append(user).append('\n').append("  password: ").append(password).append('\n');
            }
            if (tls != null) {
                y.append("  tls: {ca_file: ").append(tls.ca()).append(", cert_file: ").append(tls.clientCert())
                        .append(", key_file: ").append(tls.clientKey()).append("}\n");
            }
            return y.toString();
        }
    }

    private final EtcdAccess access;
    private volatile List<String> dnsNameservers = List.of("ns1.radio.test");

    public RadiodCluster(EtcdCluster etcd, int size, int leaseTtl) {
        this(etcd, leaseTtl, defaultPlacements(etcd, size), EtcdAccess.OPEN);
    }

    public RadiodCluster(EtcdCluster etcd, int size, int leaseTtl, EtcdAccess access) {
        this(etcd, leaseTtl, defaultPlacements(etcd, size), access);
    }

    public static List<Placement> defaultPlacements(EtcdCluster etcd, int size) {
        List<Placement> p = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            p.add(new Placement(address(i), List.of(), etcd.endpoints()));
        }
        return p;
    }

    public RadiodCluster(EtcdCluster etcd, int leaseTtl, List<Placement> placements) {
        this(etcd, leaseTtl, placements, EtcdAccess.OPEN);
    }

    public RadiodCluster(EtcdCluster etcd, int leaseTtl, List<Placement> placements, EtcdAccess access) {
        this(etcd, leaseTtl, placements, access, 0);
    }

    /**
     * A cluster whose DNS servers listen on {@code dnsPort} (e.g. 53, for tools that cannot ask another port; the
     * placements' addresses must have it free), or on a free port like the other services when it is 0.
     */
    public RadiodCluster(EtcdCluster etcd, int leaseTtl, List<Placement> placements, EtcdAccess access, int dnsPort) {
        int size = placements.size();
        this.access = access;
        this.etcd = etcd;
        this.ttl = leaseTtl;
        this.prefix = "/radiod-" + Long.toString(System.nanoTime(), 36) + "/";
        try {
            this.dir = Files.createTempDirectory("radiod-cluster-");
            // Icecast drops root and must still reach its files.
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> hosts = new ArrayList<>();
        for (Placement p : placements) {
            if (p.address().startsWith("127.")) { // an address in another namespace has every port free
                hosts.add(p.address());
            }
        }
        int[] ports = freeOnAll(hosts, 6);
        httpPort = ports[0];
        sourcePort = ports[1];
        icecastPort = ports[2];
        this.dnsPort = dnsPort == 0 ? ports[3] : dnsPort;
        httpsPort = ports[4];
        tlsSourcePort = ports[5];
        for (int i = 0; i < size; i++) {
            nodes.add(new RadiodProcess(this, "node" + (i + 1), placements.get(i)));
        }
        options = access.options(etcd.endpoints()).withPrefix(prefix);
        client = EtcdClients.connect(options);
        // Never leave radiod (and its Icecast) running when the test JVM goes, however it goes.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> nodes.forEach(RadiodProcess::kill)));
    }

    public static String address(int index) {
        return "127.0.0." + (11 + index);
    }

    private static int[] freeOnAll(List<String> hosts, int count) {
        int[] ports = new int[count];
        outer:
        for (int i = 0; i < count; ) {
            int p = Ports.free(hosts.get(0));
            for (String h : hosts) {
                if (!Ports.isFree(h, p)) {
                    continue outer;
                }
            }
            for (int j = 0; j < i; j++) {
                if (ports[j] == p) {
                    continue outer;
                }
            }
            ports[i++] = p;
        }
        return ports;
    }

    /** The zone's nameservers as radiod's {@code dns.nameservers} takes them; set before {@link #start()}. */
    public RadiodCluster dnsNameservers(List<String> specs) {
        this.dnsNameservers = List.copyOf(specs);
        return this;
    }

    public List<String> dnsNameservers() {
        return dnsNameservers;
    }

    /** Every node serves HTTPS and TLS sources with this PEM pair ({@code tls.certificate_file}); set before {@link #start()}. */
    public RadiodCluster tlsFiles(Path certificate, Path key) {
        this.tlsCertificate = certificate;
        this.tlsKey = key;
        return this;
    }

    /**
     * Every node serves HTTPS and TLS sources with the certificate that the node holding the ACME duty gets from this
     * CA ({@code tls.acme}); set before {@link #start()}.
     *
     * @param caFile what the nodes trust for the CA's own HTTPS
     */
    public RadiodCluster tlsAcme(String directory, Path caFile) {
        this.acmeDirectory = directory;
        this.acmeCaFile = caFile;
        return this;
    }

    private volatile String acmeDirectory;
    private volatile Path acmeCaFile;

    /** The {@code tls:} section of radiod's config: none without {@link #tlsFiles} or {@link #tlsAcme}. */
    String tlsYaml() {
        Path cert = tlsCertificate;
        if (acmeDirectory != null) {
            return "tls: {https_port: " + httpsPort + ", source_port: " + tlsSourcePort + ", acme: {directory: '"
                    + acmeDirectory + "', email: hostmaster@radio.test, ca_file: '" + acmeCaFile + "'}}\n";
        }
        return cert == null ? "" : "tls: {https_port: " + httpsPort + ", source_port: " + tlsSourcePort
                + ", certificate_file: '" + cert + "', key_file: '" + tlsKey + "'}\n";
    }

    public RadiodCluster start() {
        nodes.forEach(RadiodProcess::start);
        return this;
    }

    public List<RadiodProcess> nodes() {
        return List.copyOf(nodes);
    }

    public RadiodProcess node(int i) {
        return nodes.get(i);
    }

    public RadiodProcess node(String name) {
        return nodes.stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    public Path dir() {
        return dir;
    }

    public int ttl() {
        return ttl;
    }

    public String prefix() {
        return prefix;
    }

    public EtcdCluster etcd() {
        return etcd;
    }

    public EtcdAccess access() {
        return access;
    }

    public EtcdOptions etcdOptions() {
        return options;
    }

    public Client etcdClient() {
        return client;
    }

    /** One GET of the cluster's keys, as radioctl sees them. */
    public ClusterSnapshot snapshot() {
        return Snapshots.read(client, options.keys(), 5000);
    }

    public Optional<RadiodProcess> master() {
        return snapshot().master().map(m -> node(m.name()));
    }

    /** Waits until a master is elected and every running node has published its status with Icecast up. */
    public RadiodProcess awaitReady(Duration timeout) {
        await().atMost(timeout).pollInterval(Duration.ofMillis(100)).until(() -> {
            ClusterSnapshot s = snapshot();
            return s.master().isPresent() && nodes.stream().filter(RadiodProcess::running)
                    .allMatch(n -> s.node(n.name()).map(st -> st.icecastUp()).orElse(false));
        });
        return master().orElseThrow();
    }

    public void putMount(Mount mount) {
        EtcdClients.await(client.getKVClient().put(options.keys().mount(mount.path()),
                io.etcd.jetcd.ByteSequence.from(Json.encode(mount))), options, "put mount");
    }

    public void putRaw(String relativeKey, String value) {
        EtcdClients.await(client.getKVClient().put(Keys.bytes(prefix + relativeKey), Keys.bytes(value)), options,
                "put " + relativeKey);
    }

    public void deleteRaw(String relativeKey) {
        EtcdClients.await(client.getKVClient().delete(Keys.bytes(prefix + relativeKey)), options, "delete " + relativeKey);
    }

    @Override
    public void close() {
        nodes.forEach(RadiodProcess::kill);
        client.close();
    }
}
