package radiod.radioctl.command;

import java.util.concurrent.Callable;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import radiod.radioctl.Errors;
import radiod.radioctl.Main;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.connect.Settings;
import radiod.radioctl.output.Printer;

/**
 * A command that talks to etcd: it gets a {@link Connection} for its run, and whatever goes wrong ends as one
 * {@code radioctl: …} line and an exit code (see {@link Errors}), never a stack trace.
 */
abstract class EtcdCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public final Integer call() {
        Main main = (Main) spec.root().userObject();
        Printer printer = new Printer(spec.commandLine().getOut(), spec.commandLine().getErr(), main.json());
        Settings settings = null;
        if (main.etcdPasswordOnCommandLine()) {
            printer.warning("--etcd-password puts the password where every user of this machine sees it (ps); "
                    + "use RADIOCTL_ETCD_PASSWORD, --etcd-password-file FILE or --password-stdin instead");
        }
        try {
            validate();
            settings = main.settings();
            try (Connection etcd = new Connection(settings)) {
                return run(etcd, printer);
            }
        } catch (RuntimeException e) {
            return Errors.report(e, printer, settings);
        }
    }

    /** Checks the command's own arguments before etcd is contacted; throws on a bad one. */
    void validate() {
    }

    /** Does the work; returns the exit code. */
    abstract int run(Connection etcd, Printer out);
}
