package radiod.lifecycle;

import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts components one by one and remembers them on a stack, so that closing is reverse start order by
 * construction: what started last (and may use what started before it) closes first. A component whose start
 * throws is closed at once and the exception goes to the caller; those started before it stay on the stack.
 */
public final class Components implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Components.class);

    private final String owner;
    private final Deque<AutoCloseable> started = new ArrayDeque<>();
    private final Lifecycle lifecycle;

    public Components(String owner) {
        this.owner = owner;
        this.lifecycle = new Lifecycle(owner);
        lifecycle.start();
    }

    /** Starts {@code component} and pushes it; returns it for chaining. */
    public synchronized <C extends Component> C start(C component) throws Exception {
        if (lifecycle.isClosed()) {
            throw new IllegalStateException(owner + " is closing; not starting " + component);
        }
        try {
            component.start();
        } catch (Exception | Error e) {
            closeQuietly(component);
            throw e;
        }
        started.push(component);
        return component;
    }

    /** Pushes something that is already running (a process, a server) so it closes in its place in the order. */
    public synchronized <C extends AutoCloseable> C adopt(C running) {
        if (lifecycle.isClosed()) {
            closeQuietly(running);
            throw new IllegalStateException(owner + " is closing; not adopting " + running);
        }
        started.push(running);
        return running;
    }

    /** Closes everything in reverse order; a failure to close one is logged and the rest still close. */
    @Override
    public void close() {
        if (!lifecycle.close()) {
            return;
        }
        while (true) {
            AutoCloseable next;
            synchronized (this) {
                next = started.poll();
            }
            if (next == null) {
                return;
            }
            closeQuietly(next);
        }
    }

    private void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception | Error e) {
            LOG.warn("{}: closing {} failed", owner, c, e);
        }
    }
}
