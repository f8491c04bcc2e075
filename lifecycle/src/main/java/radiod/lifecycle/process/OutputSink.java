package radiod.lifecycle.process;

import org.slf4j.Logger;

/** Where a child's output goes, one non-blank line at a time, on the child's own output thread. */
@FunctionalInterface
public interface OutputSink {

    void line(long pid, String line);

    /** Each line to {@code log} at info, after {@code prefix} and the pid. */
    static OutputSink log(Logger log, String prefix) {
        return (pid, line) -> log.info("{} (pid {}): {}", prefix, pid, line);
    }
}
