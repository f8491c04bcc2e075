package radiod.dns.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.xbill.DNS.SimpleResolver;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import radiod.cluster.view.ClusterSnapshot;
import radiod.dns.zone.DnsSettings;
import radiod.testkit.Ports;

/**
 * A real {@link DnsServer} for a test class: its own Vert.x, a free port on 127.0.0.1 (UDP and TCP), answers from
 * the view the test gives, counted in a registry the test can read; started before the class's tests and closed
 * after them.
 *
 * <pre>{@code
 * @RegisterExtension static final DnsOnLoopback dns = DnsOnLoopback.serving(DnsSettings.defaults("radio.test"), view::get);
 * }</pre>
 */
final class DnsOnLoopback implements BeforeAllCallback, AfterAllCallback {
    static final String HOST = "127.0.0.1";

    private final DnsSettings settings;
    private final Supplier<ClusterSnapshot> view;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private Vertx vertx;
    private DnsServer server;
    private int port;

    private DnsOnLoopback(DnsSettings settings, Supplier<ClusterSnapshot> view) {
        this.settings = settings;
        this.view = view;
    }

    /** A server with these settings (its listen address replaced by 127.0.0.1 and a free port) answering from view. */
    static DnsOnLoopback serving(DnsSettings settings, Supplier<ClusterSnapshot> view) {
        return new DnsOnLoopback(settings, view);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        vertx = Vertx.vertx();
        port = Ports.free(HOST);
        server = new DnsServer(vertx, settings.withListen(HOST, port), view, registry);
        server.start().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        if (server.port() != port) {
            throw new IllegalStateException("the DNS server listens on " + server.port() + ", not on " + port);
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (server != null) {
            server.close();
        }
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    int port() {
        return port;
    }

    SimpleMeterRegistry registry() {
        return registry;
    }

    /** dnsjava's resolver asking this server over UDP or TCP, giving up after 2 s. */
    SimpleResolver resolver(boolean tcp) {
        try {
            SimpleResolver r = new SimpleResolver(HOST);
            r.setPort(port);
            r.setTCP(tcp);
            r.setTimeout(Duration.ofSeconds(2));
            return r;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
