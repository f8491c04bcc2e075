package radiod.radioctl.command;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import radiod.cluster.model.Drain;
import radiod.cluster.model.NodeName;
import radiod.cluster.view.ClusterSnapshot;
import radiod.radioctl.ExitCode;
import radiod.radioctl.Failure;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.output.Printer;

/** {@code radioctl drain node2}: the node takes no new listeners, leaves DNS and gives up mastership. */
@Command(name = "drain", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Drains a node, so that it can be serviced without a listener outage.",
                "It takes no new listeners, leaves the DNS answers, and gives up mastership if it holds it (another "
                        + "node takes over). Listeners already connected stay. It stays drained, across restarts, "
                        + "until `radioctl undrain`."})
public final class DrainNode extends EtcdCommand {
    @Parameters(paramLabel = "NODE", description = "node name, as `radioctl status` shows it")
    String node;

    @Option(names = "--reason", paramLabel = "TEXT", description = "why, for the other operators (shown by status)")
    String reason;

    @Option(names = "--force", description = "drain a node that is not live now (it will start drained)")
    boolean force;

    @Override
    void validate() {
        NodeName.validate(node);
    }

    @Override
    int run(Connection etcd, Printer out) {
        ClusterSnapshot snapshot = etcd.snapshot();
        boolean live = snapshot.node(node).isPresent();
        if (!live && !force) {
            throw Failure.notFound("node " + node + " is not live (live nodes: "
                    + (snapshot.nodes().isEmpty() ? "none" : String.join(", ", snapshot.nodes().keySet().stream().sorted().toList()))
                    + "); use --force to drain it anyway, so that it starts drained");
        }
        Optional<Drain> before = Optional.ofNullable(snapshot.drains().get(node));
        Drain drain = new Drain(reason != null ? reason : before.map(Drain::reason).orElse(""),
                before.map(Drain::since).filter(s -> s > 0).orElse(System.currentTimeMillis()));
        etcd.drains().drain(node, drain);
        boolean master = snapshot.isMaster(node);
        if (out.wantsJson()) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("node", node);
            doc.put("drained", true);
            doc.put("reason", drain.reason());
            doc.put("since", drain.since());
            doc.put("wasDrained", before.isPresent());
            doc.put("live", live);
            doc.put("master", master);
            out.json(doc);
            return ExitCode.OK;
        }
        out.line((before.isPresent() ? "node " + node + " was already drained (since " + Instant.ofEpochMilli(drain.since())
                + "); reason: " : "drained node " + node + "; reason: ")
                + (drain.reason().isEmpty() ? "-" : drain.reason()));
        out.line("it takes no new listeners and leaves the DNS answers; listeners already connected stay");
        if (master) {
            out.line("it is the master: it steps down and another node takes over the sources");
        }
        if (!live) {
            out.line("it is not live now, and will start drained");
        }
        out.line("`radioctl undrain " + node + "` brings it back");
        return ExitCode.OK;
    }
}
