package radiod.redirector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpServerRequest;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.balance.Pipeline;
import radiod.redirector.listen.HttpFrontSettings;
import radiod.redirector.listen.LeanRedirects;
import radiod.redirector.listen.ListenerRoutes;
import radiod.redirector.listen.StreamServer;
import radiod.redirector.metrics.FrontMetrics;
import radiod.testkit.fuzz.FuzzBudget;
import radiod.testkit.fuzz.Mutations;

/**
 * The raw reader of {@link LeanRedirects} (answers from the request's bytes, ahead of the HTTP decoder) against the
 * decoded lean path alone: the same bytes, cut into the same reads, must get the same bytes back, and the connection
 * must be left open or closed alike, whatever the requests (pipelined, cut anywhere, mutated). Each side runs in a
 * Netty pipeline laid out as Vert.x's ({@code httpDecoder}, {@code httpEncoder}, {@code handler}); what reaches
 * {@code handler} is answered by a stand-in for Vert.x that names the request it got, so a request taken by one side
 * and left by the other shows. LeanRedirectsTest checks the raw reader on a real Vert.x front.
 */
@AddLifecycleHook(FuzzBudget.class)
class LeanRedirectsFromBytesFuzzTest {
    /** One node free (the pipeline's choice is then the same for both sides), and none: the 503 goes to Vert.x. */
    static final List<ClusterSnapshot> VIEWS = List.of(FrontFixture.cluster(false, true, false),
            FrontFixture.cluster(false, false, false));
    static final List<byte[]> TOKENS = Mutations.tokens("\r\n", "\n", "\r", ": ", " ", "\t", ",", "/", "?", "#",
            "GET ", "HEAD ", "/live.mp3", " HTTP/1.1", " HTTP/1.0", "Connection: ", "close", "keep-alive",
            "Content-Length: 0", "Content-Length: 2", "User-Agent: ", "WinampMPEG/", "\u0000", "\u00e9", "\u007f");
    static final AtomicLong fromBytes = new AtomicLong();
    static final AtomicLong decoded = new AtomicLong();

    /** One side: a pipeline as Vert.x lays it out, with the lean path installed with or without the raw reader. */
    static final class Side {
        final LeanRedirects lean;
        final EmbeddedChannel channel = new EmbeddedChannel();
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Side(ClusterSnapshot view, boolean fromBytes) {
            HttpFrontSettings settings = new HttpFrontSettings(FrontFixture.SELF, "127.0.0.1", 8080, null, null, null, 7,
                    FrontFixture.ICECAST_HOST, FrontFixture.ICECAST_PORT, 1);
            FrontMetrics metrics = new FrontMetrics(new SimpleMeterRegistry(), () -> view, () -> false);
            ListenerRoutes routes = new ListenerRoutes(settings, () -> view, Pipeline.parse(settings.pipeline()),
                    NO_STREAMS, metrics);
            lean = new LeanRedirects(routes, () -> view, false);
            channel.pipeline().addLast("httpDecoder", new HttpRequestDecoder(4096, 8192, 8192));
            channel.pipeline().addLast("httpEncoder", new HttpResponseEncoder());
            channel.pipeline().addLast("handler", new StandInForVertx());
            assertTrue(lean.install(channel.pipeline(), fromBytes));
        }

        /** Delivers one read (and its read-complete), unless the connection is closed; keeps what was written. */
        void read(byte[] bytes) {
            if (channel.isOpen()) {
                channel.writeInbound(Unpooled.wrappedBuffer(bytes));
            }
            drain();
        }

        void drain() {
            for (Object o = channel.readOutbound(); o != null; o = channel.readOutbound()) {
                ByteBuf b = (ByteBuf) o;
                byte[] copy = new byte[b.readableBytes()];
                b.readBytes(copy);
                b.release();
                out.writeBytes(copy);
            }
        }

        String written() {
            return out.toString(StandardCharsets.ISO_8859_1);
        }
    }

    static final StreamServer NO_STREAMS = new StreamServer() {
        @Override
        public void serve(HttpServerRequest req, String mount) {
            throw new AssertionError("no Vert.x request here");
        }

        @Override
        public void proxy(HttpServerRequest req, String mount, String host, int httpPort) {
            throw new AssertionError("no Vert.x request here");
        }
    };

    /** Answers every request that reaches Vert.x's place with a 200 naming it; a request the decoder refused, 400 and close. */
    static final class StandInForVertx extends ChannelInboundHandlerAdapter {
        final List<Object> seen = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            seen.add(msg instanceof HttpObject ? msg.getClass().getSimpleName() : msg);
            if (msg instanceof HttpRequest req) {
                boolean ok = req.decoderResult().isSuccess();
                String body = ok ? "vertx " + req.method() + " " + req.uri() + " " + req.protocolVersion()
                        + " agent=" + req.headers().get(HttpHeaderNames.USER_AGENT) : "bad request";
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                        ok ? HttpResponseStatus.OK : HttpResponseStatus.BAD_REQUEST,
                        Unpooled.copiedBuffer(body, StandardCharsets.ISO_8859_1));
                r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
                if (!ok || !HttpUtil.isKeepAlive(req)) {
                    ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
                } else {
                    ctx.writeAndFlush(r);
                }
            }
            ReferenceCountUtil.release(msg);
        }
    }

    /** Requests on one connection, as reads: the bytes and where they are cut. */
    record Input(byte[] bytes, List<Integer> cuts, int view) {
        List<byte[]> reads() {
            List<byte[]> reads = new ArrayList<>();
            int from = 0;
            for (int cut : cuts.stream().filter(c -> c > 0 && c < bytes.length).sorted().distinct().toList()) {
                reads.add(java.util.Arrays.copyOfRange(bytes, from, cut));
                from = cut;
            }
            reads.add(java.util.Arrays.copyOfRange(bytes, from, bytes.length));
            return reads;
        }

        @Override
        public String toString() {
            return "view " + view + ", cut at " + cuts + ": "
                    + new String(bytes, StandardCharsets.ISO_8859_1).replace("\r", "\\r").replace("\n", "\\n\n");
        }
    }

    static Arbitrary<String> request() {
        Arbitrary<String> method = Arbitraries.frequencyOf(Tuple.of(12, Arbitraries.just("GET")),
                Tuple.of(1, Arbitraries.of("HEAD", "POST", "get", "GETX", " GET")));
        Arbitrary<String> path = Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.of("/live.mp3", "/jazz/other.ogg")),
                Tuple.of(2, Arbitraries.of("/nope.mp3", "/status.json", "/_stream/live.mp3", "/live.mp3.m3u", "/",
                        "live.mp3", "//live.mp3", "/LIVE.MP3", "/live.mp3/", "/live%2Emp3", "/live.mp3\u00e9",
                        "/" + "a".repeat(4200))));
        Arbitrary<String> query = Arbitraries.frequencyOf(Tuple.of(6, Arbitraries.just("")),
                Tuple.of(2, Arbitraries.of("?token=a%20b&x=1", "?", "?a=" + "b".repeat(300), "?x=1#y", "#f",
                        "?a=\u00e9", "?a=\"<>\"")));
        Arbitrary<String> version = Arbitraries.frequencyOf(Tuple.of(10, Arbitraries.of("HTTP/1.1", "HTTP/1.0")),
                Tuple.of(1, Arbitraries.of("HTTP/1.2", "http/1.1", "HTTP/2.0", "HTTP/1.1 ", "")));
        Arbitrary<String> plain = Arbitraries.of("Host: x", "User-Agent: VLC/3.0.20 LibVLC/3.0.20", "Accept: */*",
                "User-Agent: Lavf/59.27.100", "Connection: close", "Connection: keep-alive", "Icy-MetaData: 1",
                "Range: bytes=0-", "Content-Length: 0");
        Arbitrary<String> tricky = Arbitraries.of("Host: x", "Host: radio.example.org:8000", "User-Agent: VLC/3.0.20 LibVLC/3.0.20",
                "User-Agent: Lavf/59.27.100", "User-Agent: WinampMPEG/5.66", "User-Agent:", "user-agent:   mpv 0.35.1  ",
                "USER-AGENT: NSPlayer/12.00", "User-Agent: caf\u00e9", "User-Agent : x", "Connection: close",
                "Connection: keep-alive", "connection: Keep-Alive", "Connection: keep-alive, close", "Connection: Upgrade",
                "Connection: ,close,", "Connection: TE", "Connection:", "Connection: clo", "Content-Length: 0",
                "Content-Length: 00", "Content-Length:  0 ", "Content-Length: 2", "Transfer-Encoding: chunked",
                "Expect: 100-continue", " folded", "\tfolded", "X-A:\tb\t", "X-Empty:", "Bad Name: x", "No-Colon",
                ": empty", "Icy-MetaData: 1", "Range: bytes=0-", "Accept: */*", "X-Del: a\u007fb", "X-Nul: a\u0000b",
                "X-Long: " + "v".repeat(4100));
        Arbitrary<String> header = Arbitraries.frequencyOf(Tuple.of(4, plain), Tuple.of(1, tricky));
        Arbitrary<String> eol = Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.just("\r\n")),
                Tuple.of(1, Arbitraries.of("\n", "\r")));
        return Combinators.combine(method, path, query, version, header.list().ofMaxSize(6), eol)
                .as((m, p, q, v, hs, nl) -> {
                    StringBuilder s = new StringBuilder(m).append(' ').append(p).append(q).append(' ').append(v).append(nl);
                    hs.forEach(h -> s.append(h).append(nl));
                    s.append(nl);
                    // The body its head announces, so that what follows is the next request.
                    if (hs.contains("Content-Length: 2")) {
                        s.append("ab");
                    } else if (hs.contains("Transfer-Encoding: chunked")) {
                        s.append("0").append(nl).append(nl);
                    }
                    return s.toString();
                });
    }

    @Provide
    Arbitrary<Input> connections() {
        Arbitrary<byte[]> requests = request().list().ofMinSize(1).ofMaxSize(4)
                .map(rs -> String.join("", rs).getBytes(StandardCharsets.ISO_8859_1));
        Arbitrary<byte[]> bytes = Arbitraries.frequencyOf(Tuple.of(3, requests),
                Tuple.of(1, Mutations.mutated(requests, TOKENS, 4)));
        Arbitrary<List<Integer>> cuts = Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.just(List.<Integer>of())),
                Tuple.of(1, Arbitraries.integers().between(1, 600).list().ofMaxSize(3)));
        return Combinators.combine(bytes, cuts, Arbitraries.integers().between(0, VIEWS.size() - 1)).as(Input::new);
    }

    @Property(shrinking = ShrinkingMode.BOUNDED)
    @Label("lean redirects from bytes")
    void answersFromTheBytesAreTheDecodedPathsAnswers(@ForAll("connections") Input input) {
        ClusterSnapshot view = VIEWS.get(input.view());
        Side raw = new Side(view, true);
        Side plain = new Side(view, false);
        for (byte[] read : input.reads()) {
            raw.read(read);
            plain.read(read);
        }
        raw.channel.runPendingTasks();
        plain.channel.runPendingTasks();
        raw.drain();
        plain.drain();
        assertEquals(plain.written(), raw.written(), "what the client reads back");
        assertEquals(plain.channel.isOpen(), raw.channel.isOpen(), "the connection open");
        assertEquals(plain.lean.answered(), raw.lean.answered(), "lean redirects");
        assertEquals(0, plain.lean.answeredFromBytes());
        fromBytes.addAndGet(raw.lean.answeredFromBytes());
        decoded.addAndGet(raw.lean.answered() - raw.lean.answeredFromBytes());
        raw.channel.finishAndReleaseAll();
        plain.channel.finishAndReleaseAll();
    }

    /** The property compared something: the raw reader answered requests, and left others to the decoded path. */
    @AfterContainer
    static void bothPathsWereTaken() {
        assertTrue(fromBytes.get() > 100 && decoded.get() > 10,
                "answered from bytes " + fromBytes.get() + ", by the decoded path " + decoded.get());
    }
}
