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

/** Plain-socket HTTP for tests: what a listener, an encoder and an operator's curl would send to Icecast. */
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

    /** An encoder's PUT (as ffmpeg sends it); returns the status code of Icecast's first answer. */
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

    private static int exchange(String host, int port, String request) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 1000);
            s.setSoTimeout(3000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String head = readHead(s.getInputStream());
            String[] statusLine = head.split(" ", 3);
            return Integer.parseInt(statusLine[1]);
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
