package radiod.tests.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * The failure suite's encoder, a real ffmpeg reading the {@link MarkedAudio} programme from a frame near the end of
 * the file: it goes round the loop seam frame after frame, and in real time. ffmpeg 5.1 given {@code -ss} with
 * {@code -stream_loop} sent about a whole loop (296 s of audio) within a second at the seam.
 */
class MarkedAudioIT {
    /** How far ahead of the wall clock the encoder may be: -re paces from the first frame, this is slack. */
    static final double AHEAD_SECONDS = 1.0;

    @Test
    void theProgrammeGoesRoundItsLoopInRealTimeFrameAfterFrame() throws Exception {
        MarkedAudio programme = MarkedAudio.get();
        int n = programme.frames();
        int from = n - (int) Math.round(3 / MarkedAudio.FRAME_SECONDS); // the seam 3 s in
        List<String> cmd = new ArrayList<>(List.of("ffmpeg", "-nostdin", "-loglevel", "error"));
        cmd.addAll(programme.ffmpegInput(from));
        cmd.addAll(List.of("-c:a", "copy", "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3", "pipe:1"));
        List<Integer> indexes = new ArrayList<>();
        double[] worstAhead = {-1e9};
        long start = System.nanoTime();
        Process ffmpeg = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (InputStream in = ffmpeg.getInputStream()) {
            FrameReader reader = new FrameReader((data, offset, length) -> {
                indexes.add(programme.frameIndex(data, offset, length));
                double elapsed = (System.nanoTime() - start) / 1e9;
                worstAhead[0] = Math.max(worstAhead[0], indexes.size() * MarkedAudio.FRAME_SECONDS - elapsed);
            });
            byte[] buf = new byte[8192];
            long end = start + TimeUnit.SECONDS.toNanos(7);
            for (int r; System.nanoTime() < end && (r = in.read(buf)) > 0; ) {
                reader.feed(buf, 0, r);
            }
        } finally {
            ffmpeg.destroyForcibly();
        }
        assertEquals(from, indexes.get(0), "starts at the frame asked for");
        for (int i = 1; i < indexes.size(); i++) {
            assertEquals((indexes.get(i - 1) + 1) % n, indexes.get(i), "frame " + i + " follows the one before it");
        }
        assertTrue(indexes.contains(0) && indexes.size() > Math.round(5 / MarkedAudio.FRAME_SECONDS),
                "went round the seam and on for seconds: " + indexes.size() + " frames");
        assertTrue(worstAhead[0] <= AHEAD_SECONDS, "at most " + AHEAD_SECONDS + " s ahead of the wall clock, was "
                + worstAhead[0] + " s (" + indexes.size() + " frames in 7 s)");
        System.out.printf("MarkedAudioIT: %d frames in 7 s, at most %.3f s ahead of the wall clock%n", indexes.size(),
                worstAhead[0]);
    }
}
