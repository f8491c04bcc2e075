package radiod.radioctl.command;

import java.time.Duration;
import java.util.function.BooleanSupplier;

import radiod.radioctl.ExitCode;
import radiod.radioctl.Failure;

/** The waits of radioctl's commands ({@code drain --wait}, {@code kick-source}, {@code renew-certificate --wait}). */
final class Poll {
    private Poll() {
    }

    /**
     * Asks {@code done} at once and then every {@code intervalMillis} (less before the end) until it says yes or
     * {@code wait} has passed; true when it said yes. What {@code done} throws ends the wait. An interrupt ends it with
     * a {@link Failure} that names {@code what} was waited for.
     */
    static boolean until(Duration wait, long intervalMillis, BooleanSupplier done, String what) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (!done.getAsBoolean()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                Thread.sleep(Math.min(intervalMillis, Math.max(1, left / 1_000_000)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Failure(ExitCode.OTHER, "interrupted while waiting for " + what);
            }
        }
        return true;
    }
}
