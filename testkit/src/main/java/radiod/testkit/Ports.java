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
     * between the check and the use. When a module runs its test classes in several JVMs at once
     * (system properties {@code radiod.fork} of {@code radiod.forks}, set by the build), each draws
     * from its own slice, so that a port a test frees to restart something on is not handed to the
     * other JVM meanwhile. Within a JVM the slice is walked in turn, so that no port is handed out
     * twice before the whole slice has been: ports drawn together (an etcd cluster's six) are never
     * the same one, nor one that an earlier test's process may still be letting go of.
     */
    public static int free(String host) {
        int[] slice = slice(Integer.getInteger("radiod.fork", 1), Integer.getInteger("radiod.forks", 1));
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

    /** The ports [first, end) of JVM {@code fork} (1-based) of {@code forks}; the whole range for one, or bad values. */
    static int[] slice(int fork, int forks) {
        if (forks <= 1 || fork < 1 || fork > forks) {
            return new int[] {FIRST, END};
        }
        int size = (END - FIRST) / forks;
        return new int[] {FIRST + (fork - 1) * size, FIRST + fork * size};
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
