package radiod.redirector.listen;

import java.util.function.Supplier;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.http.HttpServerRequest;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.balance.Pipeline;
import radiod.redirector.stream.Passthrough;

/** What a listener can ask for: a mount (redirected or served), a mount's stream on this node, a playlist. */
public final class ListenerRoutes {
    private final HttpFrontSettings settings;
    private final Supplier<ClusterSnapshot> view;
    private final Passthrough passthrough;
    private final Redirects redirects;
    private final Playlists playlists;

    public ListenerRoutes(HttpFrontSettings settings, Supplier<ClusterSnapshot> view, Pipeline pipeline,
                          Passthrough passthrough, MeterRegistry registry) {
        this.settings = settings;
        this.view = view;
        this.passthrough = passthrough;
        this.redirects = new Redirects(settings, view, pipeline, passthrough, registry);
        this.playlists = new Playlists(settings);
    }

    /** {@code GET /<mount>}. */
    public void listen(HttpServerRequest req, String mount) {
        redirects.handle(req, mount);
    }

    /** {@code GET /_stream/<mount>}: the mount from this node's Icecast. */
    public void stream(HttpServerRequest req, String mount) {
        if (view.get().mount(mount).isEmpty()) {
            Responses.text(req, 404, "no such mount: " + mount);
            return;
        }
        passthrough.serve(req, mount, settings.icecastHost(), settings.icecastPort());
    }

    public void playlist(HttpServerRequest req, String mount, boolean m3u) {
        if (view.get().mount(mount).isEmpty()) {
            Responses.text(req, 404, "no such mount: " + mount);
            return;
        }
        if (m3u) {
            playlists.m3u(req, mount);
        } else {
            playlists.pls(req, mount);
        }
    }
}
