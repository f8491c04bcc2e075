package radiod.tests.harness;

import java.io.IOException;

/**
 * ffmpeg sending a tone to an Icecast URL and started again 200 ms after it exits, as a broadcaster's encoder
 * retries: a mount created a moment ago may still be refused (Icecast applies its new configuration on its next
 * tick), and a source whose node died is re-sent.
 */
public final class Encoder implements AutoCloseable {
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Process process;
    private volatile int starts;

    public Encoder(String icecastUrl) {
        thread = new Thread(() -> {
            while (running) {
                Process p = process;
                if (p == null || !p.isAlive()) {
                    try {
                        process = Streams.tone(icecastUrl, false);
                        starts++;
                    } catch (IOException e) {
                        process = null;
                    }
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "encoder " + icecastUrl);
        thread.setDaemon(true);
        thread.start();
    }

    /** ffmpeg processes started so far. */
    public int starts() {
        return starts;
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
