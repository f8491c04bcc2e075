package radiod.radioctl.command;

import picocli.CommandLine.Option;

/**
 * The settings every new mount takes, live or transcoded: who may send it, where its listeners go while it is
 * silent, and how many a node serves. A mixin of create-mount and create-transcoding-mount.
 */
final class NewMountOptions {
    @Option(names = "--user", paramLabel = "USER", description = "source user name (default: source)")
    String user;

    @Option(names = "--password", paramLabel = "PASSWORD",
            description = "source password (default: 24 random letters and digits)")
    String password;

    @Option(names = "--fallback", paramLabel = "PATH",
            description = "mount listeners move to while this one has no source")
    String fallback;

    @Option(names = "--max-listeners", paramLabel = "N", description = "listener limit per node (default: 0, no limit)")
    int maxListeners;

    /** The password given, or a strong generated one. */
    String passwordOrGenerated() {
        return password == null ? Passwords.generate() : password;
    }
}
