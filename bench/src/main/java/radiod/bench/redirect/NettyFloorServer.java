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
            + "Cache-Control: no-cache\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII);

    private NettyFloorServer() {
    }

    private static final String USAGE = "usage: NettyFloorServer <host> <port> [event loops, 0 = one per core] "
            + "[--spin-nanos N] [--transport epoll|io_uring]";

    /** What the command line asks for. */
    record Options(String host, int port, int loops, long spinNanos, boolean ioUring) {
        /** Parses {@link #USAGE}'s arguments; a bad one is an {@link IllegalArgumentException} that names it. */
        static Options parse(String[] args) {
            if (args.length < 2) {
                throw new IllegalArgumentException("host and port are needed");
            }
            try {
                int port = Integer.parseInt(args[1]);
                int loops = 0;
                long spin = 0;
                boolean uring = false;
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
                return new Options(args[0], port, loops, spin, uring);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("port, event loops and spin are whole numbers", e);
            }
        }
    }

    public static void main(String[] args) throws InterruptedException {
        Options o = null;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("NettyFloorServer: " + e.getMessage() + "\n" + USAGE);
            System.exit(2);
        }
        EventLoopGroup group = group(o);
        Channel server = start(o, group);
        System.out.println("ready on http://" + o.host() + ":" + o.port() + "/ (netty floor, "
                + (o.spinNanos() > 0 ? o.spinNanos() + " ns of work per request, " : "")
                + "event loops " + (o.loops() == 0 ? "one per core" : o.loops()) + ", " + (o.ioUring() ? "io_uring" : "epoll") + ")");
        Runtime.getRuntime().addShutdownHook(new Thread(group::shutdownGracefully));
        server.closeFuture().sync();
    }

    /** The event loops {@code o} asks for, on its transport. */
    static EventLoopGroup group(Options o) {
        int n = o.loops() == 0 ? Runtime.getRuntime().availableProcessors() : o.loops();
        return o.ioUring() ? new IOUringEventLoopGroup(n) : new EpollEventLoopGroup(n);
    }

    /** Binds the floor on {@code group} (port 0 for any free one) and returns its server channel. */
    static Channel start(Options o, EventLoopGroup group) throws InterruptedException {
        ByteBuf answer = Unpooled.unreleasableBuffer(Unpooled.directBuffer(ANSWER.length).writeBytes(ANSWER).asReadOnly());
        return new ServerBootstrap().group(group)
                .channel(o.ioUring() ? IOUringServerSocketChannel.class : EpollServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new Answers(answer, o.spinNanos()));
                    }
                })
                .bind(o.host(), o.port()).sync().channel();
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
