package radiod.lifecycle.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void theNewContentIsReadableByItsOwnerOnlyFromItsCreationAndNoTemporaryFileRemains() throws Exception {
        Path file = dir.resolve("icecast.xml");
        Files.writeString(file, "old");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        Path leftOver = dir.resolve("icecast.xml.tmp");
        Files.writeString(leftOver, "left by a crash");
        Files.setPosixFilePermissions(leftOver, PosixFilePermissions.fromString("rw-rw-rw-"));
        List<String> seenBeforeRename = new ArrayList<>();

        AtomicFiles.writeOwnerOnly(file, "<password>s3cret</password>", tmp -> seenBeforeRename.add(
                PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp)) + " " + Files.readString(tmp)));

        assertEquals(List.of("rw------- <password>s3cret</password>"), seenBeforeRename);
        assertEquals("<password>s3cret</password>", Files.readString(file));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertFalse(Files.exists(leftOver));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void aFailureBeforeTheRenameLeavesTheOldFileAndNoTemporaryOne() throws Exception {
        Path file = dir.resolve("scripts/mount.liq");
        AtomicFiles.writeOwnerOnly(file, "first");

        assertThrows(IOException.class, () -> AtomicFiles.writeOwnerOnly(file, "second", tmp -> {
            throw new IOException("no such user icecast2");
        }));

        assertEquals("first", Files.readString(file));
        assertFalse(Files.exists(file.resolveSibling("mount.liq.tmp")));
    }
}
