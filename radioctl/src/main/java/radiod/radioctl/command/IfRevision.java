package radiod.radioctl.command;

import picocli.CommandLine.Option;
import radiod.cluster.mounts.MountChangedException;

/** {@code --if-revision}: a mixin for the commands that change a mount only if nobody changed it since it was shown. */
final class IfRevision {
    @Option(names = "--if-revision", paramLabel = "REV",
            description = "act on the mount only if it is still at this revision (from show-mount)")
    Long revision;

    /** Throws {@link MountChangedException} when a revision was given and the mount's is another one. */
    void check(String path, long current) {
        if (revision != null && revision != current) {
            throw new MountChangedException(path, revision, current);
        }
    }
}
