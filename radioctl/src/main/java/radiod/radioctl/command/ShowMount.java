package radiod.radioctl.command;

import java.util.List;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import radiod.cluster.model.Mount;
import radiod.cluster.model.MountPath;
import radiod.cluster.mounts.MountNotFoundException;
import radiod.cluster.mounts.Versioned;
import radiod.cluster.view.ClusterSnapshot;
import radiod.radioctl.ExitCode;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.output.MountReport;
import radiod.radioctl.output.MountText;
import radiod.radioctl.output.MountUrls;
import radiod.radioctl.output.StatusReport;
import radiod.radioctl.output.Printer;

/** {@code radioctl show-mount /live.mp3}: one mount's settings and URLs; the password only when asked. */
@Command(name = "show-mount", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = "Shows a mount's settings, its revision and the URLs for broadcasters and listeners.")
public final class ShowMount extends EtcdCommand {
    @Parameters(paramLabel = "PATH", description = "the mount, e.g. /live.mp3")
    String path;

    @Option(names = "--show-password", description = "show the source password, and the upstream URL's password, too")
    boolean showPassword;

    @Override
    void validate() {
        MountPath.validate(path);
    }

    @Override
    int run(Connection etcd, Printer out) {
        Versioned<Mount> v = etcd.mounts().get(path).orElseThrow(() -> new MountNotFoundException(path));
        ClusterSnapshot snapshot = etcd.snapshot();
        List<String> transcoded = snapshot.mounts().values().stream()
                .filter(m -> m.isTranscoded() && m.transcoding().sourceMount().equals(path))
                .map(Mount::path).sorted().toList();
        MountReport report = MountReport.of(v.value(), v.modRevision(), false, transcoded,
                MountUrls.of(path, etcd.settings().clusterUrl(), snapshot))
                .withNowPlaying(snapshot.title(path).orElse(null), StatusReport.encoderNodes(snapshot, path));
        if (showPassword) {
            report = report.withSecrets(v.value());
        }
        if (out.wantsJson()) {
            out.json(report);
        } else {
            out.line("mount " + path);
            out.lines(MountText.render(report, v.value()));
        }
        return ExitCode.OK;
    }
}
