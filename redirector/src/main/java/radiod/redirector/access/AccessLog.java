package radiod.redirector.access;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import radiod.lifecycle.DaemonThreads;

/**
 * The node's access log: one line per finished listener session ({@link AccessEntry}), appended to a file by one
 * background thread. {@link #add} never waits: it puts the entry in a bounded queue, and when the queue is full the
 * entry is counted as dropped ({@code radiod_access_log_lines_dropped_total{reason="queue_full"}}) instead.
 *
 * <p>Rotation needs neither a signal nor copytruncate: before each batch of lines the writer compares the file
 * it has open with what the path names now (its file key: device and inode); when logrotate has moved the file
 * away (or someone deleted it) the writer opens the path again, creating it if needed, so the next lines go to the
 * new file. Lines written between the move and that check go to the moved file (logrotate's
 * {@code delaycompress} keeps it uncompressed for them).
 */
public final class AccessLog implements AutoCloseable {
    /** Entries waiting for the writer, at most. At 100 bytes a line, about 1.6 MB. */
    public static final int QUEUE_LINES = 16_384;
    private static final Logger log = LoggerFactory.getLogger(AccessLog.class);
    private static final int BATCH_LINES = 1024;
    private static final long POLL_MILLIS = 200;
    private static final long WARN_EVERY_MILLIS = 60_000;
    private static final Set<StandardOpenOption> OPEN = Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.APPEND);
    private static final FileAttribute<?> MODE = PosixFilePermissions.asFileAttribute(
            PosixFilePermissions.fromString("rw-r-----"));

    private final Path path;
    private final ZoneId zone;
    private final BlockingQueue<AccessEntry> queue;
    private final Counter written;
    private final Counter queueFull;
    private final Counter writeFailed;
    private final Thread writer;
    private volatile boolean closing;
    // The writer thread's own (and the constructor's, before it starts).
    private FileChannel out;
    private Object openKey;
    private long lastWarning;

    /**
     * Opens (or creates, mode 0640) {@code path} for appending and starts the writer.
     *
     * @throws IOException if the file cannot be opened: radiod does not start with an access log it cannot write
     */
    public static AccessLog open(Path path, MeterRegistry registry) throws IOException {
        AccessLog l = new AccessLog(path, ZoneId.systemDefault(), registry, QUEUE_LINES);
        l.writer.start();
        return l;
    }

    /** Opens the file now; the writer is started by {@link #open}, or not at all (tests of a full queue). */
    AccessLog(Path path, ZoneId zone, MeterRegistry registry, int queueLines) throws IOException {
        this.path = Objects.requireNonNull(path).toAbsolutePath();
        this.zone = zone;
        this.queue = new ArrayBlockingQueue<>(queueLines);
        this.written = Counter.builder("radiod.access.log.lines.written")
                .description("lines written to the access log (one per finished listener session)").register(registry);
        this.queueFull = dropped(registry, "queue_full");
        this.writeFailed = dropped(registry, "write_failed");
        reopen();
        this.writer = DaemonThreads.factory("radiod-access-log").newThread(this::run);
    }

    private static Counter dropped(MeterRegistry registry, String reason) {
        return Counter.builder("radiod.access.log.lines.dropped").tag("reason", reason)
                .description("access log lines lost: the writer's queue was full, or the file could not be written")
                .register(registry);
    }

    public Path path() {
        return path;
    }

    /** Queues a line; never waits (a full queue drops it and counts it). Any thread. */
    public void add(AccessEntry entry) {
        if (closing || !queue.offer(entry)) {
            queueFull.increment();
        }
    }

    /** Lines dropped so far, for any reason. */
    public long dropped() {
        return (long) (queueFull.count() + writeFailed.count());
    }

    private void run() {
        List<AccessEntry> batch = new ArrayList<>(BATCH_LINES);
        while (true) {
            try {
                AccessEntry first = queue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                if (first == null) {
                    if (closing) {
                        break;
                    }
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, BATCH_LINES - 1);
                write(batch);
            } catch (InterruptedException e) {
                if (closing) {
                    queue.drainTo(batch);
                    write(batch);
                    break;
                }
            } catch (RuntimeException e) {
                warn("access log " + path + ": " + e);
            } finally {
                batch.clear();
            }
        }
        closeFile();
    }

    private void write(List<AccessEntry> batch) {
        if (batch.isEmpty()) {
            return;
        }
        StringBuilder sb = new StringBuilder(batch.size() * 160);
        for (AccessEntry e : batch) {
            sb.append(e.format(zone)).append('\n');
        }
        ByteBuffer bytes = ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8));
        try {
            if (out == null || moved()) {
                reopen();
            }
            while (bytes.hasRemaining()) {
                out.write(bytes);
            }
            written.increment(batch.size());
        } catch (IOException e) {
            writeFailed.increment(batch.size());
            warn("access log " + path + ": cannot write " + batch.size() + " lines: " + e);
            closeFile(); // the next batch opens the path again
        }
    }

    /** Whether the path now names another file than the one open, or none. */
    private boolean moved() throws IOException {
        try {
            Object key = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
            return key == null ? false : !key.equals(openKey);
        } catch (NoSuchFileException e) {
            return true;
        }
    }

    private void reopen() throws IOException {
        closeFile();
        FileChannel c;
        try {
            c = FileChannel.open(path, OPEN, MODE);
        } catch (UnsupportedOperationException notPosix) {
            c = FileChannel.open(path, OPEN);
        }
        out = c;
        try {
            openKey = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            openKey = null;
        }
    }

    private void closeFile() {
        FileChannel c = out;
        out = null;
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                // nothing left to do with it
            }
        }
    }

    private void warn(String message) {
        long now = System.currentTimeMillis();
        if (now - lastWarning >= WARN_EVERY_MILLIS) {
            lastWarning = now;
            log.warn("{} (further failures within a minute are only counted)", message);
        }
    }

    /** Writes what is queued (waiting up to 5 s for it), then closes the file. Further lines are dropped. */
    @Override
    public void close() {
        closing = true;
        if (!writer.isAlive()) {
            closeFile();
            return;
        }
        try {
            writer.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (writer.isAlive()) {
            writer.interrupt();
        }
    }
}
