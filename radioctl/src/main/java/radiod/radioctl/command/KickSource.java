package radiod.radioctl.command;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import radiod.cluster.model.Kick;
import radiod.cluster.model.MountPath;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.mounts.MountNotFoundException;
import radiod.cluster.view.ClusterSnapshot;
import radiod.radioctl.ExitCode;
import radiod.radioctl.Failure;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.output.Printer;

/** {@code radioctl kick-source /live.mp3}: disconnects the mount's encoder, wherever it is connected. */
@Command(name = "kick-source", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Disconnects the encoder of a mount, on whichever node holds it. The mount stays defined; an "
                + "encoder that reconnects is taken again (change the mount's password with edit-mount to keep it "
                + "out).",
                "Exits 3 when the mount does not exist or no encoder is connected to it, 1 when a node still holds "
                        + "the encoder after the timeout."})
public final class KickSource extends EtcdCommand {
    /** The request's lease: long enough for every node to see it, short enough to leave nothing behind. */
    static final Duration REQUEST_TTL = Duration.ofSeconds(30);

    @Parameters(paramLabel = "MOUNT", description = "mount path, e.g. /live.mp3")
    String path;

    @Override
    void validate() {
        MountPath.validate(path);
    }

    @Override
    int run(Connection etcd, Printer out) {
        etcd.mounts().get(path).orElseThrow(() -> new MountNotFoundException(path));
        Map<String, String> held = holders(etcd.snapshot());
        if (held.isEmpty()) {
            throw Failure.notFound("no encoder is connected to " + path);
        }
        etcd.titles().kick(path, new Kick("radioctl", System.currentTimeMillis()), REQUEST_TTL);
        // Each node drops the encoder when its view brings the request, and says so in its next status (every second).
        Map<String, String> still = new LinkedHashMap<>(held);
        Duration timeout = etcd.settings().timeout();
        Poll.until(timeout.compareTo(Duration.ofSeconds(5)) > 0 ? timeout : Duration.ofSeconds(5), 200, () -> {
            Map<String, String> now = holders(etcd.snapshot());
            still.entrySet().removeIf(e -> !e.getValue().equals(now.get(e.getKey())));
            return still.isEmpty();
        }, "the encoder of " + path + " to be disconnected");
        List<String> nodes = List.copyOf(held.keySet());
        if (out.wantsJson()) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("mount", path);
            doc.put("kickedOn", nodes);
            doc.put("stillConnectedOn", List.copyOf(still.keySet()));
            out.json(doc);
        } else if (still.isEmpty()) {
            out.line("disconnected the encoder of " + path + " on " + String.join(", ", nodes)
                    + "; the mount stays defined");
        }
        if (!still.isEmpty()) {
            throw new Failure(ExitCode.OTHER, "asked every node to disconnect the encoder of " + path + ", but "
                    + String.join(", ", still.keySet()) + " still holds it");
        }
        return ExitCode.OK;
    }

    /** The nodes holding an encoder of the mount, with its session. */
    private Map<String, String> holders(ClusterSnapshot s) {
        Map<String, String> out = new LinkedHashMap<>();
        for (NodeStatus n : s.nodes().values().stream().sorted((a, b) -> a.name().compareTo(b.name())).toList()) {
            String session = n.sources().get(path);
            if (session != null) {
                out.put(n.name(), session);
            }
        }
        return out;
    }
}
