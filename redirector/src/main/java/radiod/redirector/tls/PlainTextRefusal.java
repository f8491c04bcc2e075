package radiod.redirector.tls;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.DelegatingSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;
import io.vertx.core.spi.tls.SslContextFactory;

/**
 * The TLS engine of the TLS ports: BoringSSL through Netty's native bindings when they load (five times the JDK's
 * handshakes per second here, see bench/RESULTS.md), else the JDK's; {@code -Dradiod.tls.engine=jdk} forces the
 * JDK's. One addition on the server side: a client that speaks plain text to a TLS port (a
 * browser at {@code http://host:443}, an encoder without its TLS option) gets a plain {@code 400} saying so, as
 * nginx answers, before the handshake fails as usual (counted and logged by {@link ServerTls}). A TLS record starts
 * with a byte from 20 to 23 (or 0x80, an SSLv2 hello); a request line starts with an upper-case letter.
 */
final class PlainTextRefusal {
    private static final byte[] ANSWER;

    static {
        String body = "This port speaks TLS: use https://, or your encoder's TLS option.\n";
        ANSWER = ("HTTP/1.0 400 Bad Request\r\nServer: radiod\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: " + body.length() + "\r\nConnection: close\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII);
    }

    private PlainTextRefusal() {
    }

    /** Engine options for a TLS server that answers plain text in plain text. */
    static SSLEngineOptions engine() {
        return nativeWanted() && OpenSSLEngineOptions.isAvailable() ? new Native() : new Jdk();
    }

    /** {@code openssl} (BoringSSL) or {@code jdk}: the engine {@link #engine()} gives. */
    static String engineName() {
        return engine() instanceof Native ? "openssl" : "jdk";
    }

    private static boolean nativeWanted() {
        return !"jdk".equalsIgnoreCase(System.getProperty("radiod.tls.engine", ""));
    }

    private static final class Jdk extends JdkSSLEngineOptions {
        @Override
        public SslContextFactory sslContextFactory() {
            return new Factory(super.sslContextFactory());
        }

        @Override
        public JdkSSLEngineOptions copy() {
            return new Jdk();
        }
    }

    /** BoringSSL, with Vert.x's defaults (its session cache on: a listener that reconnects resumes its session). */
    private static final class Native extends OpenSSLEngineOptions {
        @Override
        public SslContextFactory sslContextFactory() {
            return new Factory(super.sslContextFactory());
        }

        @Override
        public OpenSSLEngineOptions copy() {
            return new Native();
        }
    }

    /** Vert.x's context factory for the engine, whose server contexts' handlers are {@link Handler}s. */
    private static final class Factory implements SslContextFactory {
        private final SslContextFactory engine;
        private boolean client;

        Factory(SslContextFactory engine) {
            this.engine = engine;
        }

        @Override
        public SslContextFactory useAlpn(boolean useAlpn) {
            engine.useAlpn(useAlpn);
            return this;
        }

        @Override
        public SslContextFactory clientAuth(ClientAuth clientAuth) {
            engine.clientAuth(clientAuth);
            return this;
        }

        @Override
        public SslContextFactory forClient(boolean forClient) {
            client = forClient;
            engine.forClient(forClient);
            return this;
        }

        @Override
        public SslContextFactory keyMananagerFactory(KeyManagerFactory kmf) {
            engine.keyMananagerFactory(kmf);
            return this;
        }

        @Override
        public SslContextFactory trustManagerFactory(TrustManagerFactory tmf) {
            engine.trustManagerFactory(tmf);
            return this;
        }

        @Override
        public SslContextFactory enabledCipherSuites(Set<String> suites) {
            engine.enabledCipherSuites(suites);
            return this;
        }

        @Override
        public SslContextFactory applicationProtocols(List<String> protocols) {
            engine.applicationProtocols(protocols);
            return this;
        }

        @Override
        public SslContextFactory serverName(String name) {
            engine.serverName(name);
            return this;
        }

        @Override
        public SslContext create() throws SSLException {
            SslContext ctx = engine.create();
            return client ? ctx : new Context(ctx);
        }
    }

    private static final class Context extends DelegatingSslContext {
        Context(SslContext engine) {
            super(engine);
        }

        @Override
        protected void initEngine(SSLEngine engine) {
        }

        @Override
        protected SslHandler newHandler(ByteBufAllocator alloc, boolean startTls, Executor executor) {
            SslHandler h = new Handler(newEngine(alloc), startTls, executor);
            initHandler(h);
            return h;
        }

        @Override
        protected SslHandler newHandler(ByteBufAllocator alloc, String peerHost, int peerPort, boolean startTls,
                                        Executor executor) {
            SslHandler h = new Handler(newEngine(alloc, peerHost, peerPort), startTls, executor);
            initHandler(h);
            return h;
        }
    }

    /** Looks at the connection's first byte: plain text gets the plain answer, then TLS fails as it does. */
    private static final class Handler extends SslHandler {
        private boolean looked;

        Handler(SSLEngine engine, boolean startTls, Executor executor) {
            super(engine, startTls, executor);
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws SSLException {
            if (!looked && in.isReadable()) {
                looked = true;
                byte first = in.getByte(in.readerIndex());
                if (first >= 'A' && first <= 'Z') {
                    ctx.writeAndFlush(Unpooled.wrappedBuffer(ANSWER));
                }
            }
            super.decode(ctx, in, out);
        }
    }
}
