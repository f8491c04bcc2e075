package radiod.testkit.listener;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A listener of an Icecast mount on its own thread: keeps every byte of the body and when each read returned,
 * so that the longest pause in the stream can be measured and what it heard decoded.
 */
public final class StreamListener implements AutoCloseable {
    private final Socket socket;
    private final ByteArrayOutputStream body = new ByteArrayOutputStream();
    private final List<Long> arrivals = new CopyOnWriteArrayList<>();
    private final Thread thread;
    private volatile String status;
    private volatile boolean ended;
    private volatile boolean stopping;

    /** Connects and reads the answer's status line and head at once (fails if it is not 200). */
    public StreamListener(String url) throws IOException {
        URI u = URI.create(url);
        socket = new Socket(u.getHost(), u.getPort());
        socket.setSoTimeout(15_000);
        OutputStream out = socket.getOutputStream();
        out.write(("GET " + u.getRawPath() + " HTTP/1.0\r\nHost: " + u.getHost() + ":" + u.getPort()
                + "\r\nUser-Agent: radiod-test\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        InputStream in = socket.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                socket.close();
                throw new IOException(url + " closed before its answer's head ended: " + head);
            }
            head.append((char) c);
        }
        status = head.substring(0, head.indexOf("\r\n"));
        if (!status.matches("HTTP/1\\.[01] 200.*")) {
            socket.close();
            throw new IOException(url + " answered " + status);
        }
        thread = new Thread(this::read, "listener " + url);
        thread.setDaemon(true);
        thread.start();
    }

    private void read() {
        byte[] buf = new byte[16 * 1024];
        try {
            InputStream in = socket.getInputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                arrivals.add(System.nanoTime());
                synchronized (body) {
                    body.write(buf, 0, n);
                }
            }
        } catch (IOException e) {
            // closed by close(), or a read timeout (which the gap shows)
        }
        if (!stopping) {
            arrivals.add(System.nanoTime()); // the time it ended counts as a gap, too
            ended = true;
        }
    }

    public byte[] bytes() {
        synchronized (body) {
            return body.toByteArray();
        }
    }

    public int size() {
        synchronized (body) {
            return body.size();
        }
    }

    /** Whether Icecast ended the stream (or the read timed out) before {@link #close}. */
    public boolean ended() {
        return ended;
    }

    public long longestGapMillis() {
        return longestGapMillis(List.copyOf(arrivals));
    }

    @Override
    public void close() throws Exception {
        stopping = true;
        socket.close();
        thread.join(5000);
    }

    /** The longest gap in a list of arrival times ({@link System#nanoTime()}), in ms, from the first arrival on. */
    public static long longestGapMillis(List<Long> arrivals) {
        long longest = 0;
        for (int i = 1; i < arrivals.size(); i++) {
            longest = Math.max(longest, arrivals.get(i) - arrivals.get(i - 1));
        }
        return TimeUnit.NANOSECONDS.toMillis(longest);
    }
}
