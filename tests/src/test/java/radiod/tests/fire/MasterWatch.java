package radiod.tests.fire;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import radiod.tests.harness.RadiodProcess;

/**
 * Asks every node, ten times a second, whether it acts as master ({@code selfIsMaster} in its own
 * {@code /status.json}), and keeps, per node, the spans during which it said so. Two nodes' spans overlapping by
 * more than the sampling margin means two nodes acted as master at the same instant.
 */
final class MasterWatch implements AutoCloseable {
    /** Sampling uncertainty: a poll round takes up to this long, so spans are only known to this precision. */
    static final long MARGIN_MS = 250;
    private final List<RadiodProcess> nodes;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofMillis(300)).build();
    private final Thread thread;
    private volatile boolean running = true;
    /** Per node: closed spans [start, end] (ms) during which it said it was master. */
    private final Map<String, List<long[]>> spans = new HashMap<>();
    /** Per node: the start of the span still open, or absent. */
    private final Map<String, long[]> open = new HashMap<>();
    private volatile int samples;

    MasterWatch(List<RadiodProcess> nodes) {
        this.nodes = nodes;
        this.thread = new Thread(this::run, "master-watch");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        while (running) {
            long round = System.currentTimeMillis();
            List<CompletableFuture<Boolean>> answers = new ArrayList<>();
            for (RadiodProcess n : nodes) {
                answers.add(http.sendAsync(HttpRequest.newBuilder(URI.create(n.httpUrl("/status.json")))
                                .timeout(Duration.ofMillis(300)).build(), HttpResponse.BodyHandlers.ofString())
                        .thenApply(r -> r.statusCode() == 200 ? r.body().contains("\"selfIsMaster\":true") : null)
                        .exceptionally(t -> null));
            }
            for (int i = 0; i < nodes.size(); i++) {
                Boolean says = answers.get(i).join();
                record(nodes.get(i).name(), says, round, System.currentTimeMillis());
            }
            samples++;
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
     * A yes opens (or extends) the node's span; a no closes it; no answer leaves it as it was for a while (a slow
     * answer), then closes it at the last yes (a dead or frozen node, which must say no when it answers again).
     */
    private synchronized void record(String node, Boolean says, long asked, long answered) {
        long[] span = open.get(node);
        if (says == null) {
            if (span != null && asked - span[1] > 1000) {
                spans.computeIfAbsent(node, k -> new ArrayList<>()).add(span);
                open.remove(node);
            }
            return;
        }
        if (says) {
            if (span == null) {
                open.put(node, new long[] {asked, answered});
            } else {
                span[1] = answered;
            }
        } else if (span != null) {
            spans.computeIfAbsent(node, k -> new ArrayList<>()).add(span);
            open.remove(node);
        }
    }

    int samples() {
        return samples;
    }

    /** Every pair of spans of two different nodes that overlap by more than the margin. */
    synchronized List<String> doubleMasters() {
        List<String[]> all = new ArrayList<>();
        List<long[]> allSpans = new ArrayList<>();
        spans.forEach((n, list) -> list.forEach(s -> {
            all.add(new String[] {n});
            allSpans.add(s);
        }));
        open.forEach((n, s) -> {
            all.add(new String[] {n});
            allSpans.add(s);
        });
        List<String> found = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            for (int j = i + 1; j < all.size(); j++) {
                if (all.get(i)[0].equals(all.get(j)[0])) {
                    continue;
                }
                long[] a = allSpans.get(i);
                long[] b = allSpans.get(j);
                long overlap = Math.min(a[1], b[1]) - Math.max(a[0], b[0]);
                if (overlap > MARGIN_MS) {
                    found.add(all.get(i)[0] + " " + a[0] + ".." + a[1] + " and " + all.get(j)[0] + " " + b[0] + ".." + b[1]);
                }
            }
        }
        return found;
    }

    /** The nodes that said they were master at any time in [from, to]. */
    synchronized List<String> mastersBetween(long from, long to) {
        List<String> found = new ArrayList<>();
        Map<String, List<long[]>> all = new HashMap<>();
        spans.forEach((n, l) -> all.computeIfAbsent(n, k -> new ArrayList<>()).addAll(l));
        open.forEach((n, s) -> all.computeIfAbsent(n, k -> new ArrayList<>()).add(s));
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
