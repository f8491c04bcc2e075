package radiod.lifecycle.process;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Writes the files a child reads (configs and scripts that hold passwords): a reader sees the old content or the
 * new one, never a part, and never a moment when the file is readable by anyone but its owner.
 */
public final class AtomicFiles {
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    /** Something to do to the written temporary file before it takes the target's name (e.g. change its owner). */
    @FunctionalInterface
    public interface BeforeRename {
        void accept(Path temporary) throws IOException;
    }

    private AtomicFiles() {
    }

    public static void writeOwnerOnly(Path file, String content) throws IOException {
        writeOwnerOnly(file, content, tmp -> { });
    }

    /**
     * Writes {@code content} to {@code <file>.tmp} in the same directory, created 0600 (a left-over one, whatever its
     * mode, is removed first), forces it to disk, and renames it over {@code file}. On failure the temporary file is
     * removed and {@code file} is as it was.
     */
    public static void writeOwnerOnly(Path file, String content, BeforeRename beforeRename) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            try (FileChannel out = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    OWNER_ONLY)) {
                ByteBuffer bytes = StandardCharsets.UTF_8.encode(content);
                while (bytes.hasRemaining()) {
                    out.write(bytes);
                }
                out.force(true);
            }
            beforeRename.accept(tmp);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true); // the rename itself survives a crash
        } catch (IOException e) {
            // not every file system lets a directory be synced; the file's content is on disk already
        }
    }
}
