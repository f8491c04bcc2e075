package radiod.controller.icecast;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.MalformedURLException;
import java.net.Proxy;
import java.net.SocketTimeoutException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;

import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.jr.ob.JSON;

import radiod.cluster.model.Json;

/**
 * Reads the local Icecast's utilization. {@link #read()} blocks for at most about a second per request, so it
 * runs on a plain thread (the supervisor's poller), never on an event loop.
 *
 * <p>Listeners and live mounts come from {@code /status-json.xsl}, whose {@code icestats.source} is absent (no
 * live mount), an object (one) or an array (several). Bandwidth is the larger of two measures:
 * <ul>
 *   <li>the estimate: listeners of each mount times its bitrate (the mount's configured bitrate when the caller
 *       knows it, else the bitrate the stream announces, else 128 kbit/s). It moves the instant a listener comes
 *       or goes, which keeps the balancer's prediction and the published figure in step;</li>
 *   <li>the measurement: the rate of Icecast's per-source {@code total_bytes_sent} counters from
 *       {@code /admin/stats} (read with the random admin password). It is the truth, including connect bursts
 *       and streams running above their declared bitrate, but Icecast updates
 *       those counters only every 5 s, so it lags.</li>
 * </ul>
 * Taking the larger never under-reports what a node sends, which is what a bandwidth limit needs.
 *
 * <p>Both are plain HTTP GETs of the local Icecast through {@link HttpURLConnection} (kept alive between polls).
 * Not {@code java.net.http}: its client makes the JDK's default TLS context when it is built (parsing the trust
 * store), which with its own classes put ~650 classes and a thread into every node for two loopback GETs
 * (bench/RESULTS.md, issue 19's footprint).
 */
public final class IcecastStatusReader {
    private static final Logger log = LoggerFactory.getLogger(IcecastStatusReader.class);
    /** Icecast's status JSON as maps and lists; a key given twice counts once, its last value. */
    private static final JSON STATUS_JSON = Json.JR.without(JSON.Feature.FAIL_ON_DUPLICATE_MAP_KEYS);
    private static final long UNKNOWN_BITRATE_BPS = 128_000;
    private static final long ADMIN_STATS_EVERY_NANOS = TimeUnit.MILLISECONDS.toNanos(900);

    /** One live source from status-json. */
    record Source(String path, int listeners, int bitrateKbps) {
    }

    private static final int CONNECT_TIMEOUT_MILLIS = 500;
    /** Each read's timeout; the whole answer, connect included, gets {@code CONNECT_TIMEOUT_MILLIS} + this. */
    static final int READ_TIMEOUT_MILLIS = 1000;
    /** Icecast's status of a few hundred mounts is tens of kB. */
    static final int MAX_ANSWER_BYTES = 4 << 20;

    private final IcecastSettings settings;
    private final ToLongFunction<String> bitsPerSecondOfMount;
    private final URL statusUrl;
    private final URL adminStatsUrl;
    private final String adminAuthorization;
    private final SentBytesRate sentBytes = new SentBytesRate();
    private long adminReadAt;
    private long measuredBps;
    private boolean adminFailureLogged;
    private boolean unanswered;

    /** Bitrates from the streams themselves. */
    public IcecastStatusReader(IcecastSettings settings) {
        this(settings, path -> 0);
    }

    /**
     * @param bitsPerSecondOfMount the configured bitrate of a mount path in bit/s, 0 if unknown (for example
     *                             {@code path -> view.current().mount(path).map(Mount::bitsPerSecond).orElse(0L)})
     */
    public IcecastStatusReader(IcecastSettings settings, ToLongFunction<String> bitsPerSecondOfMount) {
        this.settings = settings;
        this.bitsPerSecondOfMount = bitsPerSecondOfMount;
        this.statusUrl = url(settings.localUrl() + "/status-json.xsl");
        this.adminStatsUrl = url(settings.localUrl() + "/admin/stats");
        this.adminAuthorization = "Basic " + Base64.getEncoder()
                .encodeToString(("admin:" + settings.adminPassword()).getBytes(StandardCharsets.UTF_8));
    }

    /** One status read; {@link IcecastStats#DOWN} when Icecast does not answer with its status. */
    public synchronized IcecastStats read() {
        List<Source> sources;
        unanswered = false;
        try {
            sources = parseStatusJson(get(statusUrl, null));
        } catch (IOException | IllegalArgumentException e) {
            // No answer's head (see NoAnswer): no answer at all. An HTTP error, a bad document or an answer that came
            // too slowly are answers (Icecast is not hung).
            unanswered = e instanceof NoAnswer;
            return down();
        }
        long now = System.nanoTime();
        if (now - adminReadAt >= ADMIN_STATS_EVERY_NANOS) {
            adminReadAt = now;
            measuredBps = measure(now);
        }
        return stats(sources, bitsPerSecondOfMount, measuredBps);
    }

    /**
     * Whether the last {@link #read} got no answer at all: its connection refused, closed or reset before the answer's
     * head, or no head within the timeouts. An Icecast that answers with an error, a document radiod cannot read, or
     * too slowly is not silent.
     */
    public synchronized boolean lastReadUnanswered() {
        return unanswered;
    }

    private IcecastStats down() {
        sentBytes.reset();
        measuredBps = 0;
        return IcecastStats.DOWN;
    }

    private long measure(long now) {
        try {
            byte[] body = get(adminStatsUrl, adminAuthorization);
            adminFailureLogged = false;
            return sentBytes.update(parseAdminStats(body), now);
        } catch (IOException | IllegalArgumentException e) {
            if (!adminFailureLogged) {
                adminFailureLogged = true;
                log.warn("icecast {}: cannot read /admin/stats ({}); bandwidth is estimated from listeners only",
                        settings.localUrl(), e.getMessage());
            }
            return 0;
        }
    }

    /** The body of a 200 answer to a GET of {@code url} (never through a proxy); an IOException for anything else. */
    private static byte[] get(URL url, String authorization) throws IOException {
        HttpURLConnection c = (HttpURLConnection) url.openConnection(Proxy.NO_PROXY);
        c.setConnectTimeout(CONNECT_TIMEOUT_MILLIS);
        c.setReadTimeout(READ_TIMEOUT_MILLIS);
        c.setUseCaches(false);
        if (authorization != null) {
            c.setRequestProperty("Authorization", authorization);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CONNECT_TIMEOUT_MILLIS + READ_TIMEOUT_MILLIS);
        try {
            c.connect();
        } catch (ConnectException | SocketTimeoutException e) {
            c.disconnect();
            throw new NoAnswer(e); // refused, or not taken in time
        } catch (IOException e) {
            // This side's own failure (no descriptor left, no route): it says nothing of Icecast, whose watchdog must
            // not kill it for radiod's trouble.
            c.disconnect();
            throw e;
        }
        int code;
        try {
            code = c.getResponseCode();
        } catch (IOException e) {
            c.disconnect();
            throw new NoAnswer(e);
        }
        try {
            if (code != 200) {
                try (InputStream error = c.getErrorStream()) { // read to the end: the connection can be kept alive
                    if (error != null) {
                        readBounded(error, deadline);
                    }
                }
                throw new IOException("HTTP " + code);
            }
            try (InputStream in = c.getInputStream()) {
                return readBounded(in, deadline);
            }
        } catch (IOException e) {
            c.disconnect(); // not kept alive half read
            throw e instanceof SocketTimeoutException ? new SlowAnswer(e.getMessage()) : e;
        }
    }

    /**
     * No answer's head (status line and headers) came: the connection refused or not taken in time, nothing within the
     * read timeout, or the connection closed or reset before it. An Icecast that takes connections and drops them
     * unanswered serves no one either. A failure to open this side's socket is not one.
     */
    static final class NoAnswer extends IOException {
        NoAnswer(IOException cause) {
            super(cause.toString(), cause);
        }
    }

    /** Icecast began its answer (its head came) but did not finish its body in time: slow, not silent. */
    static final class SlowAnswer extends IOException {
        SlowAnswer(String message) {
            super(message);
        }
    }

    /**
     * The rest of {@code in}, refused when it comes after {@code deadline} (an Icecast that trickles its answer would
     * otherwise hold the poll as long as each byte comes within the read timeout) or is larger than
     * {@link #MAX_ANSWER_BYTES}.
     */
    static byte[] readBounded(InputStream in, long deadline) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[16384];
        for (int n; (n = in.read(buf)) != -1; ) {
            out.write(buf, 0, n);
            if (out.size() > MAX_ANSWER_BYTES) {
                throw new IOException("answer over " + MAX_ANSWER_BYTES + " bytes");
            }
            if (System.nanoTime() - deadline > 0) {
                throw new SlowAnswer("answer not complete within " + (CONNECT_TIMEOUT_MILLIS + READ_TIMEOUT_MILLIS) + " ms");
            }
        }
        return out.toByteArray();
    }

    private static URL url(String spec) {
        try {
            return new URL(spec);
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException("not a URL: " + spec, e);
        }
    }

    /** Combines the live sources with the measured rate; see the class comment. */
    static IcecastStats stats(List<Source> sources, ToLongFunction<String> bitsPerSecondOfMount, long measuredBps) {
        Map<String, Integer> byMount = new HashMap<>();
        int total = 0;
        long estimate = 0;
        for (Source s : sources) {
            byMount.merge(s.path(), s.listeners(), Integer::sum);
            total += s.listeners();
            long bps = bitsPerSecondOfMount.applyAsLong(s.path());
            if (bps <= 0) {
                bps = s.bitrateKbps() > 0 ? s.bitrateKbps() * 1000L : UNKNOWN_BITRATE_BPS;
            }
            estimate += s.listeners() * bps;
        }
        return new IcecastStats(true, total, byMount, Math.max(estimate, measuredBps));
    }

    /**
     * The live sources in a {@code status-json.xsl} body. An entry counts when it has a {@code listenurl} with a
     * path and a {@code stream_start} (Icecast sets that when a source actually starts streaming).
     *
     * @throws IllegalArgumentException when the body is not Icecast's status JSON
     */
    static List<Source> parseStatusJson(byte[] body) {
        Object root;
        try {
            root = STATUS_JSON.anyFrom(body);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("status-json is not JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("status-json is not readable: " + e.getMessage(), e);
        }
        Object stats = root instanceof Map<?, ?> m ? m.get("icestats") : null;
        if (!(stats instanceof Map<?, ?> statsObject)) {
            throw new IllegalArgumentException("status-json has no icestats object");
        }
        Object source = statsObject.get("source");
        List<Source> sources = new ArrayList<>();
        if (source instanceof List<?> list) {
            list.forEach(s -> addLive(sources, s));
        } else if (source instanceof Map<?, ?>) {
            addLive(sources, source);
        }
        return sources;
    }

    private static void addLive(List<Source> sources, Object entry) {
        if (!(entry instanceof Map<?, ?> s) || (s.get("stream_start") == null && s.get("stream_start_iso8601") == null)) {
            return;
        }
        String path = pathOf(text(s.get("listenurl")));
        if (path == null) {
            return;
        }
        int listeners = Math.max(0, number(s.get("listeners")));
        int bitrate = Math.max(0, number(s.get("bitrate")));
        sources.add(new Source(path, listeners, bitrate));
    }

    /** A scalar as text ("" for none, an object or an array). */
    private static String text(Object value) {
        return value instanceof String || value instanceof Number || value instanceof Boolean ? value.toString() : "";
    }

    /** A number, or a string holding one (Icecast writes some counts as strings); 0 for anything else. */
    static int number(Object value) {
        if (value instanceof Number n) {
            return n.intValue();
        }
        if (value instanceof String t) {
            try {
                return Integer.parseInt(t.trim());
            } catch (NumberFormatException e) {
                try {
                    return (int) Double.parseDouble(t.trim());
                } catch (NumberFormatException notANumber) {
                    return 0;
                }
            }
        }
        return 0;
    }

    /**
     * The path of a listenurl such as {@code http://host:8100/live.mp3}; Icecast puts its {@code <hostname>} there
     * unbracketed, so an IPv6 host is not a valid URI: take everything from the first slash after the scheme.
     */
    static String pathOf(String listenUrl) {
        int scheme = listenUrl.indexOf("://");
        int slash = listenUrl.indexOf('/', scheme < 0 ? 0 : scheme + 3);
        if (slash < 0) {
            return null;
        }
        String path = listenUrl.substring(slash);
        int end = path.indexOf('?');
        if (end >= 0) {
            path = path.substring(0, end);
        }
        return path.length() > 1 ? path : null;
    }

    /**
     * The per-source byte counters in an {@code /admin/stats} body.
     *
     * @throws IllegalArgumentException when the body is not XML
     */
    static Map<String, SentBytesRate.Counter> parseAdminStats(byte[] body) {
        XMLInputFactory factory = XMLInputFactory.newFactory();
        factory.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        factory.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        Map<String, SentBytesRate.Counter> counters = new HashMap<>();
        try {
            XMLStreamReader r = factory.createXMLStreamReader(new ByteArrayInputStream(body));
            String mount = null;
            String streamStart = "";
            long sent = -1;
            int depth = 0;
            while (r.hasNext()) {
                int event = r.next();
                if (event == XMLStreamConstants.START_ELEMENT) {
                    depth++;
                    String name = r.getLocalName();
                    if (depth == 2 && name.equals("source")) {
                        mount = r.getAttributeValue(null, "mount");
                        streamStart = "";
                        sent = -1;
                    } else if (depth == 3 && mount != null && name.equals("total_bytes_sent")) {
                        sent = parseLong(r.getElementText());
                        depth--;
                    } else if (depth == 3 && mount != null && name.equals("stream_start")) {
                        streamStart = r.getElementText();
                        depth--;
                    }
                } else if (event == XMLStreamConstants.END_ELEMENT) {
                    if (depth == 2 && mount != null) {
                        if (sent >= 0) {
                            counters.put(mount, new SentBytesRate.Counter(streamStart, sent));
                        }
                        mount = null;
                    }
                    depth--;
                }
            }
        } catch (XMLStreamException e) {
            throw new IllegalArgumentException("/admin/stats is not XML: " + e.getMessage(), e);
        }
        return counters;
    }

    private static long parseLong(String text) {
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
