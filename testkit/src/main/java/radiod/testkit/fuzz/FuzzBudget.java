package radiod.testkit.fuzz;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

import net.jqwik.api.AfterFailureMode;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * How many inputs each fuzz property tries, and from which seed: {@value #TRIES} (default {@value #DEFAULT_TRIES},
 * the short run of every build) and {@value #SEED} (default {@value #DEFAULT_SEED}, so that a build's run is the same
 * every time). {@code bin/fuzz} raises both. After each property it prints one line,
 * {@code fuzz: <surface>: <inputs> inputs in <seconds> s (<seconds> s CPU), seed <seed>: <status>}, and appends it to the file named by
 * {@value #REPORT} when that is set.
 */
public final class FuzzBudget implements AroundPropertyHook {
    public static final String TRIES = "radiod.fuzz.tries";
    public static final String SEED = "radiod.fuzz.seed";
    public static final String REPORT = "radiod.fuzz.report";
    public static final int DEFAULT_TRIES = 2000;
    public static final String DEFAULT_SEED = "20260118";

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
        int tries = Integer.getInteger(TRIES, DEFAULT_TRIES);
        String seed = System.getProperty(SEED, DEFAULT_SEED);
        context.attributes().setTries(tries);
        context.attributes().setSeed(seed);
        context.attributes().setGeneration(GenerationMode.RANDOMIZED);
        context.attributes().setEdgeCases(EdgeCasesMode.MIXIN);
        // The seed alone says what runs: no replay of a stored sample, whose shape the generators may have changed.
        context.attributes().setAfterFailure(AfterFailureMode.PREVIOUS_SEED);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long start = System.nanoTime();
        long cpuStart = threads.getCurrentThreadCpuTime();
        PropertyExecutionResult result = property.execute();
        double seconds = (System.nanoTime() - start) / 1e9;
        // CPU time of the thread that ran it: on a shared machine the wall-clock time says more about the neighbours.
        double cpu = (threads.getCurrentThreadCpuTime() - cpuStart) / 1e9;
        String surface = context.optionalContainerClass().map(Class::getSimpleName).orElse("?") + "." + context.label();
        String line = String.format(Locale.ROOT, "fuzz: %s: %d inputs in %.1f s (%.1f s CPU), seed %s: %s", surface,
                result.countTries(), seconds, cpu, result.seed().orElse(seed), result.status());
        System.out.println(line);
        String report = System.getProperty(REPORT);
        if (report != null && !report.isBlank()) {
            try {
                Files.writeString(Path.of(report), line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            } catch (IOException e) {
                System.out.println("fuzz: cannot append to " + report + ": " + e);
            }
        }
        return result;
    }

    @Override
    public PropagationMode propagateTo() {
        return PropagationMode.ALL_DESCENDANTS; // put on a test class, it applies to each of its properties
    }

    @Override
    public int aroundPropertyProximity() {
        // Outside jqwik's own hooks, so the time covers generation, checks and shrinking alike.
        return -100;
    }
}
