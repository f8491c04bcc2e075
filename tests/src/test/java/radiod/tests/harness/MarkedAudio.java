package radiod.tests.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import radiod.testkit.audio.Mp3Frames;

/**
 * The programme the failure suite broadcasts: five minutes of a 440 Hz tone over seeded pink noise, as 128 kbit/s
 * 44.1 kHz MP3, looped. Every one of its frames is different from every other, so a listener that receives a frame
 * knows exactly which part of the programme it is; and every encoder starts at the frame that belongs to the wall
 * clock ({@link #frameAt}), so the programme's timeline runs on across encoder restarts. A listener's received
 * frames, placed on that timeline, show which audio the encoder sent that never reached it.
 *
 * <p>Invariant: {@link #frameIndex} returns the frame's position in the file for a frame of the file, byte for
 * byte, and -1 for anything else (a frame cut by a splice, another encoder's audio).
 */
public final class MarkedAudio {
    /** Samples per MPEG-1 Layer III frame over the sample rate: the duration of one frame. */
    public static final double FRAME_SECONDS = 1152.0 / 44100;
    static final int SECONDS = 300;
    private static final String RECIPE = "sine=frequency=440:sample_rate=44100 + anoisesrc=color=pink:seed=7:amplitude=0.2,"
            + " amix normalize=0, " + SECONDS + " s, stereo, libmp3lame 128k, no Xing, no ID3";
    private static MarkedAudio instance;

    /** How long a copy of the programme for one encoder is kept: ffmpeg has it open by then (see {@link #rotated}). */
    private static final long COPY_KEPT_MILLIS = 60_000;

    private final Path file;
    private final byte[] data;
    /** Where each frame starts in {@link #data}. */
    private final int[] starts;
    private final Map<Long, Integer> byDigest;
    private final int frames;
    /** Wall-clock ms at which frame 0 of the first loop would have been sent. */
    private final long epoch;
    private Path copies;

    private MarkedAudio(Path file, byte[] data, int[] starts, Map<Long, Integer> byDigest) {
        this.file = file;
        this.data = data;
        this.starts = starts;
        this.byDigest = byDigest;
        this.frames = starts.length;
        this.epoch = System.currentTimeMillis();
    }

    /** The programme, generated with ffmpeg on first use (a few seconds) and kept in the temp directory. */
    public static synchronized MarkedAudio get() {
        if (instance == null) {
            instance = load();
        }
        return instance;
    }

    private static MarkedAudio load() {
        Path file = Path.of(System.getProperty("java.io.tmpdir"), "radiod-marked-" + Integer.toHexString(RECIPE.hashCode()) + ".mp3");
        try {
            if (!Files.exists(file)) {
                Path part = Files.createTempFile(file.getParent(), "radiod-marked-", ".mp3");
                Process p = new ProcessBuilder("ffmpeg", "-nostdin", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                        "-f", "lavfi", "-i", "anoisesrc=color=pink:seed=7:amplitude=0.2:sample_rate=44100",
                        "-filter_complex", "[0][1]amix=inputs=2:normalize=0", "-t", Integer.toString(SECONDS), "-ac", "2",
                        "-c:a", "libmp3lame", "-b:a", "128k", "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3",
                        part.toString()).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes());
                if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    p.destroyForcibly();
                    throw new IllegalStateException("ffmpeg could not make the test programme: " + out);
                }
                Files.move(part, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            byte[] data = Files.readAllBytes(file);
            List<byte[]> frames = Mp3Frames.split(data);
            Map<Long, Integer> byDigest = new HashMap<>(frames.size() * 2);
            int[] starts = new int[frames.size()];
            for (int i = 0, at = 0; i < frames.size(); at += frames.get(i).length, i++) {
                starts[i] = at;
                if (byDigest.put(digest(frames.get(i), 0, frames.get(i).length), i) != null) {
                    throw new IllegalStateException(file + ": frame " + i + " repeats an earlier one; delete the file");
                }
            }
            if (frames.size() < SECONDS * 38) {
                throw new IllegalStateException(file + " holds " + frames.size() + " frames; delete it to make it again");
            }
            return new MarkedAudio(file, data, starts, byDigest);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static long digest(byte[] b, int offset, int length) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-1");
            md.update(b, offset, length);
            return ByteBuffer.wrap(md.digest()).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public Path file() {
        return file;
    }

    /** Frames in one loop of the file. */
    public int frames() {
        return frames;
    }

    /** The frame's index in the file, or -1 if it is not one of the file's frames. */
    public int frameIndex(byte[] frame, int offset, int length) {
        return byDigest.getOrDefault(digest(frame, offset, length), -1);
    }

    /** The programme's frame (counted from the first loop, unbounded) that the wall clock says is on air at {@code ms}. */
    public long frameAt(long ms) {
        return Math.floorDiv(ms - epoch, 1) * 441 / 11_520; // (ms / 1000) / FRAME_SECONDS, in integers
    }

    /**
     * The programme frame of a frame of the file seen at {@code ms}: the loop that puts it nearest the wall clock,
     * as a listener is never half a loop (150 s) behind or ahead.
     */
    public long place(int fileIndex, long ms) {
        long now = frameAt(ms);
        long loop = Math.floorDiv(now - fileIndex + frames / 2, frames);
        return loop * frames + fileIndex;
    }

    /** ffmpeg's input arguments that read the programme in real time from the frame on air now. */
    public List<String> ffmpegInput() {
        return ffmpegInput((int) Math.floorMod(frameAt(System.currentTimeMillis()), frames));
    }

    /**
     * ffmpeg's input arguments that read the programme in real time from the file's frame {@code frame}, looped: a
     * copy of the file that starts at that frame and goes on round to the frame before it, so that its loop seam
     * falls where the programme goes on anyway. Not {@code -ss} with {@code -stream_loop}: ffmpeg 5.1 then stops
     * pacing at the first loop and sends about a whole loop (minutes of audio) within a second, an encoder no
     * station has, which the soak took for audio lost by the cluster.
     */
    List<String> ffmpegInput(int frame) {
        return List.of("-re", "-stream_loop", "-1", "-i", rotated(frame).toString());
    }

    /**
     * The file's bytes from {@code frame}'s start to its end, then from its beginning to {@code frame}: byte for
     * byte the same frames. Copies older than {@link #COPY_KEPT_MILLIS} are deleted first (the ffmpeg given one
     * opened it within a second, and it reads an open file to the end of its run); the rest go when the JVM exits.
     */
    private synchronized Path rotated(int frame) {
        try {
            if (copies == null) {
                copies = Files.createTempDirectory("radiod-programme-");
                copies.toFile().deleteOnExit();
            }
            long now = System.currentTimeMillis();
            try (Stream<Path> old = Files.list(copies)) {
                for (Path p : old.toList()) {
                    if (now - Files.getLastModifiedTime(p).toMillis() > COPY_KEPT_MILLIS) {
                        Files.deleteIfExists(p);
                    }
                }
            }
            Path copy = Files.createTempFile(copies, String.format(Locale.ROOT, "from-%05d-", frame), ".mp3");
            copy.toFile().deleteOnExit();
            int cut = starts[frame];
            try (var out = Files.newOutputStream(copy)) {
                out.write(data, cut, data.length - cut);
                out.write(data, 0, cut);
            }
            return copy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
