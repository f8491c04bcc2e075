package radiod.redirector.source;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A TCP server standing in for a master's Icecast: records every connection and the bytes it received. */
final class CapturingServer implements AutoCloseable {
    private final ServerSocket server;
    private final List<Connection> connections = new CopyOnWriteArrayList<>();

    CapturingServer(String host) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getByName(host));
        Thread t = new Thread(this::acceptLoop, "capturing-server-" + server.getLocalPort());
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    List<Connection> connections() {
        return List.copyOf(connections);
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

    static final class Connection {
        private final Socket socket;
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();
        private volatile boolean peerClosed;

        Connection(Socket socket) {
            this.socket = socket;
        }

        void start() {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[8192];
                try (InputStream in = socket.getInputStream()) {
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

        String received() {
            synchronized (received) {
                return received.toString(StandardCharsets.ISO_8859_1);
            }
        }

        boolean peerClosed() {
            return peerClosed;
        }

        void send(String s) {
            try {
                socket.getOutputStream().write(s.getBytes(StandardCharsets.ISO_8859_1));
                socket.getOutputStream().flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // already closed
            }
        }
    }
}
