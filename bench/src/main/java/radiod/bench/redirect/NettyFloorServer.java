package radiod.bench.redirect;

import java.nio.charset.StandardCharsets;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.incubator.channel.uring.IOUringEventLoopGroup;
import io.netty.incubator.channel.uring.IOUringServerSocketChannel;

/**
 * The floor under radiod's redirect figures ({@code FLOOR=1 bench/redirect/run}): the JVM and Netty's epoll transport,
 * as radiod runs them, answering every request with the same fixed 302 radiod sends (same bytes, keep-alive) and doing
 * nothing else: no HTTP parsing beyond finding each request's end, no load balancing, no metrics, no Vert.x. What
 * separates radiod from nginx on one machine is then split in two: what any JVM server on Netty pays here, and what
 * radiod's own work per redirect adds.
 *
 * <p>{@code --spin-nanos N} adds N ns of busy work per request (a measuring probe: how the latency tail answers to a
 * server's CPU per request when the load generator shares the cores).
 *
 * <p>Usage: {@code NettyFloorServer <host> <port> [event loops, 0 = one per core] [--spin-nanos N]
 * [--transport epoll|io_uring]}. {@code io_uring} is Netty's incubator io_uring transport (the one Vert.x 4.5 can run
 * on), in place of epoll: does a cheaper transport exist for radiod to move to? Not part of radiod.
 */
public final class NettyFloorServer {
    /** radiod's lean answer for {@code GET /live.mp3} to node2 of {@link RedirectBenchServer}'s cluster, byte for byte. */
    static final byte[] ANSWER = ("HTTP/1.1 302 Found\r\nLocation: http://192.0.2.12:8080/_stream/live.mp3\r\n"
            + "Cache-Control: no-cache\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII);

    private NettyFloorServer() {
    }

    private static final String USAGE = "usage: NettyFloorServer <host> <port> [event loops, 0 = one per core] "
            + "[--spin-nanos N] [--transport epoll|io_uring]";

    public static void main(String[] args) throws InterruptedException {
        int port = 0;
        int loops = 0;
        long spin = 0;
        boolean uring = false;
        try {
            if (args.length < 2) {
                throw new IllegalArgumentException("host and port are needed");
            }
            port = Integer.parseInt(args[1]);
            int next = 2;
            if (args.length > next && !args[next].startsWith("--")) {
                loops = Integer.parseInt(args[next++]);
            }
            for (; next < args.length; next += 2) {
                if (next + 1 == args.length) {
                    throw new IllegalArgumentException("incomplete option " + args[next]);
                }
                String value = args[next + 1];
                switch (args[next]) {
                    case "--spin-nanos" -> spin = Long.parseLong(value);
                    case "--transport" -> {
                        if (!value.equals("epoll") && !value.equals("io_uring")) {
                            throw new IllegalArgumentException("--transport is epoll or io_uring, not " + value);
                        }
                        uring = value.equals("io_uring");
                    }
                    default -> throw new IllegalArgumentException("unknown option " + args[next]);
                }
            }
            if (port < 1 || port > 65535 || loops < 0 || spin < 0) {
                throw new IllegalArgumentException("port 1-65535, event loops and spin 0 or more");
            }
        } catch (IllegalArgumentException e) {
            String why = e instanceof NumberFormatException ? "port, event loops and spin are whole numbers" : e.getMessage();
            System.err.println("NettyFloorServer: " + why + "\n" + USAGE);
            System.exit(2);
        }
        ByteBuf answer = Unpooled.unreleasableBuffer(Unpooled.directBuffer(ANSWER.length).writeBytes(ANSWER).asReadOnly());
        int n = loops == 0 ? Runtime.getRuntime().availableProcessors() : loops;
        EventLoopGroup group = uring ? new IOUringEventLoopGroup(n) : new EpollEventLoopGroup(n);
        long spinNanos = spin;
        Channel server = new ServerBootstrap().group(group).channel(uring ? IOUringServerSocketChannel.class : EpollServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new Answers(answer, spinNanos));
                    }
                })
                .bind(args[0], port).sync().channel();
        System.out.println("ready on http://" + args[0] + ":" + args[1] + "/ (netty floor, " + (spin > 0 ? spin + " ns of work per request, " : "")
                + "event loops " + (loops == 0 ? "one per core" : loops) + ", " + (uring ? "io_uring" : "epoll") + ")");
        Runtime.getRuntime().addShutdownHook(new Thread(group::shutdownGracefully));
        server.closeFuture().sync();
    }

    /** Counts request ends (an empty line) across reads and writes one answer for each, flushed once per read. */
    static final class Answers extends ChannelInboundHandlerAdapter {
        private final ByteBuf answer;
        private final long spinNanos;
        /** Line ends seen in a row, not counting CR: 2 ends a request head. */
        private int newlines;
        private boolean unflushed;

        Answers(ByteBuf answer, long spinNanos) {
            this.answer = answer;
            this.spinNanos = spinNanos;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            try {
                for (int i = in.readerIndex(), end = in.writerIndex(); i < end; i++) {
                    byte b = in.getByte(i);
                    if (b == '\n') {
                        if (++newlines == 2) {
                            newlines = 0;
                            spin();
                            ctx.write(answer.duplicate(), ctx.voidPromise());
                            unflushed = true;
                        }
                    } else if (b != '\r') {
                        newlines = 0;
                    }
                }
            } finally {
                in.release();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (unflushed) {
                unflushed = false;
                ctx.flush();
            }
        }

        private void spin() {
            if (spinNanos > 0) {
                long until = System.nanoTime() + spinNanos;
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
            }
        }
    }
}
