package radiod.bench.redirect;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.vertx.core.http.HttpServerRequest;
import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.balance.Pipeline;
import radiod.redirector.listen.HttpFrontSettings;
import radiod.redirector.listen.LeanRedirects;
import radiod.redirector.listen.ListenerRoutes;
import radiod.redirector.listen.StreamServer;
import radiod.redirector.metrics.FrontMetrics;

/**
 * radiod's own work per redirect, without the kernel and the load generator: the lean path (raw reader, pipeline
 * decision, counters, answer) as installed on a connection, fed wrk's request on in-memory channels, one per thread,
 * all threads sharing one front as a node's event loops do. Prints each thread's CPU time per redirect. The bench
 * that shows what a change to the path buys, where the whole-machine runs move by more than the change from run to
 * run ({@code bench/redirect/turns} with {@code MODE=path}).
 *
 * <p>Usage: {@code LeanPathBench [threads, default 2] [seconds measured, default 10] [seconds of warm-up, default 10]
 * [separate]}; {@code separate} gives each thread a front of its own (nothing of radiod's shared between the threads).
 * With two threads, CPU per redirect here is 1.5–2.5 µs, against ~0.4 µs with one, shared front or not: what two
 * threads cost each other is in Netty and the JVM (a loop doing nothing else, each thread busy all the time), not in
 * radiod's path; the one-thread figure is the path's own work.
 * The cluster is {@link RedirectBenchServer}'s: three nodes, the default pipeline; each node's status is renewed every
 * {@value SideBySide#RENEW_MILLIS} ms (not every second: at this bench's rate, a second's redirects would fill the nodes'
 * bandwidth).
 */
public final class LeanPathBench {
    private static final byte[] REQUEST = "GET /live.mp3 HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    private LeanPathBench() {
    }

    public static void main(String[] args) throws Exception {
        // Netty's debug lines through the JDK's logging (INFO and up) rather than logback's default (everything).
        io.netty.util.internal.logging.InternalLoggerFactory.setDefaultFactory(
                io.netty.util.internal.logging.JdkLoggerFactory.INSTANCE);
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        long seconds = args.length > 1 ? Long.parseLong(args[1]) : 10;
        long warmup = args.length > 2 ? Long.parseLong(args[2]) : 10;
        boolean separate = args.length > 3 && args[3].equals("separate");
        Mount live = new Mount("/live.mp3", null, "bench", null, null, 0, 128, null);
        AtomicReference<ClusterSnapshot> view = SideBySide.renewedView(live, RedirectBenchServer.MAX_BPS);
        HttpFrontSettings settings = new HttpFrontSettings("bench", "127.0.0.1", 18080, Pipeline.DEFAULT, null, null, 5,
                "127.0.0.1", 8100, threads);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        FrontMetrics metrics = new FrontMetrics(registry, view::get, () -> false);
        ListenerRoutes routes = new ListenerRoutes(settings, view::get, Pipeline.parse(Pipeline.DEFAULT), new NoStreams(), metrics);
        LeanRedirects lean = new LeanRedirects(routes, view::get, false);

        String figures = SideBySide.run(threads, warmup, seconds, "redirect", () -> {
            EmbeddedChannel ch = new EmbeddedChannel();
            ch.pipeline().addLast("httpDecoder", new HttpRequestDecoder());
            ch.pipeline().addLast("httpEncoder", new HttpResponseEncoder());
            ch.pipeline().addLast("handler", new ChannelInboundHandlerAdapter());
            LeanRedirects mine = separate ? new LeanRedirects(new ListenerRoutes(settings, view::get,
                    Pipeline.parse(Pipeline.DEFAULT), new NoStreams(), new FrontMetrics(
                    new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), view::get, () -> false)), view::get, false) : lean;
            if (!mine.install(ch.pipeline(), true)) {
                throw new IllegalStateException("the lean path did not install");
            }
            ByteBufAllocator alloc = ch.alloc();
            return () -> ask(ch, alloc);
        });
        System.out.printf("%d threads%s: %s%n", threads, separate ? " (a front each)" : "", figures);
    }

    /** One request in, its answer out and freed, as a read and a write on a connection. */
    private static void ask(EmbeddedChannel ch, ByteBufAllocator alloc) {
        ByteBuf in = alloc.directBuffer(REQUEST.length).writeBytes(REQUEST);
        ch.writeInbound(in);
        ByteBuf out = ch.readOutbound();
        if (out == null) {
            Object passed = ch.readInbound();
            throw new IllegalStateException("no answer; passed on: " + passed);
        }
        out.release();
        ByteBuf more;
        while ((more = ch.readOutbound()) != null) {
            more.release();
        }
    }

    private static final class NoStreams implements StreamServer {
        @Override
        public void serve(HttpServerRequest req, String mountPath) {
            throw new IllegalStateException("the bench never streams");
        }

        @Override
        public void proxy(HttpServerRequest req, String mountPath, String host, int httpPort) {
            serve(req, mountPath);
        }
    }
}
