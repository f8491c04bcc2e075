package radiod.tests.harness;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A libshout-style encoder (ices2, butt, liquidsoap's output.icecast): ffmpeg sending the {@link MarkedAudio}
 * programme, started again {@code retry} after it exits, each time to the URL the supplier gives (the next node, as
 * an encoder given the cluster's name would). Used only where the encoder's own node is the one that fails, or
 * where a mount created a moment ago is knocked on until it takes the source.
 */
public final class Encoder implements Source {
    private final Thread thread;
    private final List<String> history = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean running = true;
    private volatile Process process;
    private volatile String url;
    private volatile int starts;

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
        thread = new Thread(() -> {
            while (running) {
                Process p = process;
                if (p == null || !p.isAlive()) {
                    url = next.get();
                    try {
                        List<String> cmd = new ArrayList<>(commandPrefix);
                        cmd.addAll(Streams.programmeCommand(url));
                        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                        starts++;
                        history.add(System.currentTimeMillis() % 100_000 + " " + url);
                    } catch (IOException e) {
                        process = null;
                    }
                }
                try {
                    Process q = process;
                    if (q != null) {
                        q.waitFor();
                    }
                    Thread.sleep(retry.toMillis());
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "encoder");
        thread.setDaemon(true);
        thread.start();
    }

    /** ffmpeg processes started so far. */
    public int starts() {
        return starts;
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
        return starts;
    }

    @Override
    public int drops() {
        Process p = process;
        return Math.max(0, starts - (p != null && p.isAlive() ? 1 : 0));
    }

    @Override
    public String story() {
        return "retrying ffmpeg, connections (ms mod 100 s, URL): " + history;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Streams.stop(process);
    }
}
