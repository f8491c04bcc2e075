package radiod.tests.harness;

/** An encoder feeding a mount, as the failure suite sees it: is it on the air, and how often did it connect. */
public interface Source extends AutoCloseable {
    /** The URL it (last) sent to. */
    String url();

    /** Whether it is connected now (for a retrying one: whether it is running, connected or about to retry). */
    boolean alive();

    /** Connections opened so far. */
    int connections();

    /** Connections that ended while it wanted to go on streaming. */
    int drops();

    /** What it did, for failure messages. */
    String story();

    @Override
    void close();
}
