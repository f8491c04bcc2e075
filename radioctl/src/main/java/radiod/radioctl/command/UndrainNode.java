package radiod.radioctl.command;

import java.util.LinkedHashMap;
import java.util.Map;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import radiod.cluster.model.NodeName;
import radiod.radioctl.ExitCode;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.output.Printer;

/** {@code radioctl undrain node2}: the node takes listeners and can be master again. */
@Command(name = "undrain", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = "Ends a drain: the node takes listeners again, is back in DNS answers and may become master.")
public final class UndrainNode extends EtcdCommand {
    @Parameters(paramLabel = "NODE", description = "node name")
    String node;

    @Override
    void validate() {
        NodeName.validate(node);
    }

    @Override
    int run(Connection etcd, Printer out) {
        boolean was = etcd.drains().undrain(node);
        if (out.wantsJson()) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("node", node);
            doc.put("drained", false);
            doc.put("wasDrained", was);
            out.json(doc);
        } else {
            out.line(was ? "undrained node " + node + ": it takes listeners again" : "node " + node + " was not drained");
        }
        return ExitCode.OK;
    }
}
