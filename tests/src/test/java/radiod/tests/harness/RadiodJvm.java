package radiod.tests.harness;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import radiod.testkit.EtcdCluster;
import radiod.testkit.Ports;
import radiod.testkit.Processes;

/**
 * How the tests run radiod: from the controller's packaged jar and its {@code lib/} (the jars the Debian package
 * installs), with an application class-data-sharing archive, as the package's launcher does. The archive is made
 * once by a training start (a real node against a throwaway etcd, stopped as soon as it serves) and remade when a
 * jar is newer than it; with it a node serves about twice as soon on a busy two-core machine (2.5 s against
 * 5–9 s measured while the failure suite ran), which is what a rolling restart's listeners wait through.
 *
 * <p>Where the packaged jars are missing (a test run from an IDE before {@code mvn package}), radiod runs from the
 * test class path without the archive.
 */
final class RadiodJvm {
    private static final Path CONTROLLER_TARGET = Path.of("..", "controller", "target").toAbsolutePath().normalize();
    /**
     * The package's small-host options (packaging/src/deb/bin/radiod), the heap's ceiling left at 256 MB for the
     * suite's heavier loads, and C1 only: up to nine radiod JVMs share two cores here, and C2's compiler threads
     * would compete with them (the package keeps C2 for its redirect rate, which no test measures). The training
     * start uses the same, as a CDS archive is made for one collector.
     */
    private static final List<String> TEST_OPTIONS = List.of("-XX:+UseSerialGC", "-Xms12m", "-Xmx256m", "-Xmn2m",
            "-XX:MinHeapFreeRatio=20", "-XX:MaxHeapFreeRatio=40", "-XX:TieredStopAtLevel=1",
            "-XX:ReservedCodeCacheSize=32m", "-XX:MaxMetaspaceSize=128m", "-Dio.netty.allocator.numDirectArenas=1",
            "-Dio.netty.allocator.numHeapArenas=1", "-Dio.netty.allocator.maxOrder=7",
            "-Dio.netty.allocator.useCacheForAllThreads=false", "-Dio.netty.eventLoopThreads=1",
            "-Dio.grpc.netty.useCustomAllocator=false");
    /**
     * {@code -Dradiod.jvm=package}: the Debian package's own {@code RADIOD_JAVA_OPTS}, read from
     * packaging/src/deb/etc/radiod.default (-Xmx96m, C2 on), e.g. to prove the failure suite's memory bound with what
     * a node runs in production; its archive is a separate one.
     */
    private static final boolean PACKAGE = "package".equals(System.getProperty("radiod.jvm"));
    private static final Path PACKAGE_DEFAULTS = Path.of("..", "packaging", "src", "deb", "etc", "radiod.default")
            .toAbsolutePath().normalize();
    private static final List<String> JVM_OPTIONS = PACKAGE ? packageOptions() : TEST_OPTIONS;
    private static final Path ARCHIVE = Path.of("target", "radiod-cds", PACKAGE ? "radiod-package.jsa" : "radiod.jsa")
            .toAbsolutePath();
    private static List<String> options;

    private RadiodJvm() {
    }

    private static List<String> packageOptions() {
        try {
            for (String line : Files.readAllLines(PACKAGE_DEFAULTS)) {
                if (line.startsWith("RADIOD_JAVA_OPTS=\"")) {
                    return List.of(line.substring("RADIOD_JAVA_OPTS=\"".length(), line.lastIndexOf('"')).trim().split("\\s+"));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("no RADIOD_JAVA_OPTS=\"…\" line in " + PACKAGE_DEFAULTS);
    }

    /** Which options radiod runs with, for reports. */
    static String describe() {
        return (PACKAGE ? "with the package's options (-Dradiod.jvm=package): " : "with the tests' options: ")
                + String.join(" ", JVM_OPTIONS);
    }

    /** {@code java}, its options and the class path, up to (not including) the main class. */
    static synchronized List<String> command() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java));
        cmd.addAll(JVM_OPTIONS);
        Path jar = controllerJar();
        if (jar == null) {
            cmd.addAll(List.of("-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))));
            return cmd;
        }
        if (options == null) {
            options = archive(java, jar) ? List.of("-XX:SharedArchiveFile=" + ARCHIVE) : List.of();
        }
        cmd.addAll(options);
        cmd.addAll(List.of("-cp", classPath(jar)));
        return cmd;
    }

    private static Path controllerJar() {
        try (Stream<Path> s = Files.list(CONTROLLER_TARGET)) {
            Path jar = s.filter(p -> p.getFileName().toString().matches("controller-.*\\.jar")).findFirst().orElse(null);
            return jar != null && Files.isDirectory(CONTROLLER_TARGET.resolve("lib")) ? jar : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static String classPath(Path jar) {
        return jar + File.pathSeparator + CONTROLLER_TARGET.resolve("lib") + "/*";
    }

    /**
     * Makes the archive if it is missing or older than a jar; whether there is a usable one. The test JVMs of the
     * module run at once (tests/pom.xml): a file lock makes one of them train while the other waits and then uses it.
     */
    private static boolean archive(String java, Path jar) {
        try {
            Files.createDirectories(ARCHIVE.getParent());
            try (FileChannel lock = FileChannel.open(ARCHIVE.resolveSibling(ARCHIVE.getFileName() + ".lock"),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                lock.lock(); // released as the channel closes
                return archiveLocked(java, jar);
            }
        } catch (IOException e) {
            System.err.println("radiod CDS archive: " + e + "; radiod runs without one");
            return false;
        }
    }

    private static boolean archiveLocked(String java, Path jar) {
        try {
            if (Files.exists(ARCHIVE) && !newerJar(jar, Files.getLastModifiedTime(ARCHIVE))) {
                return true;
            }
            Files.deleteIfExists(ARCHIVE);
            Path part = ARCHIVE.resolveSibling(ARCHIVE.getFileName() + ".part");
            Files.deleteIfExists(part);
            train(java, jar, part);
            if (!Files.exists(part) || Files.size(part) == 0) {
                System.err.println("radiod CDS archive: the training start wrote none; radiod runs without one");
                return false;
            }
            Files.move(part, ARCHIVE, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (IOException e) {
            System.err.println("radiod CDS archive: " + e + "; radiod runs without one");
            return false;
        }
    }

    private static boolean newerJar(Path jar, FileTime than) throws IOException {
        if (Files.getLastModifiedTime(jar).compareTo(than) > 0) {
            return true;
        }
        try (Stream<Path> s = Files.list(CONTROLLER_TARGET.resolve("lib"))) {
            return s.anyMatch(p -> {
                try {
                    return Files.getLastModifiedTime(p).compareTo(than) > 0;
                } catch (IOException e) {
                    return true;
                }
            });
        }
    }

    /** A real node against a throwaway etcd, stopped (SIGTERM: the JVM writes the archive as it exits) once it serves. */
    private static void train(String java, Path jar, Path part) throws IOException {
        Path dir = Files.createTempDirectory("radiod-cds-training");
        String address = "127.0.0.250";
        try (EtcdCluster etcd = EtcdCluster.single()) {
            etcd.start();
            int http = Ports.free(address);
            Path config = dir.resolve("node.yml");
            Files.writeString(config, """
                    node: {name: training, addresses: [%s]}
                    etcd: {endpoints: [%s], prefix: /cds-training/}
                    http: {port: %d}
                    source: {port: %d}
                    dns: {port: %d, zone: radio.test, nameservers: ['ns1.radio.test']}
                    icecast: {port: %d, dir: %s}
                    transcoder: {dir: %s}
                    """.formatted(address, etcd.endpointsCsv(), http, Ports.free(address), Ports.free(address),
                    Ports.free(address), dir.resolve("icecast"), dir.resolve("transcoders")));
            List<String> cmd = new ArrayList<>(List.of(java));
            cmd.addAll(JVM_OPTIONS);
            cmd.addAll(List.of("-XX:ArchiveClassesAtExit=" + part, "-cp", classPath(jar), "radiod.controller.Main",
                    "--config", config.toString()));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("training.log").toFile()).start();
            try {
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (!Ports.answersHttp(address, http, "/status.json") && p.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                // A redirect and a status page too, so their classes are in the archive.
                Ports.answersHttp(address, http, "/");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                p.destroy();
                if (!Processes.await(p, Duration.ofSeconds(60))) {
                    Processes.killTree(p.toHandle());
                }
            }
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException | UncheckedIOException ignored) {
                // a temporary directory left behind
            }
        }
    }
}
