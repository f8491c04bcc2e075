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
 * An HTTP upstream standing in for Icecast: records each request head and answers it with a fixed head and then a
 * stream: {@code burst} bytes at once, then {@code chunk} bytes every {@code everyMillis}, until {@code endAfter}
 * bytes (then it closes, like Icecast when a source leaves) or, with {@code endAfter} -1, until the client closes.
 * The bytes come from a {@link Content} (the byte at each stream position), and when {@code metaint} is positive
 * the stream carries ICY metadata: after every {@code metaint} bytes a block with {@link #title} when it changed
 * (Icecast's way), else an empty one.
 */
final class StubUpstream implements AutoCloseable {
    /** The stream's bytes, by position. */
    interface Content {
        byte at(long position);
    }

    /** 0, 1, 2, ... 255, 0, 1, ...: any run of it can be checked for continuity. */
    static final Content COUNTING = p -> (byte) p;

    /** MPEG-1 layer III frames of 417 bytes (128 kbit/s, 44.1 kHz), numbered in their bytes 4 to 7. */
    static final int MP3_FRAME = 417;
    static final Content MP3 = p -> {
        long frame = p / MP3_FRAME;
        int at = (int) (p % MP3_FRAME);
        return switch (at) {
            case 0 -> (byte) 0xFF;
            case 1 -> (byte) 0xFB;
            case 2 -> (byte) 0x90;
            case 3 -> (byte) 0x64;
            case 4, 5, 6, 7 -> (byte) (frame >>> (8 * (7 - at)));
            default -> 0;
        };
    };

    final ServerSocket server;
    final List<Exchange> exchanges = new CopyOnWriteArrayList<>();
    private final String responseHead;
    private final Content content;
    private final int burst;
    private final int chunk;
    private final long everyMillis;
    private final long endAfter;
    private final int metaint;
    volatile String title;

    StubUpstream(String responseHead, Content content, int burst, int chunk, long everyMillis, long endAfter, int metaint)
            throws IOException {
        this.responseHead = responseHead;
        this.content = content;
        this.burst = burst;
        this.chunk = chunk;
        this.everyMillis = everyMillis;
        this.endAfter = endAfter;
        this.metaint = metaint;
        server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        Thread t = new Thread(this::acceptLoop, "stub-upstream");
        t.setDaemon(true);
        t.start();
    }

    /** A body of {@code bytes} bytes, then the end. */
    static StubUpstream ending(String head, Content content, int bytes) throws IOException {
        return new StubUpstream(head, content, bytes, 0, 0, bytes, 0);
    }

    /** An endless stream: {@code burst} bytes, then {@code chunk} bytes every {@code everyMillis}. */
    static StubUpstream endless(String head, Content content, int burst, int chunk, long everyMillis) throws IOException {
        return new StubUpstream(head, content, burst, chunk, everyMillis, -1, 0);
    }

    int port() {
        return server.getLocalPort();
    }

    /** Connections still open now. */
    long open() {
        return exchanges.stream().filter(e -> !e.ended).count();
    }

    static final class Exchange {
        volatile String requestHead = "";
        volatile boolean ended;
        volatile long sent;
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
            Writer w = new Writer(out);
            w.send(burst);
            e.sent = w.position;
            s.setSoTimeout((int) Math.max(1, everyMillis));
            while (endAfter < 0 || w.position < endAfter) {
                try {
                    if (in.read() < 0) {
                        break; // the client closed its side
                    }
                } catch (java.net.SocketTimeoutException still) {
                    // still open
                }
                w.send(endAfter < 0 ? chunk : (int) Math.min(chunk, endAfter - w.position));
                e.sent = w.position;
            }
        } catch (IOException ex) {
            // the client reset the connection: closed for our purposes
        }
        e.ended = true;
    }

    /** Writes stream bytes, with ICY blocks where they are due. */
    private final class Writer {
        final OutputStream out;
        long position;
        String sentTitle;

        Writer(OutputStream out) {
            this.out = out;
        }

        void send(int n) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream(n + 64);
            for (int i = 0; i < n; i++) {
                b.write(content.at(position++));
                if (metaint > 0 && position % metaint == 0) {
                    String t = title;
                    if (t == null || t.equals(sentTitle)) {
                        b.write(0);
                    } else {
                        b.writeBytes(IcyFramerTest.metadataBlock(t));
                        sentTitle = t;
                    }
                }
            }
            out.write(b.toByteArray());
            out.flush();
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
