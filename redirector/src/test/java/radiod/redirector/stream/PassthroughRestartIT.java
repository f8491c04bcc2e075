package radiod.redirector.stream;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import radiod.testkit.Icecast;

/**
 * The local Icecast restarting under a mount's listeners: they are held, silent, while their event loop's one read
 * of the mount asks for it again (a handful of connections in all, not a stream of them per listener), and they go
 * on, on the same responses, once the new Icecast has the mount again.
 */
class PassthroughRestartIT {
    static final String HOST = "127.0.0.1";
    static final String MOUNT = "/live.mp3";

    /** Forwards connections to the Icecast's port and counts them (those it could not forward too). */
    static final class Counting implements AutoCloseable {
        final ServerSocket server;
        final AtomicInteger connections = new AtomicInteger();

        Counting(int target) throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getByName(HOST));
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket in = server.accept();
                        connections.incrementAndGet();
                        try {
                            Socket out = new Socket(HOST, target);
                            pump(in, out);
                            pump(out, in);
                        } catch (IOException refused) {
                            in.close();
                        }
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "counting-forwarder");
            t.setDaemon(true);
            t.start();
        }

        static void pump(Socket from, Socket to) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[16384];
                try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                    int n;
                    while ((n = in.read(buf)) >= 0) {
                        out.write(buf, 0, n);
                    }
                } catch (IOException e) {
                    // either side gone
                }
                try {
                    from.close();
                    to.close();
                } catch (IOException e) {
                    // closed
                }
            }, "pump");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    @Test
    void anIcecastRestartHoldsTheListenersWhileOneReadPerEventLoopAsksAgain() throws Exception {
        Path dir = Files.createTempDirectory("radiod-passthrough-restart-it-");
        List<Icecast.Source> mounts = List.of(new Icecast.Source(MOUNT, "source", "pw-live"));
        Icecast first;
        try {
            first = Icecast.start(HOST, mounts);
        } catch (RuntimeException e) {
            Audio.delete(dir);
            throw e;
        }
        int icecastPort = first.port();
        Icecast again = null;
        Process encoder = Audio.mp3(dir, icecastPort, MOUNT, "pw-live");
        Vertx vertx = Vertx.vertx();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        List<Listening> listeners = new ArrayList<>();
        try (Counting counting = new Counting(icecastPort)) {
            Passthrough passthrough = new Passthrough(vertx, registry, HOST, counting.port(), PassthroughSettings.DEFAULTS);
            HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost(HOST).setPort(0))
                    .requestHandler(req -> passthrough.serve(req, MOUNT));
            int port = server.listen().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS).actualPort();
            await().atMost(Duration.ofSeconds(15)).until(() -> {
                Audio.assertAlive(List.of(encoder), dir);
                return first.hasSource(MOUNT);
            });
            for (int i = 0; i < 3; i++) {
                Listening l = Listening.open(port, Listening.get("/_stream" + MOUNT, "HTTP/1.1"));
                listeners.add(l);
                l.read(40_000);
            }
            assertEquals(1, counting.connections.get());

            encoder.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            first.close();
            await().atMost(Duration.ofSeconds(5)).until(() -> passthrough.held() == 3);
            long heldAt = System.nanoTime();
            again = Icecast.start(HOST, icecastPort, mounts);
            Process encoderAgain = Audio.mp3(dir, icecastPort, MOUNT, "pw-live");
            try {
                for (Listening l : listeners) {
                    // Whatever was queued before the restart, then the new Icecast's audio on the same response.
                    l.socket.setSoTimeout(15_000);
                    l.read(16_000);
                }
                await().atMost(Duration.ofSeconds(15)).until(() -> passthrough.held() == 0);
                long heldMs = (System.nanoTime() - heldAt) / 1_000_000;
                for (Listening l : listeners) {
                    Audio.assertDecodes(dir, l.read(40_000), "mp3");
                }
                int redials = counting.connections.get() - 1;
                System.out.printf("held %d ms, %d re-dials for 3 listeners%n", heldMs, redials);
                // 250 ms, 500 ms, then every second: one series for the event loop, however many listeners it has.
                assertTrue(redials >= 1 && redials <= heldMs / 1000 + 3, redials + " re-dials in " + heldMs + " ms");
                assertEquals(3.0, registry.get("radiod.passthrough.resumed").counter().count());
                assertEquals(3, passthrough.listeners());
                assertEquals(1, again.listeners(MOUNT).orElseThrow(), "the new Icecast has one listener: the read");
            } finally {
                encoderAgain.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            passthrough.close();
        } finally {
            for (Listening l : listeners) {
                l.close();
            }
            encoder.destroyForcibly();
            vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            first.close();
            if (again != null) {
                again.close();
            }
            Audio.delete(dir);
        }
    }
}
