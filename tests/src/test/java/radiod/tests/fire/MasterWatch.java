package radiod.tests.fire;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

import radiod.tests.harness.IcecastSources;
import radiod.tests.harness.RadiodProcess;

/**
 * Watches, ten times a second, every node for signs that it acts as master, from three independent witnesses, and
 * keeps per witness and node the spans during which it did. Two nodes' spans of the same witness overlapping by
 * more than the sampling margin means two nodes acted as master at the same instant.
 * <ul>
 *   <li>{@code claim}: the node's own {@code selfIsMaster} in its {@code /status.json};</li>
 *   <li>{@code icecast}: what the node's Icecast serves, from its {@code /admin/stats}. With Icecast relays
 *       ({@link AudioPath#RELAY}) a node whose Icecast holds a mount's source from anywhere but a peer (a relay's
 *       {@code source_ip} is its master) is where the encoders' audio goes: a master. When radiod carries the audio
 *       ({@link AudioPath#CARRY}) every node's Icecast has every mount from its own radiod's feed, so the Icecast
 *       witness checks that instead ({@link #foreignSources}: a source from anywhere but the node itself) and
 *       mastership is read from the hub;</li>
 *   <li>{@code hub} ({@link AudioPath#CARRY} only): whether the node's source port answers {@code PULL <mount>}
 *       with {@code 200}, which only the master's hub does.</li>
 * </ul>
 */
final class MasterWatch implements AutoCloseable {
    /** Who carries the audio between nodes: Icecast {@code <relay>}s, or radiod's ingest, hub and pulls. */
    enum AudioPath { RELAY, CARRY }

    /** Sampling uncertainty: a poll round takes up to this long, so spans are only known to this precision. */
    static final long MARGIN_MS = 250;
    private static final Duration TIMEOUT = Duration.ofMillis(300);
    private final List<RadiodProcess> nodes;
    private final Path clusterDir;
    private final int sourcePort;
    private final String mount;
    private final AudioPath path;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(TIMEOUT).build();
    private final Thread thread;
    private volatile boolean running = true;
    /** Per witness, then node: closed spans [start, end] (ms) during which it said the node was master. */
    private final Map<String, Map<String, List<long[]>>> spans = new HashMap<>();
    /** Per witness, then node: the start of the span still open, or absent. */
    private final Map<String, Map<String, long[]>> open = new HashMap<>();
    /** Icecast sources that came from neither a peer nor the node itself ({@link AudioPath#CARRY}). */
    private final Set<String> foreign = new TreeSet<>();
    private final Map<String, Integer> samples = new HashMap<>();

    /**
     * @param mount the mount whose source shows where the audio goes (the one the encoder feeds)
     */
    MasterWatch(List<RadiodProcess> nodes, Path clusterDir, int sourcePort, String mount, AudioPath path) {
        this.nodes = nodes;
        this.clusterDir = clusterDir;
        this.sourcePort = sourcePort;
        this.mount = mount;
        this.path = path;
        this.thread = new Thread(this::run, "master-watch");
        thread.setDaemon(true);
        thread.start();
    }

    /** The audio path under test: {@code -Dfire.audioPath=relay|carry}; radiod carries the audio by default. */
    static AudioPath audioPath() {
        return AudioPath.valueOf(System.getProperty("fire.audioPath", "carry").toUpperCase(java.util.Locale.ROOT));
    }

    private void run() {
        while (running) {
            long round = System.currentTimeMillis();
            List<CompletableFuture<Boolean>> claims = new ArrayList<>();
            List<CompletableFuture<Boolean>> icecast = new ArrayList<>();
            List<CompletableFuture<Boolean>> hub = new ArrayList<>();
            for (RadiodProcess n : nodes) {
                claims.add(http.sendAsync(HttpRequest.newBuilder(URI.create(n.httpUrl("/status.json"))).timeout(TIMEOUT).build(),
                                HttpResponse.BodyHandlers.ofString())
                        .thenApply(r -> r.statusCode() == 200 ? r.body().contains("\"selfIsMaster\":true") : null)
                        .exceptionally(t -> null));
                icecast.add(CompletableFuture.supplyAsync(() -> icecastSaysMaster(n)));
                hub.add(path == AudioPath.CARRY ? CompletableFuture.supplyAsync(() -> hubAnswers(n))
                        : CompletableFuture.completedFuture(null));
            }
            for (int i = 0; i < nodes.size(); i++) {
                long answered = System.currentTimeMillis();
                record("claim", nodes.get(i).name(), claims.get(i).join(), round, answered);
                record("icecast", nodes.get(i).name(), icecast.get(i).join(), round, answered);
                record("hub", nodes.get(i).name(), hub.get(i).join(), round, answered);
            }
            long left = 100 - (System.currentTimeMillis() - round);
            if (left > 0) {
                try {
                    Thread.sleep(left);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /**
     * {@link AudioPath#RELAY}: whether the node's Icecast holds the mount from an encoder (its source is not a peer).
     * {@link AudioPath#CARRY}: null (no opinion on mastership); a source from anywhere but the node itself is noted
     * as foreign.
     */
    private Boolean icecastSaysMaster(RadiodProcess n) {
        Map<String, IcecastSources.Mount> mounts = IcecastSources.of(n, clusterDir, TIMEOUT);
        if (mounts == null) {
            return null;
        }
        IcecastSources.Mount m = mounts.get(mount);
        if (path == AudioPath.CARRY) {
            for (IcecastSources.Mount any : mounts.values()) {
                if (!any.sourceIp().isEmpty() && !any.sourceIp().equals(n.address()) && !any.sourceIp().startsWith("127.0.0.1")) {
                    synchronized (this) {
                        foreign.add(n.name() + " " + any.path() + " from " + any.sourceIp());
                    }
                }
            }
            return null;
        }
        if (m == null) {
            return false;
        }
        return nodes.stream().noneMatch(peer -> peer != n && peer.address().equals(m.sourceIp()));
    }

    /** Whether the node's source port answers {@code PULL <mount>} with 200 (its hub serves), or null if no answer. */
    private Boolean hubAnswers(RadiodProcess n) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(n.address(), sourcePort), (int) TIMEOUT.toMillis());
            s.setSoTimeout((int) TIMEOUT.toMillis());
            s.getOutputStream().write(("PULL " + mount + " HTTP/1.1\r\nHost: " + n.address() + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            byte[] line = new byte[12];
            int got = in.readNBytes(line, 0, line.length);
            String status = new String(line, 0, got, StandardCharsets.US_ASCII);
            return status.startsWith("HTTP/1.1 200") || status.startsWith("HTTP/1.0 200");
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * A yes opens (or extends) the node's span; a no closes it; no answer leaves it as it was for a while (a slow
     * answer), then closes it at the last yes (a dead or frozen node, which must say no when it answers again).
     */
    private synchronized void record(String witness, String node, Boolean says, long asked, long answered) {
        if (says == null && !"claim".equals(witness) && !open.getOrDefault(witness, Map.of()).containsKey(node)) {
            return;
        }
        samples.merge(witness, 1, Integer::sum);
        Map<String, long[]> openSpans = open.computeIfAbsent(witness, k -> new HashMap<>());
        Map<String, List<long[]>> closed = spans.computeIfAbsent(witness, k -> new HashMap<>());
        long[] span = openSpans.get(node);
        if (says == null) {
            if (span != null && asked - span[1] > 1000) {
                closed.computeIfAbsent(node, k -> new ArrayList<>()).add(span);
                openSpans.remove(node);
            }
            return;
        }
        if (says) {
            if (span == null) {
                openSpans.put(node, new long[] {asked, answered});
            } else {
                span[1] = answered;
            }
        } else if (span != null) {
            closed.computeIfAbsent(node, k -> new ArrayList<>()).add(span);
            openSpans.remove(node);
        }
    }

    /** Answers taken so far, per witness (a witness that never answered proves nothing). */
    synchronized Map<String, Integer> samples() {
        return Map.copyOf(samples);
    }

    /** Nodes some witness has seen acting as master so far (a witness that never saw one proves nothing). */
    synchronized Map<String, Set<String>> mastersSeen() {
        Map<String, Set<String>> seen = new java.util.TreeMap<>();
        spans.forEach((w, byNode) -> byNode.forEach((n, l) -> seen.computeIfAbsent(w, k -> new TreeSet<>()).add(n)));
        open.forEach((w, byNode) -> byNode.keySet().forEach(n -> seen.computeIfAbsent(w, k -> new TreeSet<>()).add(n)));
        return seen;
    }

    /** The witness that tells mastership from the audio path: Icecast's sources with relays, the hub without. */
    String audioWitness() {
        return path == AudioPath.CARRY ? "hub" : "icecast";
    }

    /** Icecast sources seen from neither a peer nor the node itself, when radiod carries the audio. */
    synchronized List<String> foreignSources() {
        return List.copyOf(foreign);
    }

    /** For every witness, every pair of spans of two different nodes that overlap by more than the margin. */
    synchronized List<String> doubleMasters() {
        List<String> found = new ArrayList<>();
        for (String witness : List.of("claim", "icecast", "hub")) {
            List<String> names = new ArrayList<>();
            List<long[]> all = new ArrayList<>();
            spans.getOrDefault(witness, Map.of()).forEach((n, list) -> list.forEach(s -> {
                names.add(n);
                all.add(s);
            }));
            open.getOrDefault(witness, Map.of()).forEach((n, s) -> {
                names.add(n);
                all.add(s);
            });
            for (int i = 0; i < all.size(); i++) {
                for (int j = i + 1; j < all.size(); j++) {
                    if (names.get(i).equals(names.get(j))) {
                        continue;
                    }
                    long[] a = all.get(i);
                    long[] b = all.get(j);
                    long overlap = Math.min(a[1], b[1]) - Math.max(a[0], b[0]);
                    if (overlap > MARGIN_MS) {
                        found.add(witness + ": " + names.get(i) + " " + a[0] + ".." + a[1] + " and " + names.get(j) + " "
                                + b[0] + ".." + b[1]);
                    }
                }
            }
        }
        return found;
    }

    /** The nodes that said they were master ({@code selfIsMaster}) at any time in [from, to]. */
    synchronized List<String> mastersBetween(long from, long to) {
        List<String> found = new ArrayList<>();
        Map<String, List<long[]>> all = new HashMap<>();
        spans.getOrDefault("claim", Map.of()).forEach((n, l) -> all.computeIfAbsent(n, k -> new ArrayList<>()).addAll(l));
        open.getOrDefault("claim", Map.of()).forEach((n, s) -> all.computeIfAbsent(n, k -> new ArrayList<>()).add(s));
        all.forEach((n, l) -> {
            if (l.stream().anyMatch(s -> s[1] >= from && s[0] <= to)) {
                found.add(n);
            }
        });
        return found;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }
}
