package radiod.lifecycle;

import java.util.concurrent.atomic.AtomicReference;

/**
 * The state guard every component carries: LATENT until started once, STARTED until closed, then CLOSED for good
 * (Curator's LeaderLatch has the same three). Starting twice, or after a close, is a programming error and throws;
 * closing is idempotent and only the first call does the work.
 *
 * <pre>{@code
 * private final Lifecycle lifecycle = new Lifecycle("election " + key);
 * public void start() { lifecycle.start(); ... }
 * public void close() { if (!lifecycle.close()) return; ... }
 * }</pre>
 */
public final class Lifecycle {

    public enum State { LATENT, STARTED, CLOSED }

    private final String name;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);

    public Lifecycle(String name) {
        this.name = name;
    }

    /** LATENT → STARTED; throws {@link IllegalStateException} from any other state. */
    public void start() {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException(name + " cannot start: it is " + state.get());
        }
    }

    /** → CLOSED; true only for the call that closed it (a never-started component closes too). */
    public boolean close() {
        return state.getAndSet(State.CLOSED) != State.CLOSED;
    }

    public State state() {
        return state.get();
    }

    public boolean isStarted() {
        return state.get() == State.STARTED;
    }

    public boolean isClosed() {
        return state.get() == State.CLOSED;
    }

    @Override
    public String toString() {
        return name + " " + state.get();
    }
}
