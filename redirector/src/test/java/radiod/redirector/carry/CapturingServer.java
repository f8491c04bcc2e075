package radiod.redirector.carry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.awaitility.Awaitility;

import io.vertx.core.buffer.Buffer;

/**
 * A TCP server standing in for a master's hub (its source port): records every connection and the bytes it
 * received, answers what the test tells it to, and decodes the {@link Wire} messages that follow the request head.
 */
public final class CapturingServer implements AutoCloseable {
    private final ServerSocket server;
    private final List<Connection> connections = new CopyOnWriteArrayList<>();

    public CapturingServer(String host) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getByName(host));
        Thread t = new Thread(this::acceptLoop, "capturing-server-" + server.getLocalPort());
        t.setDaemon(true);
        t.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    public List<Connection> connections() {
        return List.copyOf(connections);
    }

    /** The index-th connection, once its whole request head has come (waits up to 5 s). */
    public Connection awaitHead(int index) {
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> connections.size() > index
                && connections.get(index).head() != null);
        return connections.get(index);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Connection c = new Connection(server.accept());
                connections.add(c);
                c.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Connection c : connections) {
            c.close();
        }
    }

    public static final class Connection {
        private final Socket socket;
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();
        private volatile boolean peerClosed;
        /** When the server accepted it ({@link System#nanoTime()}). */
        public final long acceptedNanos = System.nanoTime();

        Connection(Socket socket) {
            this.socket = socket;
        }

        void start() {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[8192];
                // Not closed here at the peer's end of stream: the test may still answer on it (a half-close), and
                // closing it under the test's feet made a send racing the peer's close fail with "Socket is closed".
                try {
                    InputStream in = socket.getInputStream();
                    int n;
                    while ((n = in.read(buf)) >= 0) {
                        synchronized (received) {
                            received.write(buf, 0, n);
                        }
                    }
                } catch (IOException e) {
                    // reset or closed by us: the same as closed for these tests
                }
                peerClosed = true;
            }, "capturing-connection");
            t.setDaemon(true);
            t.start();
        }

        public byte[] bytes() {
            synchronized (received) {
                return received.toByteArray();
            }
        }

        public String received() {
            return new String(bytes(), StandardCharsets.ISO_8859_1);
        }

        /** The request head (up to and including its blank line), or null while it is incomplete. */
        public String head() {
            String r = received();
            int end = r.indexOf("\r\n\r\n");
            return end < 0 ? null : r.substring(0, end + 4);
        }

        /** The head's header lines, lower-cased names: {@code name: value}. */
        public List<String> headerLines() {
            String h = head();
            if (h == null) {
                return List.of();
            }
            List<String> out = new ArrayList<>();
            String[] lines = h.split("\r\n");
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                out.add(lines[i].substring(0, colon).toLowerCase(java.util.Locale.ROOT) + ": "
                        + lines[i].substring(colon + 1).trim());
            }
            return out;
        }

        /** A header's value in the request head, or null. */
        public String header(String lowerCaseName) {
            for (String line : headerLines()) {
                if (line.startsWith(lowerCaseName + ": ")) {
                    return line.substring(lowerCaseName.length() + 2);
                }
            }
            return null;
        }

        /** The complete Wire messages received after the request head (a trailing partial one is left out). */
        public List<Wire.Message> messages() {
            byte[] all = bytes();
            String text = new String(all, StandardCharsets.ISO_8859_1);
            int end = text.indexOf("\r\n\r\n");
            List<Wire.Message> out = new ArrayList<>();
            if (end < 0) {
                return out;
            }
            new Wire.Decoder(out::add).accept(Buffer.buffer(Arrays.copyOfRange(all, end + 4, all.length)));
            return out;
        }

        /** The DATA messages only. */
        public List<Wire.Message> data() {
            return messages().stream().filter(m -> m.type() == Wire.DATA).toList();
        }

        /** End of the stream this connection carried: the highest offset + length of its DATA messages (0: none). */
        public long dataEnd() {
            long end = 0;
            for (Wire.Message m : data()) {
                end = Math.max(end, m.offset() + m.payload().length());
            }
            return end;
        }

        public boolean peerClosed() {
            return peerClosed;
        }

        public void send(String s) {
            send(s.getBytes(StandardCharsets.ISO_8859_1));
        }

        public void send(Buffer b) {
            send(b.getBytes());
        }

        private void send(byte[] bytes) {
            try {
                OutputStream out = socket.getOutputStream();
                out.write(bytes);
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        public void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // already closed
            }
        }
    }
}
