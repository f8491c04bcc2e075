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
import java.util.Map;
import java.util.concurrent.TimeUnit;
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

    private final Path file;
    private final Map<Long, Integer> byDigest;
    private final int frames;
    /** Wall-clock ms at which frame 0 of the first loop would have been sent. */
    private final long epoch;

    private MarkedAudio(Path file, Map<Long, Integer> byDigest, int frames) {
        this.file = file;
        this.byDigest = byDigest;
        this.frames = frames;
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
            for (int i = 0; i < frames.size(); i++) {
                if (byDigest.put(digest(frames.get(i), 0, frames.get(i).length), i) != null) {
                    throw new IllegalStateException(file + ": frame " + i + " repeats an earlier one; delete the file");
                }
            }
            if (frames.size() < SECONDS * 38) {
                throw new IllegalStateException(file + " holds " + frames.size() + " frames; delete it to make it again");
            }
            return new MarkedAudio(file, byDigest, frames.size());
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
        long frame = Math.floorMod(frameAt(System.currentTimeMillis()), frames);
        return List.of("-re", "-ss", String.format(java.util.Locale.ROOT, "%.3f", frame * FRAME_SECONDS),
                "-stream_loop", "-1", "-i", file.toString());
    }
}
