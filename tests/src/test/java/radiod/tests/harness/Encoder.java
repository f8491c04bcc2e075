package radiod.tests.harness;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import radiod.testkit.encoder.RetryingEncoder;

/**
 * A libshout-style encoder (ices2, butt, liquidsoap's output.icecast): ffmpeg sending the {@link MarkedAudio}
 * programme through a {@link RetryingEncoder}, started again {@code retry} after it exits, each time to the URL the
 * supplier gives (the next node, as an encoder given the cluster's name would). Used only where the encoder's own node is the one that fails, or
 * where a mount created a moment ago is knocked on until it takes the source.
 */
public final class Encoder implements Source {
    private final List<String> history = new CopyOnWriteArrayList<>();
    private final RetryingEncoder encoder;
    private volatile boolean running = true;
    private volatile String url;

    /** Retries the same URL every 200 ms. */
    public Encoder(String icecastUrl) {
        this(() -> icecastUrl, Duration.ofMillis(200), List.of());
    }

    /**
     * @param next          the URL to connect to, asked before every connection
     * @param retry         the wait after ffmpeg exits before the next connection
     * @param commandPrefix run ffmpeg under this (e.g. {@code ip netns exec <ns>})
     */
    public Encoder(Supplier<String> next, Duration retry, List<String> commandPrefix) {
        encoder = new RetryingEncoder(() -> {
            url = next.get();
            history.add(System.currentTimeMillis() % 100_000 + " " + url);
            List<String> cmd = new ArrayList<>(commandPrefix);
            cmd.addAll(Streams.programmeCommand(url));
            return cmd;
        }, retry);
    }

    /** ffmpeg processes started so far. */
    public int starts() {
        return encoder.starts();
    }

    @Override
    public String url() {
        return url;
    }

    @Override
    public boolean alive() {
        return running;
    }

    @Override
    public int connections() {
        return encoder.starts();
    }

    @Override
    public int drops() {
        return Math.max(0, encoder.starts() - (encoder.connected() ? 1 : 0));
    }

    @Override
    public String story() {
        return "retrying ffmpeg, connections (ms mod 100 s, URL): " + history;
    }

    @Override
    public void close() {
        running = false;
        encoder.close();
    }
}
