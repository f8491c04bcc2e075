package radiod.radioctl.connect;

import java.io.InputStream;
import java.nio.file.Path;

import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * Who radioctl is to etcd: a user and a password given in one of three ways (argument, file, standard input). A
 * picocli mixin of the top command whose options every command inherits.
 */
public final class EtcdCredentialOptions {
    @Option(names = "--etcd-user", paramLabel = "USER", scope = ScopeType.INHERIT, order = 102,
            description = "etcd user name, with --etcd-password")
    String etcdUser;

    @Option(names = "--etcd-password", paramLabel = "PASSWORD", scope = ScopeType.INHERIT, order = 103,
            description = "etcd password; shows in ps, so radioctl warns: prefer --etcd-password-file, "
                    + "--password-stdin, RADIOCTL_ETCD_PASSWORD or the config file")
    String etcdPassword;

    @Option(names = "--etcd-password-file", paramLabel = "FILE", scope = ScopeType.INHERIT, order = 103,
            description = "read the etcd password from the first line of FILE")
    Path etcdPasswordFile;

    @Option(names = {"--password-stdin", "--etcd-password-stdin"}, scope = ScopeType.INHERIT, order = 103,
            description = "read the etcd password from the first line of standard input")
    boolean passwordStdin;

    /** What --password-stdin read: standard input is read once. */
    private String stdinPassword;

    public String user() {
        return etcdUser;
    }

    /** Whether the etcd password was given as an argument, where {@code ps} shows it to everyone. */
    public boolean passwordOnCommandLine() {
        return etcdPassword != null;
    }

    /** The etcd password given by a flag (read from its file or from {@code stdin}), or null. */
    public synchronized String password(InputStream stdin) {
        int ways = (etcdPassword != null ? 1 : 0) + (etcdPasswordFile != null ? 1 : 0) + (passwordStdin ? 1 : 0);
        if (ways > 1) {
            throw new IllegalArgumentException(
                    "--etcd-password, --etcd-password-file and --password-stdin cannot be given together: use one");
        }
        if (etcdPasswordFile != null) {
            return EtcdPassword.fromFile(etcdPasswordFile);
        }
        if (passwordStdin) {
            if (stdinPassword == null) {
                stdinPassword = EtcdPassword.fromStdin(stdin);
            }
            return stdinPassword;
        }
        return etcdPassword;
    }
}
