package radiod.radioctl.command;

import java.util.List;

import picocli.CommandLine.Command;
import radiod.cluster.model.Mount;
import radiod.cluster.mounts.Versioned;
import radiod.radioctl.ExitCode;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.output.MountReport;
import radiod.radioctl.output.Printer;
import radiod.radioctl.output.Table;

/** {@code radioctl list-mounts}: every mount, sorted by path, passwords left out. */
@Command(name = "list-mounts", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = "Lists every mount, sorted by path (source passwords are not shown).")
public final class ListMounts extends EtcdCommand {
    @Override
    int run(Connection etcd, Printer out) {
        List<Versioned<Mount>> mounts = etcd.mounts().list();
        List<MountReport> reports = mounts.stream().map(v -> MountReport.of(v.value(), v.modRevision(), false,
                mounts.stream().map(Versioned::value)
                        .filter(m -> m.isTranscoded() && m.transcoding().sourceMount().equals(v.value().path()))
                        .map(Mount::path).toList(),
                null)).toList();
        if (out.wantsJson()) {
            out.json(reports);
            return ExitCode.OK;
        }
        if (mounts.isEmpty()) {
            out.line("no mounts yet (`radioctl create-mount PATH` creates one)");
            return ExitCode.OK;
        }
        Table t = new Table("PATH", "TYPE", "FROM", "BITRATE", "MAX LISTENERS", "FALLBACK");
        for (Versioned<Mount> v : mounts) {
            Mount m = v.value();
            t.row(m.path(), MountReport.type(m), MountReport.origin(m), MountReport.bitrate(m),
                    m.maxListeners() == 0 ? "no limit" : m.maxListeners(), m.fallbackMount());
        }
        out.lines(t.render());
        return ExitCode.OK;
    }
}
