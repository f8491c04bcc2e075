package radiod.redirector.carry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;

/** A mount's feed to the node's own Icecast, against a stand-in Icecast that takes the feed and then reads nothing. */
class FeedTest {
    private Vertx vertx;
    private ServerSocket icecast;
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() throws Exception {
        if (icecast != null) {
            icecast.close();
        }
        for (Socket s : accepted) {
            s.close();
        }
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
    }

    /** A hung Icecast: answers the feed's PUT with 100 Continue, then never reads again. */
    private void hungIcecast() throws IOException {
        icecast = new ServerSocket();
        icecast.setReceiveBufferSize(4096);
        icecast.bind(new java.net.InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
        Thread t = new Thread(() -> {
            while (!icecast.isClosed()) {
                try {
                    Socket s = icecast.accept();
                    accepted.add(s);
                    InputStream in = s.getInputStream();
                    StringBuilder head = new StringBuilder();
                    while (head.indexOf("\r\n\r\n") < 0) {
                        int b = in.read();
                        if (b < 0) {
                            break;
                        }
                        head.append((char) b);
                    }
                    s.getOutputStream().write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    s.getOutputStream().flush();
                } catch (IOException e) {
                    return;
                }
            }
        }, "hung-icecast");
        t.setDaemon(true);
        t.start();
    }

    @Test
    void aLocalIcecastThatTakesNothingIsLeftAndConnectedAgainInsteadOfQueuedForWithoutEnd() throws Exception {
        hungIcecast();
        vertx = Vertx.vertx();
        Context loop = vertx.getOrCreateContext();
        long stallMillis = 1_000;
        AtomicLong written = new AtomicLong();
        loop.runOnContext(v -> {
            // Small socket buffers, so that the queue fills within the test's time (the kernel's take megabytes).
            Feed feed = new Feed(vertx, vertx.createNetClient(new io.vertx.core.net.NetClientOptions()
                    .setSendBufferSize(8 * 1024)), "127.0.0.1", icecast.getLocalPort(), "pw", "/live.mp3",
                    () -> null, Future::succeededFuture, () -> { }, stallMillis);
            feed.open("Content-Type: audio/mpeg\r\n");
            vertx.setPeriodic(20, t -> {
                feed.write(Buffer.buffer(new byte[4_000]));
                written.addAndGet(4_000);
            });
        });
        long started = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).until(() -> accepted.size() >= 2);
        long left = Duration.ofNanos(System.nanoTime() - started).toMillis();
        System.out.printf("left the hung Icecast and connected again %d ms after the feed started (%d bytes written)%n",
                left, written.get());
        // Full queue first (some 100 kB, the kernel's and Netty's), then the stall bound, then a new connection.
        assertTrue(left >= stallMillis, "left after " + left + " ms");
        // The first connection is closed by the feed: what it sent, then its end (a timeout here fails the test).
        Socket first = accepted.get(0);
        first.setSoTimeout(5_000);
        byte[] buf = new byte[64 * 1024];
        long queued = 0;
        for (int n; (n = first.getInputStream().read(buf)) >= 0; ) {
            queued += n;
        }
        assertTrue(queued < written.get(), queued + " of " + written.get() + " bytes reached the hung Icecast");
    }

    @Test
    void aPreambleIsFoundAcrossTheQueuedPieces() {
        Buffer pre = Buffer.buffer("OggS-id|OggS-setup|");
        assertTrue(Feed.startsWith(List.of(Buffer.buffer("OggS-id|"), Buffer.buffer("OggS-setup|"),
                Buffer.buffer("audio")), pre));
        assertTrue(Feed.startsWith(List.of(Buffer.buffer("OggS-id|OggS-setup|audio")), pre));
        assertFalse(Feed.startsWith(List.of(Buffer.buffer("OggS-id|")), pre), "only part of it is queued");
        assertFalse(Feed.startsWith(List.of(Buffer.buffer("audio"), Buffer.buffer("OggS-id|OggS-setup|")), pre));
        assertFalse(Feed.startsWith(List.of(), pre));
    }
}
