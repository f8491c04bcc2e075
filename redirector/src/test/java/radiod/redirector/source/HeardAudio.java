package radiod.redirector.source;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import radiod.testkit.audio.Mp3Frames;

/**
 * Judging what a listener heard: real decoders (ffmpeg, ffprobe), the chain of whole MP3 frames or Ogg pages in it,
 * and a sampler of conditions while a source moves. The encoders and the listener come from the testkit.
 */
public final class HeardAudio {
    private HeardAudio() {
    }

    /** ffprobe's "codec,decoded frames" for the bytes, e.g. {@code mp3,40}. */
    public static String probe(byte[] audio, Path dir) throws Exception {
        Path file = Files.createTempFile(dir, "heard-", ".bin");
        Files.write(file, audio);
        Process p = new ProcessBuilder("ffprobe", "-v", "error", "-count_frames", "-select_streams", "a:0",
                "-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0", file.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        p.waitFor(20, TimeUnit.SECONDS);
        // Decoder warnings (a stream joined mid-frame) may come first; the answer is the last line.
        return out.substring(out.lastIndexOf('\n') + 1);
    }

    /** What {@code ffmpeg -v error -i - -f null -} prints decoding the bytes from its standard input: "" when clean. */
    public static String decodeErrors(byte[] audio, Path dir) throws Exception {
        Path file = Files.createTempFile(dir, "decode-", ".bin");
        Files.write(file, audio);
        Process p = new ProcessBuilder("ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", "-", "-f", "null", "-")
                .redirectInput(file.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "ffmpeg did not finish decoding";
        }
        Files.delete(file);
        return p.exitValue() == 0 ? out : "exit " + p.exitValue() + ": " + out;
    }

    /**
     * The whole units (MP3 frames, Ogg pages) in what a listener heard: where the first one starts (after the bytes
     * before it, as a listener joins mid-stream), where the last whole one ends (the capture was cut there), and
     * every place between where the bytes that follow a unit are not another one (a splice gone wrong).
     */
    public record Chain(int start, int end, int units, List<Integer> breaks) {
    }

    public static Chain chain(byte[] b, String codec) {
        boolean ogg = codec.equals("vorbis") || codec.equals("opus");
        int start = -1;
        for (int i = 0; i < b.length && start < 0; i++) {
            int n = unit(b, i, ogg);
            // A unit counts as the first one when the two after it are units too (no false sync in audio data).
            if (n > 0 && unit(b, i + n, ogg) > 0 && unit(b, i + n + unit(b, i + n, ogg), ogg) > 0) {
                start = i;
            }
        }
        if (start < 0) {
            return new Chain(-1, -1, 0, List.of());
        }
        List<Integer> breaks = new ArrayList<>();
        int at = start;
        int end = start;
        int units = 0;
        while (at < b.length) {
            int n = unit(b, at, ogg);
            if (n > 0 && at + n <= b.length) {
                at += n;
                end = at;
                units++;
                continue;
            }
            if (n > 0 || n == 0) {
                break; // the capture ends inside this unit (or inside its header)
            }
            breaks.add(at);
            int next = at + 1;
            while (next < b.length && unit(b, next, ogg) < 0) {
                next++;
            }
            at = next;
        }
        return new Chain(start, end, units, List.copyOf(breaks));
    }

    /** The length of the MP3 (layer III) frame or Ogg page at i; 0 when the bytes end inside its header; -1 if none. */
    private static int unit(byte[] b, int i, boolean ogg) {
        if (ogg) {
            if (i + 27 > b.length) {
                return i + 4 <= b.length && !(b[i] == 'O' && b[i + 1] == 'g' && b[i + 2] == 'g' && b[i + 3] == 'S') ? -1 : 0;
            }
            if (!(b[i] == 'O' && b[i + 1] == 'g' && b[i + 2] == 'g' && b[i + 3] == 'S' && b[i + 4] == 0)) {
                return -1;
            }
            int segments = b[i + 26] & 0xFF;
            if (i + 27 + segments > b.length) {
                return 0;
            }
            int body = 0;
            for (int k = 0; k < segments; k++) {
                body += b[i + 27 + k] & 0xFF;
            }
            return 27 + segments + body;
        }
        return Mp3Frames.length(b, i, b.length);
    }

    public static void stop(Process p) throws InterruptedException {
        if (p != null) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Samples conditions on its own thread until closed, and remembers each sample that was false. */
    public static final class Sampler implements AutoCloseable {
        private final Thread thread;
        private final List<String> misses = new CopyOnWriteArrayList<>();
        private volatile int samples;
        private volatile boolean stop;

        /** @param checks a name for each condition, and the condition (exceptions count as false) */
        public Sampler(long everyMillis, List<java.util.Map.Entry<String, BooleanSupplier>> checks) {
            long started = System.nanoTime();
            thread = new Thread(() -> {
                while (!stop) {
                    for (var c : checks) {
                        boolean ok;
                        try {
                            ok = c.getValue().getAsBoolean();
                        } catch (RuntimeException e) {
                            ok = false;
                        }
                        if (!ok) {
                            misses.add(c.getKey() + " at +" + (System.nanoTime() - started) / 1_000_000 + " ms");
                        }
                    }
                    samples++;
                    try {
                        Thread.sleep(everyMillis);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "sampler");
            thread.setDaemon(true);
            thread.start();
        }

        public List<String> misses() {
            return List.copyOf(misses);
        }

        public int samples() {
            return samples;
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            thread.join(5000);
        }
    }
}
