package radiod.radioctl.connect;

import java.util.Optional;

import io.etcd.jetcd.Client;
import radiod.cluster.admin.AdminTokens;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.mounts.DrainStore;
import radiod.cluster.mounts.MountStore;
import radiod.cluster.mounts.TitleStore;
import radiod.cluster.tls.TlsStore;
import radiod.cluster.view.ClusterSnapshot;
import radiod.cluster.view.Snapshots;

/**
 * One command's link to etcd. The client connects lazily, so opening this never fails or waits; each request
 * through it waits at most the settings' timeout.
 */
public final class Connection implements AutoCloseable {
    private final Settings settings;
    private final Client client;
    private final MountStore mounts;
    private final DrainStore drains;
    private final TitleStore titles;
    private final AdminTokens adminTokens;
    private final TlsStore tls;

    public Connection(Settings settings) {
        this.settings = settings;
        this.client = EtcdClients.connect(settings.etcd());
        this.mounts = new MountStore(client, settings.etcd());
        this.drains = new DrainStore(client, settings.etcd());
        this.titles = new TitleStore(client, settings.etcd());
        this.adminTokens = new AdminTokens(client, settings.etcd());
        this.tls = new TlsStore(client, settings.etcd());
    }

    public Settings settings() {
        return settings;
    }

    public EtcdOptions options() {
        return settings.etcd();
    }

    public MountStore mounts() {
        return mounts;
    }

    public DrainStore drains() {
        return drains;
    }

    /** Song titles and kick requests. */
    public TitleStore titles() {
        return titles;
    }

    /** The cluster's admin token, which the nodes' {@code /_admin/} endpoints ask for. */
    public AdminTokens adminTokens() {
        return adminTokens;
    }

    /** The certificate and the renewal requests. */
    public TlsStore tls() {
        return tls;
    }

    /** Everything under the prefix but its secrets, read in one request. */
    public ClusterSnapshot snapshot() {
        return Snapshots.read(client, settings.etcd().keys(), settings.timeout().toMillis());
    }

    /** One node's published status (its one key, not the whole prefix): empty when it is not live. */
    public Optional<NodeStatus> node(String name) {
        return Snapshots.readNode(client, settings.etcd().keys(), name, settings.timeout().toMillis());
    }

    @Override
    public void close() {
        client.close();
    }
}
