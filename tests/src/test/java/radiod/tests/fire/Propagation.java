package radiod.tests.fire;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.SourceClient;
import radiod.tests.harness.Streams;

/**
 * One new mount, from {@code radioctl create-mount} to its audio on every node: a listener per node knocks on that
 * node's own stream of the mount every 20 ms from before the mount exists, and the time at which each first gets
 * the programme's frames is taken. The source connects {@code delay} after create-mount returns (the mount is in
 * etcd), through a node that is not the master, as libshout does ({@link SourceClient}), and what it was answered
 * is kept. Times count from create-mount's return, so radioctl's own start (its etcd client, a few hundred ms in
 * this JVM) is not in them; {@code radioctlMs} says how long that was.
 *
 * @param status    the HTTP status the source was answered first (100 or 200: let in)
 * @param knocks    connections the source made (1 unless told to knock again after a refusal)
 * @param audibleMs per node, ms from create-mount's return to the first programme audio there; absent if none
 */
record Propagation(String mount, long radioctlMs, long delayMs, int status, String answer, int knocks,
                   Map<String, Long> audibleMs) {
    boolean accepted() {
        return status == 100 || status == 200;
    }

    /** ms until every node served the audio, or -1 if one never did. */
    long everyNodeMs(int nodes) {
        return audibleMs.size() < nodes ? -1 : Collections.max(audibleMs.values());
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s: create-mount took %d ms; the source, %d ms after it returned, was answered"
                + " \"%s\"%s; audible (ms from create-mount's return) %s", mount, radioctlMs, delayMs, answer,
                knocks > 1 ? " (after " + knocks + " knocks)" : "", audibleMs);
    }

    /**
     * @param knockAgain keep connecting every 200 ms while refused (the old harness's encoder), to measure a
     *                   cluster that refuses a new mount's first source; a libshout encoder stops at the first 401
     */
    static Propagation measure(RadiodCluster cluster, int n, long delayMs, boolean knockAgain, Duration limit) throws IOException {
        String path = "/prop-" + n + "-" + Long.toHexString(System.nanoTime() & 0xffffff) + ".mp3";
        String password = "prop-pw-" + n;
        RadiodProcess master = cluster.master().orElseThrow();
        RadiodProcess via = cluster.nodes().stream().filter(x -> x != master).findFirst().orElseThrow();
        Map<String, Long> audible = new ConcurrentHashMap<>();
        List<Thread> listeners = new ArrayList<>();
        long start = System.currentTimeMillis();
        java.util.concurrent.atomic.AtomicLong created = new java.util.concurrent.atomic.AtomicLong(Long.MAX_VALUE);
        long deadline = start + limit.toMillis();
        for (RadiodProcess node : cluster.nodes()) {
            Thread t = new Thread(() -> {
                while (System.currentTimeMillis() < deadline && !audible.containsKey(node.name())) {
                    if (heard(node.httpUrl("/_stream" + path), deadline)) {
                        audible.put(node.name(), System.currentTimeMillis() - created.get());
                        return;
                    }
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "propagation-" + node.name());
            t.setDaemon(true);
            t.start();
            listeners.add(t);
        }
        SourceClient source = null;
        int knocks = 0;
        try {
            Radioctl.Result result = Radioctl.run(cluster, "create-mount", path, "--password", password, "--bitrate", "128");
            created.set(System.currentTimeMillis());
            if (result.exit() != 0) {
                throw new IllegalStateException("radioctl create-mount " + path + " exited " + result.exit() + ": " + result.err());
            }
            Fire.sleep(delayMs);
            long delay = System.currentTimeMillis() - created.get();
            do {
                if (source != null) {
                    Fire.sleep(200);
                }
                source = SourceClient.connect(via.address(), cluster.sourcePort, path, "source", password);
                knocks++;
            } while (knockAgain && !source.accepted() && System.currentTimeMillis() < deadline);
            if (source.accepted()) {
                await().atMost(Duration.ofMillis(Math.max(1, deadline - System.currentTimeMillis()))).pollInterval(Duration.ofMillis(10))
                        .until(() -> audible.size() == cluster.nodes().size());
            }
            Propagation p = new Propagation(path, created.get() - start, delay, source.status(), source.answer(), knocks,
                    Map.copyOf(audible));
            Fire.report("propagation " + p);
            return p;
        } finally {
            listeners.forEach(Thread::interrupt);
            if (source != null) {
                source.close();
            }
            Radioctl.run(cluster, "delete-mount", path);
        }
    }

    /** One listen of at most a second: whether the stream answered 200 and brought three chained MP3 frames. */
    private static boolean heard(String url, long deadline) {
        long left = deadline - System.currentTimeMillis();
        return left > 0 && Streams.heard(url, 3, (int) Math.min(1000, left));
    }
}
