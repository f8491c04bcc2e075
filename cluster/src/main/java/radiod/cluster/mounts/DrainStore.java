package radiod.cluster.mounts;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Drain;
import radiod.cluster.model.Json;
import radiod.cluster.model.NodeName;

/**
 * The operator's drain requests at {@code drain/<node>}: permanent keys (no lease), so a drained node stays
 * drained across its own restarts until it is undrained. Every call waits at most the options' call timeout.
 */
public final class DrainStore {
    private final Client client;
    private final EtcdOptions options;
    private final Keys keys;

    public DrainStore(Client client, EtcdOptions options) {
        this.client = client;
        this.options = options;
        this.keys = options.keys();
    }

    /** Writes (or overwrites) the drain request of {@code node}. */
    public void drain(String node, Drain drain) {
        NodeName.validate(node);
        EtcdClients.await(client.getKVClient().put(keys.drain(node), ByteSequence.from(Json.encode(drain))), options,
                "draining " + node);
    }

    /**
     * Removes the drain request of {@code node}.
     *
     * @return whether the node was drained
     */
    public boolean undrain(String node) {
        NodeName.validate(node);
        return EtcdClients.await(client.getKVClient().delete(keys.drain(node)), options, "undraining " + node)
                .getDeleted() > 0;
    }

    /** The drain request of {@code node}, if any; an unreadable value counts as a drain without reason. */
    public Optional<Drain> get(String node) {
        NodeName.validate(node);
        GetResponse r = EtcdClients.await(client.getKVClient().get(keys.drain(node)), options, "reading drain of " + node);
        return r.getKvs().stream().findFirst().map(DrainStore::decode);
    }

    /** Every drain request by node name, sorted. */
    public Map<String, Drain> list() {
        GetResponse r = EtcdClients.await(client.getKVClient().get(Keys.bytes(keys.prefix() + Keys.DRAIN),
                GetOption.builder().isPrefix(true).build()), options, "listing drains");
        Map<String, Drain> drains = new TreeMap<>();
        for (KeyValue kv : r.getKvs()) {
            String key = kv.getKey().toString(StandardCharsets.UTF_8);
            drains.put(key.substring(keys.prefix().length() + Keys.DRAIN.length()), decode(kv));
        }
        return drains;
    }

    private static Drain decode(KeyValue kv) {
        // Same reading as the cluster view: the key's presence is what drains a node.
        return Json.decode(kv.getKey().toString(StandardCharsets.UTF_8), kv.getValue().getBytes(), Drain.class)
                .orElseGet(() -> new Drain("", 0));
    }
}
