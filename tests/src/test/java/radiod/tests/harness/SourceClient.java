package radiod.tests.harness;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import radiod.testkit.audio.Mp3Frames;

/**
 * A source as libshout 2.4 connects one: {@code PUT /mount HTTP/1.1} with Basic credentials, the stream's
 * {@code Content-Type} and {@code Expect: 100-continue}, then the {@link MarkedAudio} programme in real time. Unlike
 * ffmpeg it says what the server answered, which is what a libshout encoder acts on: {@code 401} reads as a wrong
 * password and it stops for good.
 */
public final class SourceClient implements AutoCloseable {
    private final Socket socket;
    private final int status;
    private final String answer;
    private volatile boolean running = true;
    private Thread sender;

    private SourceClient(Socket socket, int status, String answer) {
        this.socket = socket;
        this.status = status;
        this.answer = answer;
    }

    /** Connects and reads the answer to the request head (up to 5 s); streams the programme if it was let in. */
    public static SourceClient connect(String host, int port, String mount, String user, String password) throws IOException {
        Programme.load();
        Socket s = new Socket();
        s.connect(new InetSocketAddress(host, port), 2000);
        s.setSoTimeout(5000);
        String auth = Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        String head = "PUT " + mount + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\nAuthorization: Basic " + auth
                + "\r\nUser-Agent: libshout/2.4.6\r\nContent-Type: audio/mpeg\r\nIce-Public: 0\r\nIce-Name: radiod test"
                + "\r\nExpect: 100-continue\r\n\r\n";
        s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        String line;
        try {
            line = statusLine(s.getInputStream());
        } catch (IOException e) {
            line = "";
        }
        int status = -1;
        String[] parts = line.split(" ");
        if (parts.length >= 2 && parts[0].startsWith("HTTP/")) {
            try {
                status = Integer.parseInt(parts[1]);
            } catch (NumberFormatException e) {
                status = -1;
            }
        }
        SourceClient c = new SourceClient(s, status, line);
        if (c.accepted()) {
            c.startSending();
        } else {
            s.close();
        }
        return c;
    }

    private static String statusLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n' && b.length() < 200) {
            if (c != '\r') {
                b.append((char) c);
            }
        }
        // skip the rest of the head
        int matched = 0;
        while (matched < 2 && (c = in.read()) >= 0) {
            matched = c == '\n' ? matched + 1 : c == '\r' ? matched : 0;
        }
        return b.toString();
    }

    /** The HTTP status of the answer, or -1 when none came (closed, or no answer in 5 s). */
    public int status() {
        return status;
    }

    /** The answer's status line, for messages. */
    public String answer() {
        return answer.isEmpty() ? "no answer" : answer;
    }

    /** Let in: {@code 100 Continue} or {@code 200 OK}. */
    public boolean accepted() {
        return status == 100 || status == 200;
    }

    /**
     * The programme's bytes and where each of its frames starts (and, last, where the last one ends), read once: an
     * encoder has its audio ready when the server lets it in, so reading a 5 MB file then is not counted in what the
     * tests measure from that moment.
     */
    private static final class Programme {
        static final byte[] DATA;
        static final int[] FRAMES;

        static {
            try {
                DATA = Files.readAllBytes(MarkedAudio.get().file());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            List<Integer> at = new ArrayList<>();
            int pos = 0;
            for (int len; pos < DATA.length && (len = Mp3Frames.length(DATA, pos, DATA.length)) > 0; pos += len) {
                at.add(pos);
            }
            at.add(pos); // where the last whole frame ends
            if (at.size() < 2) {
                throw new IllegalStateException("the programme " + MarkedAudio.get().file() + " starts with no MP3 frame");
            }
            FRAMES = at.stream().mapToInt(Integer::intValue).toArray(); // its last entry is the end
        }

        /** Reads it now, if it was not yet. */
        static void load() {
        }
    }

    private void startSending() {
        byte[] data = Programme.DATA;
        int[] frames = Programme.FRAMES;
        sender = new Thread(() -> {
            try {
                OutputStream out = socket.getOutputStream();
                long start = System.currentTimeMillis();
                // from the frame on air now, in real time: 16,000 bytes a second, a quarter second ahead, in 100 ms
                // steps, a write per frame
                MarkedAudio m = MarkedAudio.get();
                int count = frames.length - 1;
                int frame = (int) Math.floorMod(m.frameAt(start), Math.min(m.frames(), count));
                long sent = 0;
                while (running) {
                    long due = (System.currentTimeMillis() - start) * 16 + 4_000;
                    while (sent < due && running) {
                        int pos = frames[frame];
                        int len = frames[frame + 1] - pos;
                        out.write(data, pos, len);
                        sent += len;
                        frame = (frame + 1) % count;
                    }
                    out.flush();
                    Thread.sleep(100);
                }
            } catch (IOException | InterruptedException e) {
                // closed
            }
        }, "source-client");
        sender.setDaemon(true);
        sender.start();
    }

    @Override
    public void close() {
        running = false;
        try {
            socket.close();
        } catch (IOException e) {
            // closing
        }
        if (sender != null) {
            sender.interrupt();
        }
    }
}
