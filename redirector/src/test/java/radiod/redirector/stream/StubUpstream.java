package radiod.redirector.stream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An HTTP upstream standing in for Icecast: records each request head, answers with a fixed head and
 * {@code bodyBytes} bytes of body, then either closes (like Icecast when a source leaves) or keeps sending a
 * trickle until the proxy closes the connection.
 */
final class StubUpstream implements AutoCloseable {
    final ServerSocket server;
    final List<Exchange> exchanges = new CopyOnWriteArrayList<>();
    private final String responseHead;
    private final int bodyBytes;
    private final boolean keepStreaming;

    StubUpstream(String responseHead, int bodyBytes, boolean keepStreaming) throws IOException {
        this.responseHead = responseHead;
        this.bodyBytes = bodyBytes;
        this.keepStreaming = keepStreaming;
        server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        Thread t = new Thread(this::acceptLoop, "stub-upstream");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    static final class Exchange {
        volatile String requestHead = "";
        volatile boolean ended;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Exchange e = new Exchange();
                exchanges.add(e);
                Thread t = new Thread(() -> serve(s, e), "stub-upstream-exchange");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s, Exchange e) {
        try (s) {
            InputStream in = s.getInputStream();
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    return;
                }
                head.write(b);
            }
            e.requestHead = head.toString(StandardCharsets.ISO_8859_1);
            OutputStream out = s.getOutputStream();
            out.write(responseHead.getBytes(StandardCharsets.ISO_8859_1));
            byte[] body = new byte[bodyBytes];
            for (int i = 0; i < body.length; i++) {
                body[i] = (byte) i;
            }
            out.write(body);
            out.flush();
            if (keepStreaming) {
                s.setSoTimeout(50);
                while (true) {
                    out.write(new byte[256]);
                    out.flush();
                    try {
                        if (in.read() < 0) {
                            break; // the proxy closed its side
                        }
                    } catch (java.net.SocketTimeoutException still) {
                        // still open: keep trickling
                    }
                }
            }
        } catch (IOException ex) {
            // the proxy reset the connection: closed for our purposes
        }
        e.ended = true;
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
