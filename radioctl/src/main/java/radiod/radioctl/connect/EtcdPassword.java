package radiod.radioctl.connect;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The etcd password from somewhere other than the command line, where every user of the machine sees it in
 * {@code ps}: a file ({@code --etcd-password-file}) or standard input ({@code --password-stdin}). Either holds
 * the password on its first line; the line break after it is not part of it.
 */
public final class EtcdPassword {
    /** More than any password; stops radioctl from reading a wrongly named big file or an endless pipe. */
    static final int MAX_BYTES = 4096;

    private EtcdPassword() {
    }

    /** The first line of the file; throws naming the option and the file. */
    public static String fromFile(Path file) {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("--etcd-password-file " + file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException("--etcd-password-file " + file + ": permission denied");
        } catch (IOException e) {
            throw new IllegalArgumentException("--etcd-password-file " + file + ": cannot read: " + e.getMessage());
        }
        return firstLine(bytes, "--etcd-password-file " + file);
    }

    /** The first line of standard input; throws if there is none. */
    public static String fromStdin(InputStream stdin) {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            // Byte by byte up to the first line break: whatever follows stays unread.
            for (int b = stdin.read(); b != -1 && b != '\n' && line.size() <= MAX_BYTES; b = stdin.read()) {
                line.write(b);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("--password-stdin: cannot read standard input: " + e.getMessage());
        }
        return firstLine(line.toByteArray(), "--password-stdin");
    }

    private static String firstLine(byte[] bytes, String what) {
        if (bytes.length > MAX_BYTES) {
            throw new IllegalArgumentException(what + ": longer than " + MAX_BYTES + " bytes; it should hold only the password");
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        int eol = text.indexOf('\n');
        String first = eol < 0 ? text : text.substring(0, eol);
        if (first.endsWith("\r")) {
            first = first.substring(0, first.length() - 1);
        }
        if (first.isEmpty()) {
            throw new IllegalArgumentException(what + ": no password (its first line is empty)");
        }
        return first;
    }
}
