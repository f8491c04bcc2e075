package radiod.redirector.access;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import radiod.cluster.model.ListenerSession;

/**
 * This node's listener sessions: the ones streaming now (for {@code /_admin/listeners}), and each finished one
 * written to the access log, if there is one. A session is opened when a listener's request for a stream comes,
 * counted from then, listed from when its stream starts, and finished once, with the status it got: 200 when its
 * stream ends (whoever ends it), the error it was answered with instead (404, 503, …), or 499 when the listener
 * left before any answer.
 *
 * <p>A session's own calls come from its listener's event loop; {@link #current} may be called from any thread.
 */
public final class ListenerSessions {
    private final String node;
    private final ClientAddresses addresses;
    private final AccessLog log;
    private final Set<Session> streaming = ConcurrentHashMap.newKeySet();

    /**
     * @param node      this node's name, as the listing gives it
     * @param addresses who a listener is (trusted proxies)
     * @param log       where finished sessions go; null for no access log
     */
    public ListenerSessions(String node, ClientAddresses addresses, AccessLog log) {
        this.node = node;
        this.addresses = addresses;
        this.log = log;
    }

    /** Sessions listed but not logged, listeners' addresses taken from the TCP peer. */
    public static ListenerSessions unlogged(String node) {
        return new ListenerSessions(node, ClientAddresses.PEER_ONLY, null);
    }

    /** A listener's request for {@code mount} has come; on its event loop. */
    public Session open(HttpServerRequest req, String mount) {
        return new Session(this, mount, addresses.of(req), requestLine(req), req.getHeader("Referer"),
                req.getHeader("User-Agent"), System.currentTimeMillis());
    }

    /** The sessions streaming now, of {@code mount} only unless it is null, oldest first. */
    public List<ListenerSession> current(String mount) {
        List<ListenerSession> out = new ArrayList<>();
        for (Session s : streaming) {
            if (mount == null || mount.equals(s.mount)) {
                out.add(new ListenerSession(node, s.mount, s.address, s.userAgent, s.referer, s.startMillis, s.bytes));
            }
        }
        out.sort(Comparator.comparingLong(ListenerSession::connectedAt).thenComparing(ListenerSession::address));
        return out;
    }

    /** Sessions streaming now. */
    public int size() {
        return streaming.size();
    }

    /** The request line as the client sent it: method, target, version. */
    static String requestLine(HttpServerRequest req) {
        return req.method().name() + " " + req.uri() + " " + version(req.version());
    }

    private static String version(HttpVersion v) {
        if (v == null) {
            return "HTTP/1.1";
        }
        return switch (v) {
            case HTTP_1_0 -> "HTTP/1.0";
            case HTTP_1_1 -> "HTTP/1.1";
            case HTTP_2 -> "HTTP/2.0";
        };
    }

    /** One listener's session. */
    public static final class Session {
        private final ListenerSessions owner;
        private final String mount;
        private final String address;
        private final String requestLine;
        private final String referer;
        private final String userAgent;
        private final long startMillis;
        /** Bytes sent so far, published once per batch for {@link #current}. */
        private volatile long bytes;
        private boolean started;
        private boolean finished;

        private Session(ListenerSessions owner, String mount, String address, String requestLine, String referer,
                        String userAgent, long startMillis) {
            this.owner = owner;
            this.mount = mount;
            this.address = address;
            this.requestLine = requestLine;
            this.referer = referer;
            this.userAgent = userAgent;
            this.startMillis = startMillis;
        }

        public String address() {
            return address;
        }

        /** Its stream has started (200): it is listed from now on. */
        public void streaming() {
            if (!started && !finished) {
                started = true;
                owner.streaming.add(this);
            }
        }

        /** Bytes sent to it so far. */
        public void sent(long total) {
            bytes = total;
        }

        /** It is over: answered {@code status}, {@code total} body bytes sent. Only the first call counts. */
        public void finished(int status, long total) {
            if (finished) {
                return;
            }
            finished = true;
            bytes = total;
            if (started) {
                owner.streaming.remove(this);
            }
            AccessLog log = owner.log;
            if (log != null) {
                long end = System.currentTimeMillis();
                log.add(new AccessEntry(address, end, requestLine, status, total, referer, userAgent,
                        Math.max(0, end - startMillis) / 1000));
            }
        }
    }
}
