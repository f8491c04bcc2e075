package radiod.cluster.tls;

import radiod.cluster.model.NodeName;

/** The value of {@code acme/holder}: the node that won the ACME duty's election, and since when (epoch ms). */
public record AcmeHolder(String node, long since) {
    public AcmeHolder {
        NodeName.validate(node);
    }
}
