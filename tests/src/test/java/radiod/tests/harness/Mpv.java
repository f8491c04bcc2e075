package radiod.tests.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real player: mpv with its default cache and a null audio output, which plays in real time as a sound card
 * would. Five times a second it is asked over its JSON IPC socket for {@code demuxer-cache-duration} (seconds of
 * audio read ahead) and {@code paused-for-cache}; its verbose log says when playback ran dry for want of audio
 * ({@code Audio device underrun detected}, {@code Enter buffering}, then {@code End buffering (waited N secs)}) and
 * when the decoder met a broken frame ({@code Error decoding audio}, after {@code Header missing} where a splice cut
 * a frame).
 */
public final class Mpv implements AutoCloseable {
    private static final Pattern WAITED = Pattern.compile("End buffering \\(waited ([0-9.]+) secs\\)");
    private final Process process;
    private final Path dir;
    private final Path log;
    private final Path socket;
    private final String url;
    private final Thread sampler;
    private volatile boolean running = true;
    /** Samples: wall ms, cache seconds (-1 unknown), paused for cache (1/0/-1). */
    private final List<double[]> samples = new ArrayList<>();

    public Mpv(String url) {
        this.url = url;
        try {
            dir = Files.createTempDirectory("radiod-mpv-");
            log = dir.resolve("mpv.log");
            socket = dir.resolve("ipc");
            process = new ProcessBuilder("mpv", "--no-config", "--ao=null", "--no-video", "--ytdl=no",
                    "--input-ipc-server=" + socket, "--msg-level=all=v", "--log-file=" + log, url)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        sampler = new Thread(this::sample, "mpv-ipc");
        sampler.setDaemon(true);
        sampler.start();
    }

    public String url() {
        return url;
    }

    public boolean alive() {
        return process.isAlive();
    }

    private void sample() {
        while (running && !Files.exists(socket) && process.isAlive()) {
            pause(50);
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer in = ByteBuffer.allocate(65536);
            StringBuilder pending = new StringBuilder();
            int id = 0;
            while (running && process.isAlive()) {
                long t = System.currentTimeMillis();
                int cacheId = ++id;
                int pausedId = ++id;
                String ask = "{\"command\":[\"get_property\",\"demuxer-cache-duration\"],\"request_id\":" + cacheId + "}\n"
                        + "{\"command\":[\"get_property\",\"paused-for-cache\"],\"request_id\":" + pausedId + "}\n";
                ch.write(ByteBuffer.wrap(ask.getBytes(StandardCharsets.UTF_8)));
                double cache = Double.NaN;
                double paused = Double.NaN;
                long deadline = t + 1000;
                while ((Double.isNaN(cache) || Double.isNaN(paused)) && System.currentTimeMillis() < deadline) {
                    in.clear();
                    if (ch.read(in) < 0) {
                        return;
                    }
                    pending.append(new String(in.array(), 0, in.position(), StandardCharsets.UTF_8));
                    int nl;
                    while ((nl = pending.indexOf("\n")) >= 0) {
                        String line = pending.substring(0, nl);
                        pending.delete(0, nl + 1);
                        if (line.contains("\"request_id\":" + cacheId + ",") || line.endsWith("\"request_id\":" + cacheId + "}")) {
                            cache = line.contains("\"success\"") ? number(line) : -1;
                        } else if (line.contains("\"request_id\":" + pausedId + ",") || line.endsWith("\"request_id\":" + pausedId + "}")) {
                            paused = line.contains("\"data\":true") ? 1 : line.contains("\"data\":false") ? 0 : -1;
                        }
                    }
                }
                synchronized (samples) {
                    samples.add(new double[] {t, Double.isNaN(cache) ? -1 : cache, Double.isNaN(paused) ? -1 : paused});
                }
                pause(200 - (System.currentTimeMillis() - t));
            }
        } catch (IOException e) {
            // mpv went away
        }
    }

    private static double number(String line) {
        Matcher m = Pattern.compile("\"data\":(-?[0-9.eE+-]+)").matcher(line);
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    private static void pause(long ms) {
        if (ms <= 0) {
            return;
        }
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Seconds of audio mpv had read ahead, median of the samples in {@code [from, to]}; -1 without samples. */
    public double cacheSeconds(long from, long to) {
        List<Double> v = new ArrayList<>();
        synchronized (samples) {
            for (double[] s : samples) {
                if (s[0] >= from && s[0] <= to && s[1] >= 0) {
                    v.add(s[1]);
                }
            }
        }
        if (v.isEmpty()) {
            return -1;
        }
        v.sort(null);
        return v.get(v.size() / 2);
    }

    /** The lowest cache level sampled in {@code [from, to]}; -1 without samples. */
    public double lowestCache(long from, long to) {
        double low = Double.MAX_VALUE;
        synchronized (samples) {
            for (double[] s : samples) {
                if (s[0] >= from && s[0] <= to && s[1] >= 0) {
                    low = Math.min(low, s[1]);
                }
            }
        }
        return low == Double.MAX_VALUE ? -1 : low;
    }

    /** Samples in {@code [from, to]} in which playback was paused, waiting for the cache. */
    public int pausedForCache(long from, long to) {
        int n = 0;
        synchronized (samples) {
            for (double[] s : samples) {
                if (s[0] >= from && s[0] <= to && s[2] == 1) {
                    n++;
                }
            }
        }
        return n;
    }

    /** Samples taken so far with a cache level (mpv is playing). */
    public int playingSamples() {
        synchronized (samples) {
            return (int) samples.stream().filter(s -> s[1] >= 0).count();
        }
    }

    private String logText() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** Its log's warnings, errors and stream lines, for failure messages. */
    public String logTail() {
        String t = logText().lines().filter(l -> l.matches(".*\\]\\[[ew]\\].*|.*\\[(stream|ffmpeg|demux|lavf)\\].*"))
                .collect(java.util.stream.Collectors.joining("\n"));
        return t.substring(Math.max(0, t.length() - 4000));
    }

    /**
     * Times playback ran dry for want of audio from the network, from the start: mpv logs {@code Enter buffering}
     * when its output ran out and its cache had nothing to give, and plays again after {@code End buffering}.
     */
    public int underruns() {
        return count("Enter buffering");
    }

    /**
     * Times the audio output ran out for any reason, from the start ({@code Audio device underrun detected}); more
     * than {@link #underruns} when mpv itself was starved of CPU with audio in its cache (a loaded machine).
     */
    public int deviceUnderruns() {
        return count("Audio device underrun detected");
    }

    /** Seconds it waited for the cache after running dry, all together, from the start. */
    public double underrunSeconds() {
        Matcher m = WAITED.matcher(logText());
        double total = 0;
        while (m.find()) {
            total += Double.parseDouble(m.group(1));
        }
        return total;
    }

    /** Audio packets the decoder could not decode (a frame cut by a splice), from the start. */
    public int decoderErrors() {
        return count("Error decoding audio");
    }

    private int count(String what) {
        return (int) logText().lines().filter(l -> l.contains(what)).count();
    }

    /** A line for reports. */
    public String summary(long faultAt) {
        return String.format(Locale.ROOT, "mpv %s: cache %.2f s before the fault, lowest %.2f s, %.2f s 10 s after;"
                        + " %d underruns (%.2f s waited, %d of the output in all), %d decoder errors", url,
                cacheSeconds(faultAt - 5000, faultAt), lowestCache(faultAt, faultAt + 10_000),
                cacheSeconds(faultAt + 10_000, faultAt + 12_000), underruns(), underrunSeconds(), deviceUnderruns(), decoderErrors());
    }

    @Override
    public void close() {
        running = false;
        process.destroy();
        try {
            if (!process.waitFor(3, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sampler.interrupt();
        try {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(log);
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // a temp directory
        }
    }
}
