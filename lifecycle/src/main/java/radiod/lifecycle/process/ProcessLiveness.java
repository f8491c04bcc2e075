package radiod.lifecycle.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Whether a process really runs, from its state in {@code /proc/<pid>/stat}: a zombie (exited, not yet reaped) is
 * dead here, where {@link ProcessHandle#isAlive()} still counts it alive. Without {@code /proc}, falls back to
 * {@link ProcessHandle}.
 */
public final class ProcessLiveness {
    private static final Path PROC = Path.of("/proc");
    private static final boolean HAS_PROC = Files.isDirectory(PROC.resolve("self"));

    private ProcessLiveness() {
    }

    public static boolean isAlive(long pid) {
        if (!HAS_PROC) {
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        }
        try {
            // The command name may hold any bytes, ')' too: the state is the field after the last ')'.
            return runs(Files.readString(PROC.resolve(Long.toString(pid)).resolve("stat"), StandardCharsets.ISO_8859_1));
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        }
    }

    /** Whether a {@code stat} line names a process that is neither a zombie nor dead. */
    static boolean runs(String stat) {
        int end = stat.lastIndexOf(')');
        if (end < 0 || end + 2 >= stat.length()) {
            return false;
        }
        char state = stat.charAt(end + 2);
        return state != 'Z' && state != 'X' && state != 'x';
    }
}
