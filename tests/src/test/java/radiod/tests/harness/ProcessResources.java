package radiod.tests.harness;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a process holds: threads and descriptors from /proc, and (for a JVM) its live heap, the bytes of the objects
 * still reachable after a full collection (jcmd's class histogram forces one and sums what survived).
 */
public record ProcessResources(int threads, int fds, long liveHeapBytes) {
    private static final Pattern TOTAL = Pattern.compile("(?m)^Total\\s+(\\d+)\\s+(\\d+)\\s*$");
    /** A histogram row: {@code   1:  12345  678901  java.lang.String (java.base@17)}. */
    private static final Pattern ROW = Pattern.compile("(?m)^\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+)");

    /** Threads, descriptors and live heap of a JVM (a full collection in it). */
    public static ProcessResources of(long pid) throws IOException, InterruptedException {
        return new ProcessResources(threads(pid), fds(pid), liveHeap(pid));
    }

    /** Threads and descriptors of any process (live heap 0: not measured). */
    public static ProcessResources withoutHeap(long pid) throws IOException {
        return new ProcessResources(threads(pid), fds(pid), 0);
    }

    public static int threads(long pid) throws IOException {
        return (int) status(pid, "Threads:");
    }

    /** Resident memory (VmRSS), in KiB. */
    public static long rssKib(long pid) throws IOException {
        return status(pid, "VmRSS:");
    }

    public static int fds(long pid) throws IOException {
        try (var s = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return (int) s.count();
        }
    }

    private static long status(long pid, String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (l.startsWith(field)) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no " + field + " in /proc/" + pid + "/status");
    }

    /** The "Total" line of {@code jcmd <pid> GC.class_histogram}: bytes of live objects after a full GC. */
    public static long liveHeap(long pid) throws IOException, InterruptedException {
        String out = classHistogram(pid);
        Matcher m = TOTAL.matcher(out);
        assertTrue(m.find(), "no Total line in jcmd's histogram: " + out.substring(Math.max(0, out.length() - 500)));
        return Long.parseLong(m.group(2));
    }

    /** Live bytes by class after a full GC, for finding what grew between two moments. */
    public static Map<String, Long> histogram(long pid) throws IOException, InterruptedException {
        Map<String, Long> bytes = new HashMap<>();
        Matcher m = ROW.matcher(classHistogram(pid));
        while (m.find()) {
            bytes.merge(m.group(3), Long.parseLong(m.group(2)), Long::sum);
        }
        return bytes;
    }

    /** {@code jcmd <pid> GC.class_histogram}: a full collection in the process, then what survived, by class. */
    private static String classHistogram(long pid) throws IOException, InterruptedException {
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        Process p = new ProcessBuilder(jcmd, Long.toString(pid), "GC.class_histogram").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "jcmd: " + out);
        return out;
    }

    /** The classes whose live bytes grew most from {@code before} to {@code after}, largest first, as "+bytes class". */
    public static List<String> grown(Map<String, Long> before, Map<String, Long> after, int most) {
        return after.entrySet().stream()
                .map(e -> Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
                .filter(e -> e.getValue() > 0)
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .limit(most).map(e -> "+" + e.getValue() + " " + e.getKey()).toList();
    }

    @Override
    public String toString() {
        return threads + " threads, " + fds + " descriptors" + (liveHeapBytes > 0 ? ", " + liveHeapBytes / 1024 + " KiB live heap" : "");
    }
}
