package radiod.redirector.access;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** The access log's writer: appends, follows logrotate's move of the file, never waits for a full queue. */
class AccessLogTest {
    @TempDir
    Path dir;

    static AccessEntry entry(String agent) {
        return new AccessEntry("192.0.2.1", System.currentTimeMillis(), "GET /_stream/live.mp3 HTTP/1.1", 200, 100, null,
                agent, 5);
    }

    static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return "";
        }
    }

    @Test
    void linesAreAppendedToTheFileWhichIsCreatedPrivate() throws Exception {
        Path file = dir.resolve("access.log");
        Files.writeString(file, "an older line\n");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (AccessLog log = AccessLog.open(file, registry)) {
            log.add(entry("one"));
            log.add(entry("two"));
            await().atMost(Duration.ofSeconds(5)).until(() -> read(file).contains("\"two\""));
            List<String> lines = Files.readAllLines(file);
            assertEquals("an older line", lines.get(0));
            assertTrue(lines.get(1).endsWith("\"one\" 5"), lines.get(1));
            assertEquals(2.0, registry.get("radiod.access.log.lines.written").counter().count());
        }
        Path fresh = dir.resolve("new.log");
        try (AccessLog log = AccessLog.open(fresh, new SimpleMeterRegistry())) {
            assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh)));
        }
    }

    @Test
    void afterLogrotateMovesTheFileTheNextLineGoesToANewFileAtThePath() throws Exception {
        Path file = dir.resolve("access.log");
        Path rotated = dir.resolve("access.log.1");
        try (AccessLog log = AccessLog.open(file, new SimpleMeterRegistry())) {
            log.add(entry("before"));
            await().atMost(Duration.ofSeconds(5)).until(() -> read(file).contains("\"before\""));

            Files.move(file, rotated); // logrotate without copytruncate, without `create`
            log.add(entry("after"));
            await().atMost(Duration.ofSeconds(5)).until(() -> read(file).contains("\"after\""));
            assertFalse(read(rotated).contains("\"after\""));
            assertTrue(read(rotated).contains("\"before\""));

            Files.move(file, dir.resolve("access.log.2"));
            Files.writeString(file, ""); // logrotate's `create`: an empty file is there already
            log.add(entry("third"));
            await().atMost(Duration.ofSeconds(5)).until(() -> read(file).contains("\"third\""));
            assertEquals(1, Files.readAllLines(file).size());

            Files.delete(file);
            log.add(entry("fourth"));
            await().atMost(Duration.ofSeconds(5)).until(() -> read(file).contains("\"fourth\""));
        }
    }

    @Test
    void aFullQueueDropsAndCountsInsteadOfWaiting() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        // No writer started: nothing takes from the queue of 2.
        AccessLog log = new AccessLog(dir.resolve("access.log"), ZoneId.of("UTC"), registry, 2);
        long start = System.nanoTime();
        for (int i = 0; i < 5; i++) {
            log.add(entry("n" + i));
        }
        assertTrue(System.nanoTime() - start < 1_000_000_000L);
        assertEquals(3.0, registry.get("radiod.access.log.lines.dropped").tag("reason", "queue_full").counter().count());
        assertEquals(3, log.dropped());
        log.close();
    }

    @Test
    void closingWritesWhatIsQueued() throws Exception {
        Path file = dir.resolve("access.log");
        AccessLog log = AccessLog.open(file, new SimpleMeterRegistry());
        for (int i = 0; i < 500; i++) {
            log.add(entry("n" + i));
        }
        log.close();
        assertEquals(500, Files.readAllLines(file).size());
    }

    @Test
    void aFileThatCannotBeOpenedStopsTheStart() {
        assertThrows(IOException.class, () -> AccessLog.open(dir.resolve("missing/access.log"), new SimpleMeterRegistry()));
    }
}
