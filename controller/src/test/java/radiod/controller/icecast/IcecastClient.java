package radiod.controller.icecast;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Plain-socket HTTP for tests: what a listener, an encoder (or radiod's feed) and an operator's curl would send to
 * Icecast.
 */
final class IcecastClient {
    private IcecastClient() {
    }

    /** GET, optionally with Basic credentials; returns the status code. */
    static int status(String host, int port, String path, String user, String password) {
        String auth = user == null ? "" : "Authorization: " + basic(user, password) + "\r\n";
        return exchange(host, port, "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n" + auth + "\r\n");
    }

    /** GET with Basic credentials; returns the body of a 200 answer. */
    static byte[] body(String host, int port, String path, String user, String password) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 1000);
            s.setSoTimeout(3000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\nAuthorization: "
                    + basic(user, password) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            String head = readHead(in);
            if (!head.startsWith("HTTP/1.0 200") && !head.startsWith("HTTP/1.1 200")) {
                throw new IllegalStateException("GET " + path + " got " + head.lines().findFirst().orElse(head));
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * An encoder's PUT (as ffmpeg and radiod's Feed send it); returns the status code of Icecast's verdict: 200 when
     * the source is taken, 401 when refused (a 100 Continue before it is skipped).
     */
    static int sourcePut(String host, int port, String mount, String user, String password) {
        return exchange(host, port, "PUT " + mount + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\n"
                + "Authorization: " + basic(user, password) + "\r\nContent-Type: audio/mpeg\r\nIce-Public: 0\r\n"
                + "Expect: 100-continue\r\n\r\n");
    }

    /** A listener: GET the mount and return the first {@code bytes} bytes of the body. */
    static byte[] listen(String host, int port, String mount, int bytes) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 1000);
            s.setSoTimeout(3000);
            s.getOutputStream().write(("GET " + mount + " HTTP/1.0\r\nHost: " + host + "\r\nUser-Agent: radiod-test\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            String head = readHead(in);
            if (!head.startsWith("HTTP/1.0 200") && !head.startsWith("HTTP/1.1 200")) {
                throw new IllegalStateException("listener got " + head.lines().findFirst().orElse(head));
            }
            return in.readNBytes(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A listener that stays connected, reading on its own thread: what it received and whether Icecast still
     * serves it (one TCP connection from start to end, so a listener moved between mounts stays the same).
     */
    static final class Listener implements AutoCloseable {
        private final Socket socket;
        private final AtomicLong received = new AtomicLong();
        private volatile boolean connected = true;

        private Listener(Socket socket) {
            this.socket = socket;
        }

        /** GET the mount; returns once Icecast answered 200. */
        static Listener open(String host, int port, String mount) {
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress(host, port), 1000);
                s.setSoTimeout(5000);
                s.getOutputStream().write(("GET " + mount + " HTTP/1.0\r\nHost: " + host
                        + "\r\nUser-Agent: radiod-test\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                String head = readHead(s.getInputStream());
                if (!head.startsWith("HTTP/1.0 200") && !head.startsWith("HTTP/1.1 200")) {
                    throw new IllegalStateException("listener of " + mount + " got " + head.lines().findFirst().orElse(head));
                }
            } catch (IOException e) {
                close(s);
                throw new UncheckedIOException(e);
            } catch (RuntimeException e) {
                close(s);
                throw e;
            }
            Listener l = new Listener(s);
            Thread t = new Thread(l::read, "listener" + mount);
            t.setDaemon(true);
            t.start();
            return l;
        }

        private void read() {
            byte[] buf = new byte[8192];
            try {
                InputStream in = socket.getInputStream();
                int n;
                while ((n = in.read(buf)) >= 0) {
                    received.addAndGet(n);
                }
            } catch (IOException e) {
                // closed by us or by Icecast, or no byte for 5 s
            } finally {
                connected = false;
            }
        }

        /** Stream bytes received so far. */
        long received() {
            return received.get();
        }

        /** Whether Icecast still serves this connection. */
        boolean connected() {
            return connected;
        }

        @Override
        public void close() {
            close(socket);
        }

        private static void close(Socket s) {
            try {
                s.close();
            } catch (IOException e) {
                // gone anyway
            }
        }
    }

    private static int exchange(String host, int port, String request) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 1000);
            s.setSoTimeout(3000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            int status;
            do {
                // Icecast answers an encoder's Expect: 100-continue with 100, then its verdict (200 or 401).
                status = Integer.parseInt(readHead(in).split(" ", 3)[1]);
            } while (status == 100);
            return status;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int c;
        int state = 0;
        while (state < 4 && (c = in.read()) >= 0) {
            head.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1
                    : c == '\r' ? 1 : 0;
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }
}
