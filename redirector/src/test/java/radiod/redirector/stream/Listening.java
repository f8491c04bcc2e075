package radiod.redirector.stream;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A listener on a raw socket, as a player is: sends a request, reads the head, then the body (de-chunked for a
 * chunked HTTP/1.1 response, counting the chunks), as much or as little as the test wants.
 */
final class Listening implements AutoCloseable {
    final Socket socket;
    final InputStream in;
    final String head;
    final boolean chunked;
    int chunks;
    /** Socket reads that brought body bytes of a body that is not chunked: on loopback, one per write that came apart. */
    int reads;
    private int chunkLeft;
    private boolean ended;

    private Listening(Socket socket, String head) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.head = head;
        this.chunked = head.toLowerCase(Locale.ROOT).contains("\r\ntransfer-encoding: chunked\r\n");
    }

    /** Sends {@code request} (a whole request head) and reads the response head. */
    static Listening open(int port, String request) throws IOException {
        return open(port, request, 0);
    }

    /** The same with a small receive buffer (bytes), for a listener that will stop reading. */
    static Listening open(int port, String request, int receiveBuffer) throws IOException {
        return open(port, request, receiveBuffer, 5000);
    }

    /** The same, waiting up to {@code timeoutMillis} for each read (the head's included). */
    static Listening open(int port, String request, int receiveBuffer, int timeoutMillis) throws IOException {
        Socket s = new Socket();
        if (receiveBuffer > 0) {
            s.setReceiveBufferSize(receiveBuffer);
        }
        s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
        s.setSoTimeout(timeoutMillis);
        s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                s.close();
                throw new EOFException("closed inside the response head: " + head.toString(StandardCharsets.ISO_8859_1));
            }
            head.write(b);
        }
        return new Listening(s, head.toString(StandardCharsets.ISO_8859_1));
    }

    static String get(String path, String version, String... headers) {
        StringBuilder r = new StringBuilder("GET " + path + " " + version + "\r\n");
        if (version.equals("HTTP/1.1")) {
            r.append("Host: 127.0.0.1\r\n");
        }
        for (String h : headers) {
            r.append(h).append("\r\n");
        }
        return r.append("\r\n").toString();
    }

    int status() {
        return Integer.parseInt(head.substring(9, 12));
    }

    /** A response header's value, or null. */
    String header(String name) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
                return line.substring(colon + 1).trim();
            }
        }
        return null;
    }

    /** Reads exactly n body bytes; fails if the body ends first. */
    byte[] read(int n) throws IOException {
        byte[] out = new byte[n];
        int got = 0;
        while (got < n) {
            int r = read(out, got, n - got);
            if (r < 0) {
                throw new EOFException("the body ended after " + got + " of " + n + " bytes");
            }
            got += r;
        }
        return out;
    }

    /** Reads whatever comes for {@code millis} (the stream must not end meanwhile); returns how many body bytes. */
    int readFor(long millis) throws IOException {
        byte[] buf = new byte[8192];
        int got = 0;
        long start = System.nanoTime();
        while (System.nanoTime() - start < millis * 1_000_000L) {
            got += Math.max(0, read(buf, 0, buf.length));
        }
        return got;
    }

    /** Reads body bytes until the end of the body or of the connection, however it ends. */
    byte[] readToEnd() throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int r;
        try {
            while ((r = read(buf, 0, buf.length)) >= 0) {
                all.write(buf, 0, r);
            }
        } catch (java.net.SocketException | EOFException cut) {
            // a reset, or a connection closed inside a chunk (a dropped listener), ends it too
        }
        return all.toByteArray();
    }

    /** Up to len body bytes, whatever is there (blocking for the first); -1 at the end. */
    int read(byte[] b, int off, int len) throws IOException {
        if (ended) {
            return -1;
        }
        if (!chunked) {
            int r = in.read(b, off, len);
            if (r > 0) {
                reads++;
            }
            return r;
        }
        if (chunkLeft == 0) {
            String line = line();
            if (line == null) {
                return -1;
            }
            int size = Integer.parseInt(line.split(";")[0].trim(), 16);
            if (size == 0) {
                ended = true;
                return -1;
            }
            chunks++;
            chunkLeft = size;
        }
        int r = in.read(b, off, Math.min(len, chunkLeft));
        if (r < 0) {
            throw new EOFException("the connection closed inside a chunk");
        }
        chunkLeft -= r;
        if (chunkLeft == 0) {
            String crlf = line();
            if (crlf == null || !crlf.isEmpty()) {
                throw new IOException("no CRLF after a chunk: " + crlf);
            }
        }
        return r;
    }

    private String line() throws IOException {
        StringBuilder s = new StringBuilder();
        while (true) {
            int c = in.read();
            if (c < 0) {
                return s.length() == 0 ? null : s.toString();
            }
            if (c == '\n') {
                int last = s.length() - 1;
                return last >= 0 && s.charAt(last) == '\r' ? s.substring(0, last) : s.toString();
            }
            s.append((char) c);
        }
    }

    /** Whether each byte follows the one before in {@link StubUpstream#COUNTING}. */
    static void assertCounting(byte[] body) {
        for (int i = 1; i < body.length; i++) {
            if ((byte) (body[i - 1] + 1) != body[i]) {
                throw new AssertionError("byte " + i + " of " + body.length + " does not follow: " + body[i - 1] + ", " + body[i]);
            }
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
