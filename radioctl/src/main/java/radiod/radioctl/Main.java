package radiod.radioctl;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

import org.slf4j.bridge.SLF4JBridgeHandler;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import radiod.radioctl.command.Completion;
import radiod.radioctl.command.RenewCertificate;
import radiod.radioctl.command.CreateMount;
import radiod.radioctl.command.CreateTranscodingMount;
import radiod.radioctl.command.DeleteMount;
import radiod.radioctl.command.DrainNode;
import radiod.radioctl.command.EditMount;
import radiod.radioctl.command.KickSource;
import radiod.radioctl.command.Listeners;
import radiod.radioctl.command.ListMounts;
import radiod.radioctl.command.SetTitle;
import radiod.radioctl.command.ShowMount;
import radiod.radioctl.command.Status;
import radiod.radioctl.command.UndrainNode;
import radiod.radioctl.connect.EtcdCredentialOptions;
import radiod.radioctl.connect.EtcdEndpointOptions;
import radiod.radioctl.connect.Settings;
import radiod.radioctl.output.OutputOptions;

/**
 * radioctl, the operator's command line: it changes and shows a radiod cluster by talking to etcd directly.
 * The options of its mixins (etcd endpoints, credentials, output) apply to every command and may be given before or
 * after the command's name.
 *
 * <p>In-process use (tests): {@code new CommandLine(new Main(env, null)).setOut(..).setErr(..).execute(args)}.
 */
@Command(name = "radioctl", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {"Operates a radiod cluster of Icecast nodes through etcd: mounts, status, listeners, drains.", ""},
        subcommands = {CreateMount.class, CreateTranscodingMount.class, EditMount.class, DeleteMount.class,
                ListMounts.class, ShowMount.class, Status.class, Listeners.class, SetTitle.class, KickSource.class,
                DrainNode.class, UndrainNode.class, RenewCertificate.class, Completion.class, HelpCommand.class},
        footerHeading = "%nSettings%n",
        footer = {"Each connection setting is taken from its flag, else its environment variable (RADIOCTL_ENDPOINTS, "
                + "RADIOCTL_PREFIX, RADIOCTL_ETCD_USER, RADIOCTL_ETCD_PASSWORD, RADIOCTL_CACERT, RADIOCTL_CERT, "
                + "RADIOCTL_KEY, RADIOCTL_TIMEOUT, RADIOCTL_CLUSTER_URL), else the config file (--config, "
                + "RADIOCTL_CONFIG, or /etc/radiod/radioctl.yml if present), else the default. "
                + "The options above work before or after the command's name. "
                + "A password on the command line (--etcd-password) is visible to every user of the machine: "
                + "radioctl warns; give it with RADIOCTL_ETCD_PASSWORD, --etcd-password-file or --password-stdin.",
                "",
                "Exit codes: 0 done, 1 other error, 2 bad usage or invalid value, 3 not found, "
                + "4 conflict (exists already, changed meanwhile, has dependents), 5 etcd unreachable "
                + "(each etcd request gives up after --timeout), 6 no master (status), 7 some nodes did not answer "
                + "(listeners: the others' answers were printed), 8 listeners still connected when drain --wait ended."})
public final class Main implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    EtcdEndpointOptions etcd;

    @Mixin
    EtcdCredentialOptions credentials;

    @Mixin
    OutputOptions output;

    private final Map<String, String> env;
    private final Path defaultConfig;
    private final InputStream stdin;

    /** The real thing: the process environment, /etc/radiod/radioctl.yml and standard input. */
    public Main() {
        this(System.getenv(), Settings.DEFAULT_CONFIG, System.in);
    }

    /**
     * @param env           stands in for the process environment
     * @param defaultConfig config file read when present and none is named; null for none
     */
    public Main(Map<String, String> env, Path defaultConfig) {
        this(env, defaultConfig, InputStream.nullInputStream());
    }

    /**
     * @param stdin stands in for standard input (where {@code --password-stdin} reads the etcd password)
     */
    public Main(Map<String, String> env, Path defaultConfig, InputStream stdin) {
        this.env = Map.copyOf(env);
        this.defaultConfig = defaultConfig;
        this.stdin = stdin;
    }

    public static void main(String[] args) {
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        System.exit(commandLine(new Main()).execute(args));
    }

    /** A command line whose usage errors are one line plus a pointer to --help, instead of the whole help. */
    public static CommandLine commandLine(Main main) {
        CommandLine cl = new CommandLine(main);
        cl.setParameterExceptionHandler((e, args) -> {
            CommandLine c = e.getCommandLine();
            c.getErr().println("radioctl: " + e.getMessage());
            c.getErr().println("radioctl: see `" + c.getCommandSpec().qualifiedName() + " --help`");
            c.getErr().flush();
            return ExitCode.USAGE;
        });
        return cl;
    }

    /** Without a command: the help, and a usage error. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return ExitCode.USAGE;
    }

    /** Resolves flags, environment, config file and defaults; throws {@link IllegalArgumentException} on a bad one. */
    public Settings settings() {
        return Settings.resolve(etcd.flags(credentials.user(), credentials.password(stdin)), env, defaultConfig);
    }

    /** Whether the etcd password was given as an argument, where {@code ps} shows it to everyone. */
    public boolean etcdPasswordOnCommandLine() {
        return credentials.passwordOnCommandLine();
    }

    public boolean json() {
        return output.json();
    }
}
