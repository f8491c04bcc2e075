package radiod.radioctl.command;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import radiod.cluster.model.Mount;
import radiod.cluster.model.MountPath;
import radiod.cluster.mounts.CorruptMountException;
import radiod.cluster.mounts.MountNotFoundException;
import radiod.cluster.mounts.Versioned;
import radiod.radioctl.ExitCode;
import radiod.radioctl.Failure;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.output.Printer;

/** {@code radioctl delete-mount /live.mp3}: refuses while transcoded mounts are made from it, unless forced. */
@Command(name = "delete-mount", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Deletes a mount (refuses one that transcoded mounts are made from).",
                "Encoders can no longer send it and its listeners are cut off. A mount that transcoded mounts "
                        + "are made from is only deleted with --force."})
public final class DeleteMount extends EtcdCommand {
    @Parameters(paramLabel = "PATH", description = "the mount to delete, e.g. /live.mp3")
    String path;

    @Option(names = "--force", description = "delete it even though transcoded mounts are made from it (they go silent)")
    boolean force;

    @Mixin
    IfRevision ifRevision;

    @Override
    void validate() {
        MountPath.validate(path);
    }

    @Override
    int run(Connection etcd, Printer out) {
        Optional<Versioned<Mount>> current;
        try {
            current = etcd.mounts().get(path);
        } catch (CorruptMountException e) {
            // An unreadable value has no dependents we could know of; deleting it is how it gets fixed.
            etcd.mounts().delete(path);
            report(out, 0, List.of(), "deleted corrupt mount " + path);
            return ExitCode.OK;
        }
        Versioned<Mount> mount = current.orElseThrow(() -> new MountNotFoundException(path));
        ifRevision.check(path, mount.modRevision());
        List<Mount> all = etcd.mounts().list().stream().map(Versioned::value).toList();
        List<String> dependents = all.stream()
                .filter(m -> m.isTranscoded() && m.transcoding().sourceMount().equals(path)).map(Mount::path).toList();
        if (!dependents.isEmpty() && !force) {
            throw Failure.conflict("mount " + path + " is the source of transcoded mount"
                    + (dependents.size() > 1 ? "s " : " ") + String.join(", ", dependents)
                    + ": delete " + (dependents.size() > 1 ? "them" : "it") + " first, or use --force to delete "
                    + path + " anyway (" + (dependents.size() > 1 ? "they go" : "it goes") + " silent)");
        }
        etcd.mounts().delete(path, mount.modRevision()); // its title with it, in one transaction
        all.stream().filter(m -> path.equals(m.fallbackMount())).forEach(m ->
                out.note(m.path() + " still names " + path + " as its fallback (`radioctl edit-mount " + m.path()
                        + " --no-fallback` removes it)"));
        report(out, mount.modRevision(), dependents, "deleted mount " + path
                + (dependents.isEmpty() ? "" : "; " + String.join(", ", dependents) + " now " + (dependents.size() > 1
                        ? "have" : "has") + " no source"));
        return ExitCode.OK;
    }

    private void report(Printer out, long revision, List<String> orphans, String text) {
        if (out.wantsJson()) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("deleted", path);
            doc.put("modRevision", revision);
            doc.put("transcodedMountsWithoutSource", orphans);
            out.json(doc);
        } else {
            out.line(text);
        }
    }
}
