package radiod.radioctl.command;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import radiod.cluster.mounts.MountNotFoundException;
import radiod.cluster.mounts.Versioned;
import radiod.cluster.model.Mount;
import radiod.cluster.model.MountPath;
import radiod.cluster.model.Redact;
import radiod.cluster.model.Transcoding;
import radiod.radioctl.ExitCode;
import radiod.radioctl.Failure;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.output.MountReport;
import radiod.radioctl.output.Printer;

/**
 * {@code radioctl edit-mount /live.mp3 --bitrate 192}: changes only the named fields, with a compare-and-swap
 * on the mount's etcd revision so that two operators editing at once cannot overwrite each other unseen.
 */
@Command(name = "edit-mount", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Changes the named settings of a mount; the others stay as they are.",
                "The change is written only if nobody else changed the mount since it was read (or since "
                        + "--if-revision); otherwise nothing is written and radioctl exits with 4."})
public final class EditMount extends EtcdCommand {
    @Parameters(paramLabel = "PATH", description = "the mount to change, e.g. /live.mp3")
    String path;

    @Option(names = "--user", paramLabel = "USER", description = "new source user name")
    String user;

    @Option(names = "--password", paramLabel = "PASSWORD", description = "new source password")
    String password;

    @Option(names = "--generate-password", description = "generate a new source password and print it")
    boolean generatePassword;

    @Option(names = "--upstream", paramLabel = "URL", description = "relay this external http:// stream")
    String upstream;

    @Option(names = "--no-upstream", description = "stop relaying; take an encoder again")
    boolean noUpstream;

    @Option(names = "--fallback", paramLabel = "PATH", description = "new fallback mount")
    String fallback;

    @Option(names = "--no-fallback", description = "remove the fallback mount")
    boolean noFallback;

    @Option(names = "--max-listeners", paramLabel = "N", description = "listener limit per node, 0 for none")
    Integer maxListeners;

    @Option(names = "--bitrate", paramLabel = "KBPS",
            description = "expected bitrate; for a transcoded mount, the output bitrate")
    Integer bitrate;

    @Option(names = "--source", paramLabel = "PATH", description = "transcoded mounts: the mount to transcode")
    String source;

    @Option(names = "--codec", paramLabel = "CODEC", completionCandidates = Codecs.class,
            description = "transcoded mounts: ${COMPLETION-CANDIDATES}")
    String codec;

    @Option(names = "--samplerate", paramLabel = "HZ", description = "transcoded mounts: output sample rate")
    Integer sampleRate;

    @Option(names = "--channels", paramLabel = "N", description = "transcoded mounts: 1 or 2")
    Integer channels;

    @Option(names = "--quality", paramLabel = "Q", description = "transcoded vorbis mounts: quality -0.1 to 1.0")
    Double quality;

    @Option(names = "--no-quality", description = "transcoded mounts: encode by bitrate rather than quality")
    boolean noQuality;

    @Mixin
    IfRevision ifRevision;

    @Override
    void validate() {
        MountPath.validate(path);
        exclusive(password != null, "--password", generatePassword, "--generate-password");
        exclusive(upstream != null, "--upstream", noUpstream, "--no-upstream");
        exclusive(fallback != null, "--fallback", noFallback, "--no-fallback");
        exclusive(quality != null, "--quality", noQuality, "--no-quality");
        boolean any = user != null || password != null || generatePassword || upstream != null || noUpstream
                || fallback != null || noFallback || maxListeners != null || bitrate != null || transcodingOption();
        if (!any) {
            throw Failure.usage("edit-mount " + path + ": nothing to change; give at least one of --user, --password, "
                    + "--generate-password, --upstream, --no-upstream, --fallback, --no-fallback, --max-listeners, "
                    + "--bitrate, --source, --codec, --samplerate, --channels, --quality, --no-quality");
        }
    }

    private boolean transcodingOption() {
        return source != null || codec != null || sampleRate != null || channels != null || quality != null || noQuality;
    }

    private static void exclusive(boolean a, String aName, boolean b, String bName) {
        if (a && b) {
            throw Failure.usage(aName + " and " + bName + " cannot be given together");
        }
    }

    @Override
    int run(Connection etcd, Printer out) {
        Versioned<Mount> current = etcd.mounts().get(path).orElseThrow(() -> new MountNotFoundException(path));
        ifRevision.check(path, current.modRevision());
        Mount old = current.value();
        Mount changed = apply(old);
        if (changed.isTranscoded() && source != null) {
            refuseLoop(etcd, changed);
        }
        List<String> what = differences(old, changed);
        if (what.isEmpty()) {
            if (out.wantsJson()) {
                out.json(MountReport.of(old, current.modRevision(), false, List.of(), null));
            } else {
                out.line("mount " + path + " already has these settings; nothing written");
            }
            return ExitCode.OK;
        }
        long revision = etcd.mounts().update(changed, current.modRevision());
        boolean showPassword = generatePassword || password != null;
        if (out.wantsJson()) {
            out.json(MountReport.of(changed, revision, showPassword, List.of(), null));
        } else {
            out.line("updated mount " + path + ": " + String.join(", ", what) + " (revision " + current.modRevision()
                    + " -> " + revision + ")");
            if (generatePassword) {
                out.line("new source password: " + changed.sourcePassword());
            }
        }
        return ExitCode.OK;
    }

    private Mount apply(Mount m) {
        Transcoding t = m.transcoding();
        if (t == null && transcodingOption()) {
            throw Failure.usage("--source, --codec, --samplerate, --channels, --quality and --no-quality apply to "
                    + "transcoded mounts only; " + path + " is a " + MountReport.type(m) + " mount");
        }
        Transcoding newT = t;
        int newBitrate = bitrate != null ? bitrate : m.bitrateKbps();
        if (t != null) {
            String newCodec = codec != null ? codec.toLowerCase(Locale.ROOT) : t.codec();
            boolean codecChanged = !newCodec.equals(t.codec());
            Double newQuality = noQuality ? null : quality != null ? quality : codecChanged && !newCodec.equals("vorbis")
                    ? null : t.quality();
            newT = new Transcoding(source != null ? source : t.sourceMount(), newCodec,
                    bitrate != null ? bitrate : t.bitrateKbps(),
                    sampleRate != null ? sampleRate : codecChanged ? 0 : t.sampleRate(),
                    channels != null ? channels : t.channels(), newQuality);
            newBitrate = newT.bitrateKbps();
        }
        String newPassword = generatePassword ? Passwords.generate() : password != null ? password : m.sourcePassword();
        String newUpstream = noUpstream ? null : upstream != null ? upstream : m.upstreamUrl();
        String newFallback = noFallback ? null : fallback != null ? fallback : m.fallbackMount();
        return new Mount(m.path(), user != null ? user : m.sourceUser(), newPassword, newUpstream, newFallback,
                maxListeners != null ? maxListeners : m.maxListeners(), newBitrate, newT);
    }

    /** A transcoded mount may not, through its chain of sources, end up reading itself. */
    private void refuseLoop(Connection etcd, Mount changed) {
        Map<String, Mount> mounts = new HashMap<>();
        etcd.mounts().list().forEach(v -> mounts.put(v.value().path(), v.value()));
        mounts.put(changed.path(), changed);
        Set<String> seen = new HashSet<>();
        List<String> chain = new ArrayList<>(List.of(changed.path()));
        Mount m = changed;
        while (m != null && m.isTranscoded()) {
            String next = m.transcoding().sourceMount();
            chain.add(next);
            if (next.equals(changed.path()) || !seen.add(next)) {
                throw Failure.usage("--source " + source + " would make " + path + " transcode itself ("
                        + String.join(" <- ", chain) + "); pick a mount that is not made from " + path);
            }
            m = mounts.get(next);
        }
    }

    private static List<String> differences(Mount a, Mount b) {
        List<String> d = new ArrayList<>();
        if (!a.sourceUser().equals(b.sourceUser())) {
            d.add("source user " + a.sourceUser() + " -> " + b.sourceUser());
        }
        if (!a.sourcePassword().equals(b.sourcePassword())) {
            d.add("source password");
        }
        if (!Objects.equals(a.upstreamUrl(), b.upstreamUrl())) {
            d.add("upstream " + dash(Redact.url(a.upstreamUrl())) + " -> " + dash(Redact.url(b.upstreamUrl())));
        }
        if (!Objects.equals(a.fallbackMount(), b.fallbackMount())) {
            d.add("fallback " + dash(a.fallbackMount()) + " -> " + dash(b.fallbackMount()));
        }
        if (a.maxListeners() != b.maxListeners()) {
            d.add("max listeners " + a.maxListeners() + " -> " + b.maxListeners());
        }
        if (a.bitrateKbps() != b.bitrateKbps()) {
            d.add("bitrate " + a.bitrateKbps() + " -> " + b.bitrateKbps() + " kbit/s");
        }
        if (!Objects.equals(a.transcoding(), b.transcoding())) {
            d.add("transcoding " + MountReport.describeTranscoding(b.transcoding()));
        }
        return d;
    }

    private static String dash(String s) {
        return s == null ? "-" : s;
    }
}
