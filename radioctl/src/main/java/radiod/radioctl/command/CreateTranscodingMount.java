package radiod.radioctl.command;

import java.util.List;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import radiod.cluster.model.Mount;
import radiod.cluster.model.Transcoding;
import radiod.cluster.view.ClusterSnapshot;
import radiod.radioctl.ExitCode;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.output.MountReport;
import radiod.radioctl.output.MountText;
import radiod.radioctl.output.MountUrls;
import radiod.radioctl.output.Printer;

/** {@code radioctl create-transcoding-mount /live-64.mp3 --source /live.mp3 --codec mp3 --bitrate 64}. */
@Command(name = "create-transcoding-mount", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Creates a mount made from another one by re-encoding it.",
                "One node of the cluster runs the transcoder (liquidsoap); another takes over if that node dies. "
                        + "The source mount must exist."})
public final class CreateTranscodingMount extends EtcdCommand {
    @Parameters(paramLabel = "PATH", description = "the new mount's path, e.g. /live-64.mp3")
    String path;

    @Option(names = "--source", required = true, paramLabel = "PATH", description = "the mount to transcode, e.g. /live.mp3")
    String source;

    @Option(names = "--codec", required = true, paramLabel = "CODEC", completionCandidates = Codecs.class,
            description = "output codec: ${COMPLETION-CANDIDATES}")
    String codec;

    @Option(names = "--bitrate", required = true, paramLabel = "KBPS",
            description = "output bitrate in kbit/s (mp3 8-320, vorbis 32-500, opus 6-510)")
    int bitrate;

    @Option(names = "--samplerate", paramLabel = "HZ", description = "output sample rate (default: 44100, opus 48000)")
    int sampleRate;

    @Option(names = "--channels", paramLabel = "N", description = "1 (mono) or 2 (stereo, the default)")
    int channels;

    @Option(names = "--quality", paramLabel = "Q", description = "vorbis only: quality -0.1 to 1.0 instead of bitrate")
    Double quality;

    @Mixin
    NewMountOptions settings;

    private Mount mount;

    @Override
    void validate() {
        Transcoding t = new Transcoding(source, codec, bitrate, sampleRate, channels, quality);
        mount = new Mount(path, settings.user, settings.passwordOrGenerated(), null, settings.fallback, settings.maxListeners,
                bitrate, t);
    }

    @Override
    int run(Connection etcd, Printer out) {
        ClusterSnapshot before = etcd.snapshot();
        long revision = etcd.mounts().create(mount);
        MountReport report = MountReport.of(mount, revision, true, List.of(),
                MountUrls.of(mount.path(), etcd.settings().clusterUrl(), before));
        if (out.wantsJson()) {
            out.json(report);
        } else {
            out.line("created transcoded mount " + mount.path() + " (" + MountReport.describeTranscoding(mount.transcoding())
                    + ")");
            out.lines(MountText.render(report, mount));
        }
        return ExitCode.OK;
    }
}
