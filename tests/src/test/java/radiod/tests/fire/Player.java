package radiod.tests.fire;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.util.List;
import java.util.function.Supplier;

import radiod.tests.harness.MarkedAudio;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Reception;
import radiod.testkit.audio.Mp3Frames;

/**
 * A listener that behaves like a real player: asks a node for the mount, follows the redirect, plays until the
 * stream ends or stalls, then asks again (the next node, as a DNS round robin of the cluster's name would give).
 * Every read of audio is time-stamped, so the longest silence around any instant can be measured afterwards, and
 * on the encoder's own mount every whole frame is placed on the programme's timeline ({@link Reception}), so the
 * audio that never reached it can be counted.
 */
final class Player implements AutoCloseable {
    /** Longer than the proxy's hold, as a player's own buffer-and-wait would be. */
    private static final int READ_TIMEOUT_MS = 20_000;
    private final String name;
    private final String mount;
    private final Supplier<List<String>> entries;
    private final Thread thread;
    private volatile boolean running = true;
    private final Reception reception;
    private final RadiodProcess pinnedTo;
    private volatile int connections;
    private volatile int notAudio;
    private volatile String lastNode = "";
    private volatile HttpURLConnection current;
    private final List<String> history = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * @param pinnedTo the node whose own stream it plays and stays with, or null for one that moves between nodes
     * @param entries the base URLs ({@code http://host:port}) a player could be given for the cluster now; the
     *                player starts at {@code first} and moves to the next one after a failure
     */
    Player(String name, RadiodProcess pinnedTo, String mount, Supplier<List<String>> entries, int first, MarkedAudio programme) {
        this.name = name;
        this.pinnedTo = pinnedTo;
        this.mount = mount;
        this.entries = entries;
        this.reception = new Reception(programme);
        this.thread = new Thread(() -> run(first), "player-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    String name() {
        return name;
    }

    String mount() {
        return mount;
    }

    /** The node it stays with, or null. */
    RadiodProcess pinnedTo() {
        return pinnedTo;
    }

    /** Streams opened so far (the first included). */
    int connections() {
        return connections;
    }

    /** Streams whose first bytes were not MP3 audio. */
    int notAudio() {
        return notAudio;
    }

    /** The node address the current stream comes from. */
    String node() {
        return lastNode;
    }

    /**
     * Plays from an entry URL; when the stream ends, reconnects to the stream URL it was redirected to (as ffmpeg
     * and VLC do) while that node answers, for up to {@value #SAME_NODE_MS} ms, or {@value #REFUSED_MS} ms of
     * refused connections (a node that is gone); then starts again from the next entry URL, as a player given the
     * cluster's name would.
     */
    private void run(int first) {
        int next = first;
        while (running) {
            List<String> urls = entries.get();
            String entry = urls.get(Math.floorMod(next, urls.size()));
            String stream = play(entry + mount);
            if (stream == null) {
                next++;
                sleep(200);
                continue;
            }
            long since = System.currentTimeMillis();
            long refusedSince = -1;
            while (running && System.currentTimeMillis() - since < SAME_NODE_MS) {
                refused = false;
                if (play(stream) != null) {
                    since = System.currentTimeMillis();
                    refusedSince = -1;
                    continue;
                }
                if (refused) {
                    refusedSince = refusedSince < 0 ? System.currentTimeMillis() : refusedSince;
                    if (System.currentTimeMillis() - refusedSince > REFUSED_MS) {
                        break;
                    }
                } else {
                    refusedSince = -1;
                }
                sleep(250);
            }
            next++;
        }
    }

    private static final long SAME_NODE_MS = 10_000;
    private static final long REFUSED_MS = 6_000;
    private boolean refused;

    /** One stream, start to end: the URL it finally came from, or null if it could not start. */
    private String play(String url) {
        HttpURLConnection c = null;
        String from = null;
        try {
            c = (HttpURLConnection) URI.create(url).toURL().openConnection();
            c.setConnectTimeout(1000);
            c.setReadTimeout(READ_TIMEOUT_MS);
            c.setInstanceFollowRedirects(true);
            current = c;
            if (c.getResponseCode() != 200) {
                return null;
            }
            connections++;
            reception.reconnected();
            lastNode = c.getURL().getHost();
            history.add((System.currentTimeMillis() % 100_000) + " " + c.getURL());
            from = c.getURL().toString();
            byte[] buf = new byte[8192];
            byte[] head = new byte[8192];
            int headFill = 0;
            boolean checked = false;
            try (InputStream in = c.getInputStream()) {
                int n;
                while (running && (n = in.read(buf)) > 0) {
                    reception.received(buf, 0, n, System.currentTimeMillis());
                    if (!checked) {
                        int take = Math.min(n, head.length - headFill);
                        System.arraycopy(buf, 0, head, headFill, take);
                        headFill += take;
                        if (headFill == head.length) {
                            checked = true;
                            if (!Mp3Frames.isMp3(head)) {
                                notAudio++;
                            }
                        }
                    }
                }
            }
            return from;
        } catch (java.net.ConnectException e) {
            refused = true;
            return null;
        } catch (IOException e) {
            return from; // ended by an error once started: still a stream that played
        } finally {
            if (c != null) {
                c.disconnect();
            }
        }
    }

    /** What it received, to measure silence and lost audio on. */
    Reception reception() {
        return reception;
    }

    /** When audio last arrived (ms since the epoch), or 0. */
    long lastAudio() {
        return reception.lastAudio();
    }

    /** The first audio at or after {@code t} (ms since the epoch), or -1 if none yet. */
    long firstAudioAfter(long t) {
        return reception.firstAudioAfter(t);
    }

    /** The longest time without audio that overlaps {@code [from, to]}. */
    long longestSilence(long from, long to) {
        return reception.longestSilence(from, to);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        running = false;
        HttpURLConnection c = current;
        if (c != null) {
            c.disconnect();
        }
        thread.interrupt();
    }

    /** Every stream opened: when (ms, modulo 100 s) and from where. */
    List<String> history() {
        return List.copyOf(history);
    }

    @Override
    public String toString() {
        return name + mount + "@" + lastNode;
    }
}
