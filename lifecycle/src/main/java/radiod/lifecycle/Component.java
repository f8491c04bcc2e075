package radiod.lifecycle;

/**
 * A part of a node with a start and a close. {@link #start()} may be called once; {@link #close()} any number of
 * times and must not throw for an ordinary shutdown. Implementations keep a {@link Lifecycle} to enforce it.
 */
public interface Component extends AutoCloseable {

    void start() throws Exception;

    @Override
    void close();
}
