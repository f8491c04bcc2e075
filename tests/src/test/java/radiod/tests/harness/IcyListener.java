package radiod.tests.harness;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A listener as an ICY-aware player is one ({@code Icy-MetaData: 1}, as VLC, mpv and Winamp send it): it reads the
 * stream, takes the metadata block after every {@code icy-metaint} audio bytes, and notes each new
 * {@code StreamTitle} with the moment its block arrived.
 */
public final class IcyListener implements AutoCloseable {
    private static final Pattern TITLE = Pattern.compile("StreamTitle='(.*?)';", Pattern.DOTALL);

    /** A title and when its block arrived ({@link System#nanoTime()}). */
    public record Heard(String title, long atNanos) {
    }

    private final String url;
    private final Socket socket;
    private final Thread reader;
    private final List<Heard> heard = new CopyOnWriteArrayList<>();
    private volatile int metaint = -1;
    private volatile long audioBytes;
    private volatile Throwable failure;

    public IcyListener(String url) throws IOException {
        this.url = url;
        URI u = URI.create(url);
        socket = new Socket();
        socket.connect(new InetSocketAddress(u.getHost(), u.getPort()), 3000);
        socket.setSoTimeout(20_000);
        socket.getOutputStream().write(("GET " + u.getRawPath() + " HTTP/1.0\r\nHost: " + u.getHost() + ":" + u.getPort()
                + "\r\nUser-Agent: VLC/3.0.18 LibVLC/3.0.18\r\nIcy-MetaData: 1\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        reader = new Thread(this::read, "icy-listener " + url);
        reader.setDaemon(true);
        reader.start();
    }

    private void read() {
        try (InputStream raw = socket.getInputStream()) {
            DataInputStream in = new DataInputStream(raw);
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("closed before the head ended: " + head);
                }
                head.append((char) b);
            }
            String status = head.substring(0, head.indexOf("\r\n"));
            if (!status.contains(" 200 ")) {
                throw new IOException("answered " + status);
            }
            Matcher m = Pattern.compile("(?im)^icy-metaint:\\s*(\\d+)").matcher(head);
            if (!m.find()) {
                throw new IOException("no icy-metaint in " + head.toString().toLowerCase(Locale.ROOT));
            }
            int interval = Integer.parseInt(m.group(1));
            metaint = interval;
            byte[] audio = new byte[interval];
            String last = null;
            while (true) {
                in.readFully(audio);
                audioBytes += interval;
                int units = in.readUnsignedByte();
                if (units == 0) {
                    continue;
                }
                byte[] block = new byte[units * 16];
                in.readFully(block);
                long at = System.nanoTime();
                Matcher t = TITLE.matcher(new String(block, StandardCharsets.UTF_8));
                if (t.find() && !t.group(1).equals(last)) {
                    last = t.group(1);
                    heard.add(new Heard(last, at));
                }
            }
        } catch (IOException | RuntimeException e) {
            failure = e;
        }
    }

    public String url() {
        return url;
    }

    /** The interval the server announced, or -1 before the head came. */
    public int metaint() {
        return metaint;
    }

    public long audioBytes() {
        return audioBytes;
    }

    /** Every new title heard, in order. */
    public List<Heard> heard() {
        return new ArrayList<>(heard);
    }

    /** When {@code title} was first heard, or -1. */
    public long heardAt(String title) {
        for (Heard h : heard) {
            if (h.title().equals(title)) {
                return h.atNanos();
            }
        }
        return -1;
    }

    /** The last title heard, or null. */
    public String current() {
        List<Heard> h = heard;
        return h.isEmpty() ? null : h.get(h.size() - 1).title();
    }

    /** Why reading stopped, or null while it goes on. */
    public Throwable failure() {
        return failure;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
