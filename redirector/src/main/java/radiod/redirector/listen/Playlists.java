package radiod.redirector.listen;

import io.vertx.core.http.HttpServerRequest;

/** {@code /<mount>.m3u} and {@code /<mount>.pls}, pointing at the mount's cluster URL. */
final class Playlists {
    private final HttpFrontSettings settings;

    Playlists(HttpFrontSettings settings) {
        this.settings = settings;
    }

    String streamUrl(HttpServerRequest req, String mount) {
        String base = settings.clusterUrl();
        if (base == null) {
            String host = req.authority() == null ? null : req.authority().toString();
            base = "http://" + (host == null ? Responses.hostForUrl(settings.bindHost()) + ":" + settings.port() : host);
        }
        return base + mount;
    }

    void m3u(HttpServerRequest req, String mount) {
        String body = "#EXTM3U\n" + streamUrl(req, mount) + "\n";
        req.response().putHeader("Content-Type", "audio/x-mpegurl").putHeader("Cache-Control", "no-cache").end(body);
    }

    void pls(HttpServerRequest req, String mount) {
        String body = "[playlist]\nNumberOfEntries=1\nFile1=" + streamUrl(req, mount) + "\nTitle1=" + mount.substring(1)
                + "\nLength1=-1\nVersion=2\n";
        req.response().putHeader("Content-Type", "audio/x-scpls").putHeader("Cache-Control", "no-cache").end(body);
    }
}
