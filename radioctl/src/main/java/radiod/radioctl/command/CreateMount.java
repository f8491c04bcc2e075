package radiod.radioctl.command;

import java.util.List;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;
import radiod.radioctl.ExitCode;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.output.MountReport;
import radiod.radioctl.output.MountText;
import radiod.radioctl.output.MountUrls;
import radiod.radioctl.output.Printer;

/** {@code radioctl create-mount /live.mp3}: a new live (or relayed) mount, with generated credentials. */
@Command(name = "create-mount", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Creates a mount for an encoder (or one relayed from an external stream).",
                "Prints the source credentials and the URLs for broadcasters and listeners. A strong source "
                        + "password is generated unless --password is given. With --upstream, the master relays that "
                        + "external stream instead of waiting for an encoder."})
public final class CreateMount extends EtcdCommand {
    @Parameters(paramLabel = "PATH", description = "mount path, e.g. /live.mp3")
    String path;

    @Mixin
    NewMountOptions settings;

    @Option(names = "--upstream", paramLabel = "URL",
            description = "relay this external http:// stream instead of taking an encoder")
    String upstream;

    @Option(names = "--bitrate", paramLabel = "KBPS",
            description = "expected bitrate in kbit/s, for bandwidth planning (default: unknown, 128 assumed)")
    int bitrate;

    private Mount mount;

    @Override
    void validate() {
        mount = new Mount(path, settings.user, settings.passwordOrGenerated(), upstream, settings.fallback,
                settings.maxListeners, bitrate, null);
    }

    @Override
    int run(Connection etcd, Printer out) {
        ClusterSnapshot before = etcd.snapshot();
        long revision = etcd.mounts().create(mount);
        if (mount.fallbackMount() != null && before.mount(mount.fallbackMount()).isEmpty()) {
            out.note("fallback mount " + mount.fallbackMount() + " does not exist yet; create it for the fallback to work");
        }
        MountReport report = MountReport.of(mount, revision, true, List.of(),
                MountUrls.of(mount.path(), etcd.settings().clusterUrl(), before));
        if (out.wantsJson()) {
            out.json(report);
        } else {
            out.line("created mount " + mount.path());
            out.lines(MountText.render(report, mount));
        }
        return ExitCode.OK;
    }
}
