package radiod.redirector.stream;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeoutException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import radiod.redirector.listen.Responses;

/**
 * A listener of another node, for a player that does not follow redirects: that node's {@code /_stream<mount>}
 * relayed as it comes, over one connection of its own. Back-pressure both ways: while the listener's queue is full
 * the upstream is not read (so the other node sees a slow listener, and drops it if it stays so); the listener
 * leaving closes the upstream, the upstream ending ends the listener's stream (its player reconnects here and is
 * placed anew). When that node gives no stream (no connection, a connection closed before its answer, an answer
 * other than {@code 200}), the listener is served from this node's own Icecast instead: every node carries every
 * mount, and such a player would not follow a {@code 503}'s advice anyway. A node that takes the connection and says
 * nothing (its radiod stopped or frozen, still in the view until its lease ends) gives no stream either: without an
 * answer within {@link #ANSWER_MILLIS} the request is given up and the listener served here.
 */
final class RemoteStream {
    private static final Logger log = LoggerFactory.getLogger(RemoteStream.class);
    /**
     * How long a proxied player may take nothing (its queue full, so the other node's stream is not read) before it
     * is dropped, as a local listener that falls behind is. Paused, the read does not see the other node close (it
     * drops a listener that slow within seconds), so without this a stopped player kept both connections for ever.
     */
    static final long STALL_MILLIS = 10_000;
    /**
     * How long the chosen node has to answer (connection, request, response head) before the listener is served
     * from this node instead. A node in service answers within milliseconds, or within the 2 s its passthrough asks
     * its own Icecast again for a mount just going live; a frozen or unreachable one would otherwise keep the player
     * silent for the client's connect timeout (10 s) or its read timeout (20 s).
     */
    static final long ANSWER_MILLIS = 3_000;

    private final Passthrough owner;
    private final HttpServerRequest req;
    private final HttpServerResponse resp;
    private final String mountPath;
    private final String node;
    private HttpClientResponse upstream;
    private boolean listenerGone;
    private boolean counted;
    private long stallTimer = -1;
    private long answerTimer = -1;
    /** The request to the chosen node, once sent (a reset then closes its connection). */
    private HttpClientRequest request;
    /** Answered, refused or given up: what comes after is only closed. */
    private boolean decided;

    private RemoteStream(Passthrough owner, HttpServerRequest req, String mountPath, String node) {
        this.owner = owner;
        this.req = req;
        this.resp = req.response();
        this.mountPath = mountPath;
        this.node = node;
    }

    static void start(Passthrough owner, HttpServerRequest req, String mountPath, String host, int httpPort) {
        RemoteStream s = new RemoteStream(owner, req, mountPath, host + ":" + httpPort);
        String query = req.query();
        String uri = "/_stream" + mountPath + (query == null ? "" : "?" + query);
        RequestOptions options = new RequestOptions().setHost(host).setPort(httpPort).setURI(uri).setMethod(req.method());
        MultiMap in = req.headers();
        for (Map.Entry<String, String> h : in) {
            if (Passthrough.FORWARDED.contains(h.getKey().toLowerCase(Locale.ROOT))) {
                options.addHeader(h.getKey(), h.getValue());
            }
        }
        options.putHeader(Responses.VIA, Responses.PEER_VIA);
        if (req.remoteAddress() != null) {
            String prior = in.get("X-Forwarded-For");
            String listener = req.remoteAddress().hostAddress();
            options.putHeader("X-Forwarded-For", prior == null ? listener : prior + ", " + listener);
        }
        s.resp.closeHandler(v -> s.listenerClosed());
        s.resp.exceptionHandler(e -> log.debug("proxied listener: {}", e.toString()));
        s.answerTimer = owner.vertx().setTimer(ANSWER_MILLIS, t -> s.unanswered());
        owner.remoteRequest(options).compose(r -> {
            if (s.decided) { // given up (or the listener gone) while the connection was being made: never used
                r.exceptionHandler(e -> log.debug("proxied listener of {}: unsent request to {} closed", mountPath, s.node));
                r.connection().close();
                return Future.failedFuture("given up");
            }
            s.request = r;
            return r.send();
        }).onComplete(ar -> {
            if (s.decided) {
                if (ar.succeeded()) {
                    ar.result().request().connection().close();
                }
                return;
            }
            s.decided = true;
            s.cancelAnswerTimer();
            if (ar.succeeded()) {
                s.answered(ar.result());
            } else {
                s.refused(-1, ar.cause());
            }
        });
    }

    /** No answer from the chosen node within {@link #ANSWER_MILLIS}: given up, and the listener served here. */
    private void unanswered() {
        answerTimer = -1;
        if (giveUp()) {
            refused(-1, new TimeoutException("no answer within " + ANSWER_MILLIS + " ms"));
        }
    }

    /**
     * Gives the request to the chosen node up, if nothing was decided yet: a sent one is reset (its connection
     * closed), one still being made is closed when it comes. False when it was answered, refused or given up before.
     */
    private boolean giveUp() {
        if (decided) {
            return false;
        }
        decided = true;
        if (request != null) {
            request.reset();
        }
        return true;
    }

    private void cancelAnswerTimer() {
        if (answerTimer >= 0) {
            owner.vertx().cancelTimer(answerTimer);
            answerTimer = -1;
        }
    }

    private void answered(HttpClientResponse up) {
        upstream = up;
        if (listenerGone) {
            closeUpstream();
            return;
        }
        if (up.statusCode() != 200) {
            closeUpstream();
            refused(up.statusCode(), null);
            return;
        }
        resp.setStatusCode(200);
        for (Map.Entry<String, String> h : up.headers()) {
            if (!Passthrough.NOT_RETURNED.contains(h.getKey().toLowerCase(Locale.ROOT))) {
                resp.headers().add(h.getKey(), h.getValue());
            }
        }
        resp.headers().set(HttpHeaders.DATE, ListenerStream.now());
        if (req.method() == HttpMethod.HEAD) {
            closeUpstream();
            resp.end();
            return;
        }
        ListenerStream.untilClose(req);
        resp.setWriteQueueMaxSize(owner.settings().queueBytes());
        counted = true;
        owner.proxiedChanged(1);
        resp.drainHandler(v -> {
            cancelStall();
            up.resume();
        });
        up.handler(chunk -> {
            owner.proxiedBytes(chunk.length());
            resp.write(chunk, null);
            if (resp.writeQueueFull()) {
                up.pause();
                if (stallTimer < 0) {
                    stallTimer = owner.vertx().setTimer(STALL_MILLIS, t -> {
                        stallTimer = -1;
                        stalled();
                    });
                }
            }
        });
        up.exceptionHandler(e -> upstreamEnded());
        up.endHandler(v -> upstreamEnded());
        // A paused response holds back its end; the connection closing (the other node dropped us) ends it here.
        up.request().connection().closeHandler(v -> upstreamEnded());
    }

    private void refused(int status, Throwable cause) {
        if (listenerGone || resp.ended()) {
            return;
        }
        owner.proxyFailed(req, mountPath, node, status < 0 ? String.valueOf(cause) : "answered " + status);
    }

    /** The player took nothing for {@link #STALL_MILLIS}: dropped now, whatever is queued for it. */
    private void stalled() {
        if (listenerGone || resp.closed()) {
            return;
        }
        log.info("proxied listener of {} from {} took nothing for {} ms; dropped", mountPath, node, STALL_MILLIS);
        owner.droppedOne();
        ListenerChannels.abort(req, ListenerChannels.of(req));
    }

    private void cancelStall() {
        if (stallTimer >= 0) {
            owner.vertx().cancelTimer(stallTimer);
            stallTimer = -1;
        }
    }

    private void upstreamEnded() {
        uncount();
        if (listenerGone || resp.ended() || resp.closed()) {
            return;
        }
        resp.end().onComplete(x -> {
            if (req.version() != HttpVersion.HTTP_2) {
                req.connection().close();
            }
        });
    }

    private void listenerClosed() {
        listenerGone = true;
        cancelStall();
        cancelAnswerTimer();
        giveUp();
        uncount();
        if (upstream != null) {
            closeUpstream();
        }
    }

    private void uncount() {
        if (counted) {
            counted = false;
            owner.proxiedChanged(-1);
        }
    }

    private void closeUpstream() {
        upstream.request().connection().close();
    }
}
