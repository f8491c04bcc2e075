package radiod.tests.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The memory a node of a test cluster may use: its radiod, the Icecast and liquidsoap radiod starts, and its etcd
 * member, together held to {@link #LIMIT} (512 MiB), as on a 512 MB machine.
 *
 * <p>Where it can, each node gets a memory cgroup (v1, {@code memory.limit_in_bytes} = 512 MiB) under the cgroup the
 * test JVM runs in, and its radiod and etcd member are started through {@link #prefix}, a shell that writes its own
 * pid to the group's {@code cgroup.procs} and then execs the command: the process is inside from its first
 * allocation, and what radiod forks (Icecast, liquidsoap) is born inside. A sampler checks that every one of the
 * node's processes is in its group and records the group's {@code memory.stat} ({@code total_rss}: anonymous
 * memory; {@code total_shmem}: tmpfs, where the tests keep etcd's data); the kernel records the peak of the charged
 * memory ({@code memory.max_usage_in_bytes}, page cache included, which the kernel reclaims under the limit rather
 * than fail) and counts its OOM kills ({@code memory.oom_control}). The bound then is: no OOM kill in any group.
 *
 * <p>Where the machine refuses a group (no memory controller, not root), nothing is limited and the bound is the
 * measured one: the sum, over the node's programs (radiod, Icecast, liquidsoap, etcd), of the highest resident
 * memory ({@code VmHWM}) any process of that program reached, at most 512 MiB. Both ways the sampler records that
 * sum and holds it to 512 MiB (in a group too: a shared file another group read first is resident but not charged
 * to this one), and the report says which way was used.
 */
public final class NodeMemory implements AutoCloseable {
    public static final long LIMIT = 512L << 20;
    private static final Path ROOT = Path.of("/sys/fs/cgroup/memory");
    private static final long SAMPLE_MS = 250;
    /** include/linux/sched.h: the task is in {@code do_exit}. */
    private static final long PF_EXITING = 0x4;

    /** How the bound is held: a cgroup limit, or the measured sum of peaks. */
    public enum Mode { CGROUP, SAMPLED }

    private final Mode mode;
    private final String how;
    private final Map<String, Node> nodes = new LinkedHashMap<>();
    private final Thread sampler;
    private final Thread cleanup = new Thread(this::removeGroups);
    private volatile boolean closed;

    private static final class Node {
        final String name;
        final Path group;
        volatile Supplier<List<ProcessHandle>> processes = List::of;
        long samples;
        long peakRss;
        long peakRssShmem;
        long peakProcessesRss;
        final Map<String, Long> peakByProgram = new TreeMap<>();
        final Map<String, Long> seenInside = new TreeMap<>();
        final List<String> outside = new ArrayList<>();

        Node(String name, Path group) {
            this.name = name;
            this.group = group;
        }
    }

    private NodeMemory(Mode mode, String how, Map<String, Path> groups) {
        this.mode = mode;
        this.how = how;
        groups.forEach((n, g) -> nodes.put(n, new Node(n, g)));
        sampler = new Thread(this::sample, "node-memory");
        sampler.setDaemon(true);
        sampler.start();
        if (mode == Mode.CGROUP) {
            Runtime.getRuntime().addShutdownHook(cleanup);
        }
    }

    /**
     * A group per node where the machine allows it, else sampling only ({@code -Dradiod.nodeMemory=sampled} asks for
     * sampling only, to try that way on a machine that allows groups); {@code run} names the groups.
     */
    public static NodeMemory open(String run, List<String> nodeNames) {
        Map<String, Path> groups = new LinkedHashMap<>();
        try {
            if ("sampled".equals(System.getProperty("radiod.nodeMemory"))) {
                throw new IOException("-Dradiod.nodeMemory=sampled");
            }
            Path parent = ownGroup();
            for (String n : nodeNames) {
                Path g = parent.resolve("radiod-test-" + run + "-" + n);
                Files.createDirectory(g);
                groups.put(n, g);
                Files.writeString(g.resolve("memory.limit_in_bytes"), Long.toString(LIMIT));
                long set = readLong(g.resolve("memory.limit_in_bytes"));
                if (set != LIMIT) {
                    throw new IOException(g + ": memory.limit_in_bytes reads " + set + " after writing " + LIMIT);
                }
                // No swap may stand in for memory: the limit covers memory and swap alike where swap is accounted.
                Path memsw = g.resolve("memory.memsw.limit_in_bytes");
                if (Files.exists(memsw)) {
                    Files.writeString(memsw, Long.toString(LIMIT));
                }
            }
            return new NodeMemory(Mode.CGROUP, "cgroup v1 memory limit of 512 MiB per node under " + parent, groups);
        } catch (IOException | RuntimeException e) {
            groups.values().forEach(NodeMemory::rmdir);
            Map<String, Path> none = new LinkedHashMap<>();
            nodeNames.forEach(n -> none.put(n, null));
            return new NodeMemory(Mode.SAMPLED, "no cgroup (" + e.getMessage() + "): the sum of each program's peak"
                    + " resident memory (VmHWM) per node, at most 512 MiB", none);
        }
    }

    /** The memory cgroup this JVM runs in: the nodes' groups go under it, within whatever limits it. */
    private static Path ownGroup() throws IOException {
        if (!Files.isDirectory(ROOT)) {
            throw new IOException("no cgroup v1 memory controller at " + ROOT);
        }
        for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
            String[] f = line.split(":", 3);
            if (f.length == 3 && List.of(f[1].split(",")).contains("memory")) {
                return Path.of(ROOT + f[2]);
            }
        }
        throw new IOException("no memory line in /proc/self/cgroup");
    }

    public Mode mode() {
        return mode;
    }

    /**
     * What to run a node's process under: a shell that puts itself in the node's group and execs the rest (the pid
     * stays the command's own); nothing where sampling only.
     */
    public List<String> prefix(String node) {
        Path g = nodes.get(node).group;
        return g == null ? List.of() : List.of("sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", g.resolve("cgroup.procs").toString());
    }

    /** Where to find the node's processes (radiod and its descendants, its etcd member) when sampling. */
    public void watch(String node, Supplier<List<ProcessHandle>> processes) {
        nodes.get(node).processes = processes;
    }

    private void sample() {
        while (!closed) {
            for (Node n : nodes.values()) {
                try {
                    sample(n);
                } catch (RuntimeException e) {
                    // a process that went between listing and reading: the next sample
                }
            }
            try {
                Thread.sleep(SAMPLE_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void sample(Node n) {
        List<ProcessHandle> ps = n.processes.get();
        String inGroup = n.group == null ? null : "/" + ROOT.relativize(n.group);
        long rss = 0;
        Map<String, Long> hwm = new HashMap<>();
        Map<String, Long> inside = new HashMap<>();
        List<String> outside = new ArrayList<>();
        for (ProcessHandle p : ps) {
            String program = program(p);
            if (program == null || program.equals("sh") || program.equals("dash") || program.equals("jspawnhelper")) {
                continue; // gone, or the wrapper before its exec
            }
            String group = null;
            if (inGroup != null) {
                group = memoryGroup(p.pid());
                if (group == null) {
                    continue;
                }
            }
            Map<String, Long> status = status(p.pid());
            // Last: what was read above came from a live process only if it is not exiting after it.
            if (status.isEmpty() || !living(p.pid())) {
                continue;
            }
            rss += status.getOrDefault("VmRSS", 0L);
            hwm.merge(program, status.getOrDefault("VmHWM", 0L), Math::max);
            if (group != null) {
                if (group.equals(inGroup)) {
                    inside.merge(program, 1L, Long::sum);
                } else {
                    outside.add(program + " " + p.pid() + " in " + group);
                }
            }
        }
        Map<String, Long> stat = n.group == null ? Map.of() : memoryStat(n.group);
        synchronized (this) {
            n.samples++;
            n.peakProcessesRss = Math.max(n.peakProcessesRss, rss);
            hwm.forEach((k, v) -> n.peakByProgram.merge(k, v, Math::max));
            inside.forEach((k, v) -> n.seenInside.merge(k, v, Long::sum));
            n.outside.addAll(outside);
            long r = stat.getOrDefault("total_rss", 0L);
            n.peakRss = Math.max(n.peakRss, r);
            n.peakRssShmem = Math.max(n.peakRssShmem, r + stat.getOrDefault("total_shmem", 0L));
        }
    }

    private static String program(ProcessHandle p) {
        return p.info().command().map(c -> Path.of(c).getFileName().toString()).map(c -> c.equals("java") ? "radiod"
                : c.startsWith("icecast") ? "icecast" : c).orElse(null);
    }

    /** {@code /proc/PID/status}'s sizes, in bytes. */
    private static Map<String, Long> status(long pid) {
        Map<String, Long> m = new HashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("Vm") && line.endsWith(" kB")) {
                    String[] f = line.split(":\\s+");
                    m.put(f[0], Long.parseLong(f[1].substring(0, f[1].length() - 3).trim()) * 1024);
                }
            }
        } catch (IOException | RuntimeException e) {
            return Map.of();
        }
        return m;
    }

    /**
     * Whether the process is alive and not exiting ({@code /proc/PID/stat}: state not Z or X, flag PF_EXITING clear).
     * It matters for what was read of it before: a killed multi-threaded process (radiod's JVM, etcd) becomes a zombie
     * leader whose {@code /proc/PID/cgroup} reads "/" while its other threads exit (seen on kernel 6.18), and a sample
     * that read it alive a moment before would report it outside its group. PF_EXITING is set as {@code do_exit}
     * begins, before the task leaves its cgroup, so a read followed by a living check was a read of the live task.
     */
    static boolean living(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long flags = Long.parseLong(f[6]);
            return !f[0].equals("Z") && !f[0].equals("X") && (flags & PF_EXITING) == 0;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The memory cgroup of a process, or null when it is gone. */
    static String memoryGroup(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"))) {
                String[] f = line.split(":", 3);
                if (f.length == 3 && List.of(f[1].split(",")).contains("memory")) {
                    return f[2];
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    private static Map<String, Long> memoryStat(Path group) {
        Map<String, Long> m = new HashMap<>();
        try {
            for (String line : Files.readAllLines(group.resolve("memory.stat"))) {
                String[] f = line.split(" ");
                m.put(f[0], Long.parseLong(f[1]));
            }
        } catch (IOException | RuntimeException e) {
            return Map.of();
        }
        return m;
    }

    private static long readLong(Path f) throws IOException {
        return Long.parseLong(Files.readString(f).trim());
    }

    private static long oomKills(Path group) throws IOException {
        for (String line : Files.readAllLines(group.resolve("memory.oom_control"))) {
            if (line.startsWith("oom_kill ")) {
                return Long.parseLong(line.substring("oom_kill ".length()).trim());
            }
        }
        throw new IOException(group + "/memory.oom_control has no oom_kill count (kernel before 4.13)");
    }

    /** One node's figures so far. */
    public record Figures(String node, long limit, long maxUsage, long failcnt, long oomKills, long peakRss,
                          long peakRssShmem, long peakProcessesRss, Map<String, Long> peakByProgram,
                          Map<String, Long> seenInside, List<String> outside, long samples) {
        /** The measured bound: each program's peak resident memory, summed. */
        public long sumOfPeaks() {
            return peakByProgram.values().stream().mapToLong(Long::longValue).sum();
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder(node + ":");
            if (limit > 0) {
                s.append(String.format(Locale.ROOT, " limit %s, peak usage %s (memory.max_usage_in_bytes, page cache"
                                + " included), peak RSS %s (total_rss), peak RSS+tmpfs %s, OOM kills %d, failcnt %d;",
                        mib(limit), mib(maxUsage), mib(peakRss), mib(peakRssShmem), oomKills, failcnt));
            }
            s.append(String.format(Locale.ROOT, " peak per program (VmHWM) %s, sum %s; peak of the processes' summed"
                            + " VmRSS %s; %d samples", mibs(peakByProgram), mib(sumOfPeaks()), mib(peakProcessesRss), samples));
            if (limit > 0) {
                s.append("; seen inside the group (samples) ").append(seenInside);
                if (!outside.isEmpty()) {
                    s.append("; OUTSIDE: ").append(outside.subList(0, Math.min(5, outside.size())));
                }
            }
            return s.toString();
        }
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    private static String mibs(Map<String, Long> m) {
        Map<String, String> s = new TreeMap<>();
        m.forEach((k, v) -> s.put(k, mib(v)));
        return s.toString();
    }

    /** Every node's figures now. */
    public synchronized List<Figures> figures() {
        List<Figures> all = new ArrayList<>();
        for (Node n : nodes.values()) {
            long limit = 0;
            long maxUsage = 0;
            long failcnt = 0;
            long ooms = 0;
            if (n.group != null) {
                try {
                    limit = readLong(n.group.resolve("memory.limit_in_bytes"));
                    maxUsage = readLong(n.group.resolve("memory.max_usage_in_bytes"));
                    failcnt = readLong(n.group.resolve("memory.failcnt"));
                    ooms = oomKills(n.group);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            all.add(new Figures(n.name, limit, maxUsage, failcnt, ooms, n.peakRss, n.peakRssShmem, n.peakProcessesRss,
                    Map.copyOf(n.peakByProgram), Map.copyOf(n.seenInside), List.copyOf(n.outside), n.samples));
        }
        return all;
    }

    /**
     * Reports every node's figures (to {@code out} and appended to {@code file}, with the way the bound was held and
     * radiod's JVM options), then checks the bound: in groups, a limit of 512 MiB, no OOM kill, every process of the
     * node inside its group and radiod, Icecast and etcd each seen there; both ways, each node's sum of its programs'
     * peaks at most 512 MiB.
     */
    public List<Figures> reportAndCheck(Consumer<String> out, Path file) {
        List<Figures> all = figures();
        List<String> lines = new ArrayList<>();
        lines.add("node memory, " + Instant.now() + ": " + how);
        lines.add("node memory: radiod's JVM " + RadiodJvm.describe());
        all.forEach(f -> lines.add("node memory: " + f));
        lines.forEach(out);
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.write(file, lines, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            // the lines went to out
        }
        List<String> failures = new ArrayList<>();
        for (Figures f : all) {
            if (f.samples() == 0) {
                failures.add(f.node() + ": never sampled");
            }
            if (mode == Mode.CGROUP) {
                if (f.limit() != LIMIT) {
                    failures.add(f.node() + ": memory.limit_in_bytes " + f.limit());
                }
                if (f.oomKills() != 0) {
                    failures.add(f.node() + ": " + f.oomKills() + " OOM kills within 512 MiB");
                }
                if (f.maxUsage() > LIMIT) {
                    failures.add(f.node() + ": peak usage " + mib(f.maxUsage()));
                }
                if (!f.outside().isEmpty()) {
                    failures.add(f.node() + ": processes outside its group: " + f.outside());
                }
                if (!f.seenInside().keySet().containsAll(List.of("radiod", "icecast", "etcd"))) {
                    failures.add(f.node() + ": radiod, Icecast and etcd not each seen inside its group: " + f.seenInside());
                }
            }
            // Both ways: what the processes had resident, shared files (the JVM's, its class archive) included,
            // which the group may not have been charged for when another group read them first.
            if (f.sumOfPeaks() > LIMIT) {
                failures.add(f.node() + ": its programs' peaks sum to " + mib(f.sumOfPeaks()) + " " + f.peakByProgram());
            }
        }
        if (!failures.isEmpty()) {
            throw new AssertionError("a node did not run within 512 MiB (" + how + "): " + failures);
        }
        return all;
    }

    public String how() {
        return how;
    }

    /** Stops sampling and removes the groups (call once the node's processes are gone). */
    @Override
    public void close() {
        closed = true;
        sampler.interrupt();
        if (mode == Mode.CGROUP) {
            removeGroups();
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException e) {
                // shutting down
            }
        }
    }

    /** Moves whatever is still in a group to the parent (a straggler outlives the test's kill) and removes the group. */
    private void removeGroups() {
        for (Node n : nodes.values()) {
            if (n.group == null || !Files.isDirectory(n.group)) {
                continue;
            }
            Path parentProcs = n.group.getParent().resolve("cgroup.procs");
            for (int attempt = 0; attempt < 50 && Files.isDirectory(n.group); attempt++) {
                try {
                    for (String pid : new TreeSet<>(Files.readAllLines(n.group.resolve("cgroup.procs")))) {
                        try {
                            Files.writeString(parentProcs, pid);
                        } catch (IOException e) {
                            // exited meanwhile
                        }
                    }
                } catch (IOException e) {
                    // read again
                }
                rmdir(n.group);
                if (Files.isDirectory(n.group)) {
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
    }

    private static void rmdir(Path group) {
        try {
            Files.deleteIfExists(group);
        } catch (IOException e) {
            // busy: a process still inside
        }
    }
}
