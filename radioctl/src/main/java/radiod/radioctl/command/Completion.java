package radiod.radioctl.command;

import java.util.concurrent.Callable;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import radiod.radioctl.ExitCode;

/** {@code radioctl completion > /etc/bash_completion.d/radioctl}: bash (and zsh) completion of commands and options. */
@Command(name = "completion", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Prints a bash completion script for radioctl.",
                "Install it with `radioctl completion > /etc/bash_completion.d/radioctl`, or try it with "
                        + "`source <(radioctl completion)`; zsh can use it too, after bashcompinit."})
public final class Completion implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().print(AutoComplete.bash("radioctl", spec.root().commandLine()));
        spec.commandLine().getOut().flush();
        return ExitCode.OK;
    }
}
