package radiod.tests.harness;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A listener that behaves like a real player: opens the stream URL, follows redirects, reads at the pace the
 * server sends, and when the stream ends or fails, reconnects to the original URL. It records when audio
 * bytes arrived, so that audio gaps (the longest times without audio) can be measured.
 */
public final class Listener implements AutoCloseable {
    private final String url;
    private final Thread thread;
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicInteger connections = new AtomicInteger();
    private final List<long[]> gaps = new ArrayList<>(); // {startMillis, lengthMillis}
    private volatile long lastAudioNanos;
    private volatile boolean closed;
    private volatile String lastServedBy = "";
    private final long gapThresholdMillis;

    public Listener(String url, long gapThresholdMillis) {
        this.url = url;
        this.gapThresholdMillis = gapThresholdMillis;
        this.thread = new Thread(this::run, "listener " + url);
        this.thread.setDaemon(true);
    }

    public Listener start() {
        thread.start();
        return this;
    }

    private void run() {
        byte[] buf = new byte[4096];
        while (!closed) {
            HttpURLConnection c = null;
            try {
                c = (HttpURLConnection) URI.create(url).toURL().openConnection();
                c.setInstanceFollowRedirects(true);
                c.setConnectTimeout(2000);
                c.setReadTimeout(3000);
                if (c.getResponseCode() != 200) {
                    c.disconnect();
                    pause(200);
                    continue;
                }
                connections.incrementAndGet();
                lastServedBy = c.getURL().getHost();
                try (InputStream in = c.getInputStream()) {
                    int n;
                    while (!closed && (n = in.read(buf)) > 0) {
                        audio(n);
                    }
                }
            } catch (IOException e) {
                // reconnect, like a player would
            } finally {
                if (c != null) {
                    c.disconnect();
                }
            }
            pause(200);
        }
    }

    private synchronized void audio(int n) {
        long now = System.nanoTime();
        if (lastAudioNanos != 0) {
            long gap = (now - lastAudioNanos) / 1_000_000;
            if (gap >= gapThresholdMillis) {
                gaps.add(new long[] {System.currentTimeMillis() - gap, gap});
            }
        }
        lastAudioNanos = now;
        bytes.addAndGet(n);
    }

    private void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            closed = true;
        }
    }

    public long bytes() {
        return bytes.get();
    }

    public int connections() {
        return connections.get();
    }

    public String lastServedBy() {
        return lastServedBy;
    }

    /** Milliseconds since audio last arrived (large if none ever did). */
    public long silentForMillis() {
        long last = lastAudioNanos;
        return last == 0 ? Long.MAX_VALUE : (System.nanoTime() - last) / 1_000_000;
    }

    /** Gaps at least the threshold long, in milliseconds, including one still running. */
    public synchronized List<Long> gapsMillis() {
        List<Long> out = new ArrayList<>();
        for (long[] g : gaps) {
            out.add(g[1]);
        }
        long open = silentForMillis();
        if (open != Long.MAX_VALUE && open >= gapThresholdMillis) {
            out.add(open);
        }
        return out;
    }

    public long longestGapMillis() {
        return gapsMillis().stream().mapToLong(Long::longValue).max().orElse(0);
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
