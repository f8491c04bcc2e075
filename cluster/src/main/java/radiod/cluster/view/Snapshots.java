package radiod.cluster.view;

import java.util.List;
import java.util.Optional;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.NodeStatus;

/** One-shot reads of the whole cluster picture, for tools such as radioctl that do not keep a view. */
public final class Snapshots {
    private Snapshots() {
    }

    /**
     * Reads every key under the prefix but the {@link Keys#SECRET} subtree (which radioctl's etcd roles may not read)
     * in one transaction of two ranges, so at one revision, and decodes it; corrupt values are logged and skipped.
     *
     * @throws radiod.cluster.etcd.EtcdUnavailableException if etcd does not answer within the timeout
     */
    public static ClusterSnapshot read(Client client, Keys keys, long timeoutMillis) {
        TxnResponse response = EtcdClients.await(client.getKVClient().txn()
                        .Then(Op.get(keys.all(), GetOption.builder().withRange(keys.secrets()).build()),
                                Op.get(keys.afterSecrets(), GetOption.builder().withRange(keys.end()).build()))
                        .commit(),
                timeoutMillis, "reading " + keys.prefix());
        ViewState state = new ViewState();
        for (GetResponse part : response.getGetResponses()) {
            fold(state, keys, part.getKvs());
        }
        return state.snapshot(response.getHeader().getRevision());
    }

    /**
     * Reads one node's published status alone (one key), for a tool that polls it; a corrupt value is logged and
     * skipped, as in {@link #read}.
     *
     * @return the node's status; empty when it publishes none (it is not live) or its value is corrupt
     * @throws radiod.cluster.etcd.EtcdUnavailableException if etcd does not answer within the timeout
     */
    public static Optional<NodeStatus> readNode(Client client, Keys keys, String node, long timeoutMillis) {
        GetResponse response = EtcdClients.await(client.getKVClient().get(keys.node(node)), timeoutMillis,
                "reading " + node + "'s status");
        ViewState state = new ViewState();
        fold(state, keys, response.getKvs());
        return state.snapshot(response.getHeader().getRevision()).node(node);
    }

    static void fold(ViewState state, Keys keys, List<KeyValue> kvs) {
        for (KeyValue kv : kvs) {
            keys.relative(kv.getKey()).ifPresent(rel -> state.put(rel, kv.getValue().getBytes(), kv.getModRevision()));
        }
    }
}
