package radiod.cluster.etcd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;

/** Builds jetcd clients from {@link EtcdOptions} and waits on jetcd futures with a timeout, always. */
public final class EtcdClients {
    private EtcdClients() {
    }

    /** A new client; connections are made lazily, so this does not fail when etcd is down. */
    public static Client connect(EtcdOptions options) {
        ClientBuilder builder = Client.builder()
                .endpoints(options.endpoints().toArray(String[]::new))
                .connectTimeout(options.callTimeout())
                .retryMaxDuration(options.callTimeout())
                // gRPC raises any keep-alive time under 10 s to 10 s: a member cut off silently is noticed by
                // MemberProbe in a second or two, these only end a connection that stays dead.
                .keepaliveTime(java.time.Duration.ofSeconds(10))
                .keepaliveTimeout(java.time.Duration.ofSeconds(3))
                .keepaliveWithoutCalls(true);
        if (options.username() != null) {
            builder.user(Keys.bytes(options.username())).password(Keys.bytes(options.password()));
        }
        SslContext ssl = sslContext(options);
        if (ssl != null) {
            builder.sslContext(ssl);
        }
        return builder.build();
    }

    /** The TLS context for talking to etcd as {@code options} say, or null when it is spoken in plain text. */
    public static SslContext sslContext(EtcdOptions options) {
        if (!options.usesTls()) {
            return null;
        }
        try {
            SslContextBuilder ssl = GrpcSslContexts.forClient();
            if (options.caFile() != null) {
                ssl.trustManager(options.caFile().toFile());
            }
            if (options.certFile() != null) {
                ssl.keyManager(options.certFile().toFile(), options.keyFile().toFile());
            }
            return ssl.build();
        } catch (IOException e) {
            throw new UncheckedIOException("etcd TLS: " + e.getMessage(), e);
        }
    }

    /**
     * Waits for a jetcd future for at most the options' call timeout.
     *
     * @throws EtcdUnavailableException when etcd does not answer in time or the call fails
     */
    public static <T> T await(CompletableFuture<T> future, EtcdOptions options, String what) {
        return await(future, options.callTimeout().toMillis(), what);
    }

    public static <T> T await(CompletableFuture<T> future, long timeoutMillis, String what) {
        try {
            return future.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new EtcdUnavailableException(what + ": etcd did not answer within " + timeoutMillis + " ms", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new EtcdUnavailableException(what + ": " + describe(cause), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EtcdUnavailableException(what + ": interrupted", e);
        }
    }

    static String describe(Throwable t) {
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m.lines().findFirst().orElse(""));
    }
}
