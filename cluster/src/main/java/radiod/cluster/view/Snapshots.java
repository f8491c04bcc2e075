package radiod.cluster.view;

import java.util.List;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.Keys;

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

    static void fold(ViewState state, Keys keys, List<KeyValue> kvs) {
        for (KeyValue kv : kvs) {
            keys.relative(kv.getKey()).ifPresent(rel -> state.put(rel, kv.getValue().getBytes(), kv.getModRevision()));
        }
    }
}
