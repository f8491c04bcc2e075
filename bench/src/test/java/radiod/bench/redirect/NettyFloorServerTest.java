package radiod.bench.redirect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

/** The floor server answers exactly one 302 per request, however the requests are cut into reads. */
class NettyFloorServerTest {
    private static final String GET = "GET /live.mp3 HTTP/1.1\r\nHost: 127.0.0.1:18082\r\n\r\n";

    @Test
    void everyRequestGetsOneAnswerWhereverTheReadsCutThem() {
        ByteBuf answer = Unpooled.wrappedBuffer(NettyFloorServer.ANSWER);
        EmbeddedChannel channel = new EmbeddedChannel(new NettyFloorServer.Answers(answer, 0));
        byte[] three = (GET + GET + GET).getBytes(StandardCharsets.US_ASCII);
        int[] cuts = {5, GET.length() - 1, GET.length() + 1, 2 * GET.length() - 2, three.length};
        int from = 0;
        for (int cut : cuts) {
            channel.writeInbound(Unpooled.wrappedBuffer(three, from, cut - from));
            from = cut;
        }
        for (int i = 0; i < 3; i++) {
            ByteBuf out = channel.readOutbound();
            assertArrayEquals(NettyFloorServer.ANSWER, ByteBufUtil.getBytes(out), "answer " + i);
        }
        assertNull(channel.readOutbound(), "one answer per request");
        assertEquals(NettyFloorServer.ANSWER.length, answer.readableBytes(), "the shared answer is never consumed");
    }

    @Test
    void spinningAddsTheAskedWorkPerRequest() {
        EmbeddedChannel channel = new EmbeddedChannel(new NettyFloorServer.Answers(Unpooled.wrappedBuffer(NettyFloorServer.ANSWER),
                2_000_000));
        long start = System.nanoTime();
        channel.writeInbound(Unpooled.copiedBuffer(GET + GET, StandardCharsets.US_ASCII));
        long took = System.nanoTime() - start;
        assertEquals(2, channel.outboundMessages().size());
        assertTrue(took >= 4_000_000, "two requests of 2 ms of work each took " + took + " ns");
    }

    @Test
    void theCommandLineNamesWhatItGetsWrong() {
        NettyFloorServer.Options o = NettyFloorServer.Options.parse(
                new String[] {"127.0.0.1", "18082", "2", "--spin-nanos", "1000", "--transport", "io_uring"});
        assertEquals(new NettyFloorServer.Options("127.0.0.1", 18082, 2, 1000, true), o);
        assertFalse(NettyFloorServer.Options.parse(new String[] {"127.0.0.1", "18082", "--transport", "epoll"}).ioUring());
        assertEquals("--transport is epoll or io_uring, not kqueue", assertThrows(IllegalArgumentException.class,
                () -> NettyFloorServer.Options.parse(new String[] {"127.0.0.1", "1", "--transport", "kqueue"})).getMessage());
        assertEquals("unknown option --spin", assertThrows(IllegalArgumentException.class,
                () -> NettyFloorServer.Options.parse(new String[] {"127.0.0.1", "1", "--spin", "5"})).getMessage());
        assertEquals("incomplete option --transport", assertThrows(IllegalArgumentException.class,
                () -> NettyFloorServer.Options.parse(new String[] {"127.0.0.1", "1", "--transport"})).getMessage());
        assertEquals("port, event loops and spin are whole numbers", assertThrows(IllegalArgumentException.class,
                () -> NettyFloorServer.Options.parse(new String[] {"127.0.0.1", "http"})).getMessage());
        assertEquals("port 1-65535, event loops and spin 0 or more", assertThrows(IllegalArgumentException.class,
                () -> NettyFloorServer.Options.parse(new String[] {"127.0.0.1", "70000"})).getMessage());
    }

    @Test
    void onEpollItAnswersEachRequestOfAKeptConnectionWithRadiodsBytes() throws Exception {
        EventLoopGroup group = NettyFloorServer.group(new NettyFloorServer.Options("127.0.0.1", 0, 1, 0, false));
        try {
            Channel server = NettyFloorServer.start(new NettyFloorServer.Options("127.0.0.1", 0, 1, 0, false), group);
            InetSocketAddress at = (InetSocketAddress) server.localAddress();
            try (Socket client = new Socket(at.getAddress(), at.getPort())) {
                client.setSoTimeout(5_000);
                OutputStream out = client.getOutputStream();
                InputStream in = client.getInputStream();
                for (int i = 0; i < 3; i++) {
                    out.write(GET.getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    assertArrayEquals(NettyFloorServer.ANSWER, in.readNBytes(NettyFloorServer.ANSWER.length), "answer " + i);
                }
            }
        } finally {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        }
    }
}
