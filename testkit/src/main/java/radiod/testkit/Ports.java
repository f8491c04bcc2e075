package radiod.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/** Free loopback ports and simple reachability checks for tests. */
public final class Ports {
    private Ports() {
    }

    private static final int FIRST = 20000;
    private static final int END = 32000;

    /** Where this JVM's walk through its slice starts (at random, so that runs differ), and how far it has come. */
    private static final int START = ThreadLocalRandom.current().nextInt(END - FIRST);
    private static final AtomicInteger DRAWN = new AtomicInteger();

    /**
     * A TCP (and, most likely, UDP) port that is free on {@code host} now. Ports are drawn from a
     * range away from the kernel's ephemeral range so that outgoing connections do not take them
     * between the check and the use. Modules the build may test side by side ({@code mvn -T 2}) draw
     * from their own lanes (system properties {@code radiod.lane} of {@code radiod.lanes}), and when a
     * module runs its test classes in several JVMs at once ({@code radiod.fork} of
     * {@code radiod.forks}), each draws from its own slice of the lane, so that a port a test frees to
     * restart something on is not handed to another JVM meanwhile. Within a JVM the slice is walked
     * in turn, so that no port is handed out twice before the whole slice has been: ports drawn
     * together (an etcd cluster's six) are never the same one, nor one that an earlier test's process
     * may still be letting go of.
     */
    public static int free(String host) {
        int[] slice = ownSlice();
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = slice[0] + Math.floorMod(START + DRAWN.getAndIncrement(), slice[1] - slice[0]);
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
            } catch (IOException e) {
                continue;
            }
            try (java.net.DatagramSocket d = new java.net.DatagramSocket(new InetSocketAddress(InetAddress.getByName(host), port))) {
                return port;
            } catch (IOException e) {
                // taken for UDP: try another
            }
        }
        throw new IllegalStateException("no free port on " + host);
    }

    /** This JVM's ports [first, end), from the system properties the build sets. */
    static int[] ownSlice() {
        return slice(Integer.getInteger("radiod.lane", 1), Integer.getInteger("radiod.lanes", 1),
                Integer.getInteger("radiod.fork", 1), Integer.getInteger("radiod.forks", 1));
    }

    /**
     * The ports [first, end) of JVM {@code fork} (1-based) of {@code forks} in lane {@code lane} (1-based) of
     * {@code lanes}: the lane's share of the whole range, then the fork's share of the lane. One lane or one fork,
     * or a bad value, takes the whole of what it splits.
     */
    static int[] slice(int lane, int lanes, int fork, int forks) {
        int[] range = split(FIRST, END, lane, lanes);
        return split(range[0], range[1], fork, forks);
    }

    private static int[] split(int first, int end, int part, int parts) {
        if (parts <= 1 || part < 1 || part > parts) {
            return new int[] {first, end};
        }
        int size = (end - first) / parts;
        return new int[] {first + (part - 1) * size, first + part * size};
    }

    /** Whether host:port can be bound now, for TCP and UDP. */
    public static boolean isFree(String host, int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
        } catch (IOException e) {
            return false;
        }
        try (java.net.DatagramSocket d = new java.net.DatagramSocket(new InetSocketAddress(InetAddress.getByName(host), port))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether something accepts TCP connections on host:port. */
    public static boolean accepts(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 300);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether GET path answers with a 2xx status. */
    public static boolean answersHttp(String host, int port, String path) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 300);
            s.setSoTimeout(1000);
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] head = in.readNBytes(12);
            String status = new String(head, StandardCharsets.US_ASCII);
            return status.startsWith("HTTP/1.") && status.length() >= 12 && status.charAt(9) == '2';
        } catch (IOException e) {
            return false;
        }
    }

    static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
