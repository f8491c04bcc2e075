package radiod.cluster.watch;

import java.lang.reflect.Field;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.etcd.jetcd.Watch;
import io.grpc.stub.ClientCallStreamObserver;
import io.vertx.grpc.stub.GrpcWriteStream;

/**
 * Closes a jetcd watcher and ends its gRPC stream, which jetcd 0.8.5's {@link Watch.Watcher#close()} does not do.
 *
 * <p>jetcd opens one gRPC stream per watcher, and its {@code close()} only half-closes that stream (after a cancel
 * request when etcd has confirmed the watch). etcd ends a watch stream when the client cancels it, never on a
 * half-close, so each closed watcher left its stream open for as long as the client lived: in radiod (the stream and
 * the watcher it keeps reachable) and in etcd (the stream's goroutines and buffers). A watch is closed whenever a
 * {@link KeyWatch} reads again (after etcd restarts, loses its leader or compacts) and whenever an election closes (a
 * drain, a transcoded mount deleted), so they added up: 216 open streams in one radiod after a 40-minute soak, 3 of
 * them in use. jetcd's own fix (issue 1510: {@code close()} cancels the call) is in releases that need Vert.x 5.
 *
 * <p>So after {@code close()} the watcher's current stream is cancelled here (an HTTP/2 {@code RST_STREAM}), through
 * the one private field that holds it. Should a jetcd upgrade move that field, this logs one warning and falls back
 * to jetcd's close; {@code KeyWatchIT} then fails, as etcd's count of watch streams no longer comes back.
 */
final class WatchStreams {
    private static final Logger log = LoggerFactory.getLogger(WatchStreams.class);
    private static final String WATCHER_CLASS = "io.etcd.jetcd.impl.WatchImpl$WatcherImpl";
    private static final Field STREAM = streamField();
    private static final AtomicBoolean warned = new AtomicBoolean();

    private WatchStreams() {
    }

    /**
     * Closes {@code watcher} (so that jetcd starts no new stream for it), then cancels the stream it has now, if any.
     *
     * @return whether a stream was cancelled (none: the watcher was between a failure and jetcd's own retry of it)
     */
    static boolean close(Watch.Watcher watcher) {
        watcher.close();
        return cancel(watcher);
    }

    private static boolean cancel(Watch.Watcher watcher) {
        if (STREAM == null || !STREAM.getDeclaringClass().isInstance(watcher)) {
            warnOnce("not a " + WATCHER_CLASS + " with a stream field: " + watcher.getClass().getName());
            return false;
        }
        try {
            Object stream = ((AtomicReference<?>) STREAM.get(watcher)).get();
            if (stream instanceof GrpcWriteStream<?> grpc && grpc.streamObserver() instanceof ClientCallStreamObserver<?> call) {
                call.cancel("watch closed", null);
                return true;
            }
            return false;
        } catch (ReflectiveOperationException | RuntimeException e) {
            warnOnce(e.toString());
            return false;
        }
    }

    private static Field streamField() {
        try {
            Field f = Class.forName(WATCHER_CLASS).getDeclaredField("wstream");
            if (f.getType() != AtomicReference.class) {
                return null;
            }
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static void warnOnce(String why) {
        if (warned.compareAndSet(false, true)) {
            log.warn("cannot end closed etcd watches' streams ({}): each closed watch keeps a stream open in radiod and in "
                    + "etcd until the etcd client is renewed", why);
        }
    }
}
