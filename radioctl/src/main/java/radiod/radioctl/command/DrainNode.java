package radiod.radioctl.command;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import radiod.cluster.etcd.EtcdUnavailableException;
import radiod.cluster.model.Drain;
import radiod.cluster.model.NodeName;
import radiod.cluster.view.ClusterSnapshot;
import radiod.radioctl.ExitCode;
import radiod.radioctl.Failure;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.connect.Durations;
import radiod.radioctl.output.Printer;

/**
 * {@code radioctl drain node2}: the node takes no new listeners, leaves DNS and gives up mastership. With
 * {@code --wait 5m} it then waits, reading the node's published listener count, until none is left or the time is up.
 */
@Command(name = "drain", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Drains a node, so that it can be serviced without a listener outage.",
                "It takes no new listeners, leaves the DNS answers, and gives up mastership if it holds it (another "
                        + "node takes over). Listeners already connected stay. It stays drained, across restarts, "
                        + "until `radioctl undrain`.",
                "With --wait it then waits until the node's listeners have left (or it is no longer live), at most "
                        + "that long, e.g. before stopping it: `radioctl drain node2 --wait 10m && systemctl stop radiod`."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:drained (with --wait: and no listener is left on it)",
                "1:other error",
                "2:bad usage",
                "3:the node is not live (without --force): nothing was written",
                "5:etcd unreachable",
                "8:with --wait: drained, but listeners were still connected when the wait ended (their number is printed)"})
public final class DrainNode extends EtcdCommand {
    /** How long {@code --wait} may be: a listener of a long show may stay for an hour. */
    static final Duration MAX_WAIT = Duration.ofMinutes(60);
    /** How often {@code --wait} reads the node's listener count (a node publishes a change within about a second). */
    static final long POLL_MILLIS = 500;

    @Parameters(paramLabel = "NODE", description = "node name, as `radioctl status` shows it")
    String node;

    @Option(names = "--reason", paramLabel = "TEXT", description = "why, for the other operators (shown by status)")
    String reason;

    @Option(names = "--force", description = "drain a node that is not live now (it will start drained)")
    boolean force;

    @Option(names = "--wait", paramLabel = "DURATION", description = "then wait until no listener is left on the "
            + "node, at most this long, e.g. 5m (at most 60m)")
    String waitText;

    private Duration wait;

    @Override
    void validate() {
        NodeName.validate(node);
        wait = waitText == null ? null : Durations.parse("--wait", waitText, MAX_WAIT);
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
        Left left = wait == null ? null : waitForListeners(etcd, live ? snapshot.node(node).get().listeners() : 0);
        if (out.wantsJson()) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("node", node);
            doc.put("drained", true);
            doc.put("reason", drain.reason());
            doc.put("since", drain.since());
            doc.put("wasDrained", before.isPresent());
            doc.put("live", live);
            doc.put("master", master);
            if (left != null) {
                doc.put("listenersLeft", left.listeners());
                doc.put("waitedMillis", left.waitedMillis());
            }
            out.json(doc);
            return left == null || left.listeners() == 0 ? ExitCode.OK : ExitCode.LISTENERS_LEFT;
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
        if (left == null) {
            return ExitCode.OK;
        }
        String after = String.format(Locale.ROOT, "%.1f s", left.waitedMillis() / 1000.0);
        if (left.listeners() == 0) {
            out.line("no listener is left on " + node + " (after " + after + ")");
            return ExitCode.OK;
        }
        out.line(left.listeners() + (left.listeners() == 1 ? " listener is" : " listeners are") + " still connected to "
                + node + " after " + waitText + "; stopping it closes them and their players reconnect through the other nodes");
        return ExitCode.LISTENERS_LEFT;
    }

    /** What {@code --wait} found: the listeners still on the node when it ended (0: none), and how long it took. */
    record Left(int listeners, long waitedMillis) {
    }

    /**
     * Reads the node's published listener count until it is 0 or the node is no longer live (a stopped node has no
     * listeners), at most {@link #wait} (and one read's --timeout). A read that fails (etcd away for a moment) is tried
     * again until the end; the answer is then the last count read, the first one being the drain's own snapshot.
     */
    private Left waitForListeners(Connection etcd, int first) {
        long start = System.nanoTime();
        int[] listeners = {first};
        Poll.until(wait, POLL_MILLIS, () -> {
            if (listeners[0] > 0) {
                try {
                    listeners[0] = etcd.node(node).map(n -> n.listeners()).orElse(0); // its one key
                } catch (EtcdUnavailableException e) {
                    // the drain is written; keep the last count and try again while there is time
                }
            }
            return listeners[0] == 0;
        }, node + "'s listeners to leave");
        return new Left(listeners[0], (System.nanoTime() - start) / 1_000_000);
    }
}
