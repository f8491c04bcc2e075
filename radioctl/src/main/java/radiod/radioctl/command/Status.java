package radiod.radioctl.command;

import picocli.CommandLine.Command;
import radiod.radioctl.ExitCode;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.output.Printer;
import radiod.radioctl.output.StatusReport;

/**
 * {@code radioctl status}: master, nodes, and listeners per mount and node, from one read of etcd. Exits
 * {@link ExitCode#NO_MASTER} when no node is master, so that a script or a monitoring check sees it.
 */
@Command(name = "status", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Shows the master, the nodes and the listeners of every mount.",
                "Every node with its state (up, drained, down), role, addresses, listeners, bandwidth used / limit "
                        + "and the transcoders it runs; every mount with its listeners on each node and in total. "
                        + "Read in one request, at one etcd revision."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done, and a node is master",
                "1:other error",
                "2:bad usage",
                "5:etcd unreachable",
                "6:done, but no node is master: encoders cannot broadcast (the report is printed all the same)"})
public final class Status extends EtcdCommand {
    @Override
    int run(Connection etcd, Printer out) {
        StatusReport report = StatusReport.of(etcd.snapshot());
        if (out.wantsJson()) {
            out.json(report);
        } else {
            out.lines(report.render());
        }
        return report.master() == null ? ExitCode.NO_MASTER : ExitCode.OK;
    }
}
