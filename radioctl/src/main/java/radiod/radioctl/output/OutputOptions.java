package radiod.radioctl.output;

import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** How radioctl prints: text for people, or one JSON document for scripts. A mixin every command inherits. */
public final class OutputOptions {
    @Option(names = "--json", scope = ScopeType.INHERIT, order = 110,
            description = "print one JSON document instead of text, for scripts")
    boolean json;

    public boolean json() {
        return json;
    }
}
