package radiod.tests.harness;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;

/**
 * What one listener received, kept for measuring afterwards: when each read of audio bytes arrived (for the longest
 * silence: wall time with no audio bytes at all), and, for the {@link MarkedAudio} programme, which programme frame
 * each whole frame was and when it arrived (for the audio lost: frames the encoder sent that never came).
 *
 * <p>Thread-safe: one reader thread feeds it while tests measure.
 */
public final class Reception {
    private final MarkedAudio programme;
    private FrameReader reader;
    private long[] reads = new long[4096];
    private int readCount;
    private long[] frameAt = new long[4096];
    private long[] frameNo = new long[4096];
    private int frameCount;
    private long foreign;
    private long current;

    /** @param programme the programme to place frames on, or null to measure silence only (a transcoded mount) */
    public Reception(MarkedAudio programme) {
        this.programme = programme;
        this.reader = programme == null ? null : new FrameReader(this::frame);
    }

    /** A new connection: the next bytes are a new stream (a cut frame at the join is not a break). */
    public synchronized void reconnected() {
        if (programme != null) {
            reader = new FrameReader(this::frame); // drops the old connection's partial frame: not a foreign one
        }
    }

    public synchronized void received(byte[] data, int offset, int length, long now) {
        if (length <= 0) {
            return;
        }
        if (readCount == reads.length) {
            reads = Arrays.copyOf(reads, readCount * 2);
        }
        reads[readCount++] = now;
        if (programme != null) {
            current = now;
            reader.feed(data, offset, length);
        }
    }

    private void frame(byte[] data, int offset, int length) {
        int index = programme.frameIndex(data, offset, length);
        if (index < 0) {
            foreign++;
            return;
        }
        if (frameCount == frameNo.length) {
            frameNo = Arrays.copyOf(frameNo, frameCount * 2);
            frameAt = Arrays.copyOf(frameAt, frameCount * 2);
        }
        frameAt[frameCount] = current;
        frameNo[frameCount++] = programme.place(index, current);
    }

    /** Programme frames received so far. */
    public synchronized int frames() {
        return frameCount;
    }

    /** When audio last arrived (ms since the epoch), or 0. */
    public synchronized long lastAudio() {
        return readCount == 0 ? 0 : reads[readCount - 1];
    }

    /** The first audio at or after {@code t}, or -1 if none yet. */
    public synchronized long firstAudioAfter(long t) {
        for (int i = 0; i < readCount; i++) {
            if (reads[i] >= t) {
                return reads[i];
            }
        }
        return -1;
    }

    /**
     * The longest time without audio that overlaps {@code [from, to]}: from the last audio before {@code from} to the
     * first after it, and so on up to {@code to} (or now, if still silent).
     */
    public synchronized long longestSilence(long from, long to) {
        long longest = 0;
        long previous = -1;
        for (int i = 0; i < readCount; i++) {
            long t = reads[i];
            if (t < from) {
                previous = t;
                continue;
            }
            if (previous >= 0) {
                longest = Math.max(longest, t - previous);
            }
            previous = t;
            if (t > to) {
                break;
            }
        }
        if (previous >= 0 && previous < to) {
            longest = Math.max(longest, Math.min(to, System.currentTimeMillis()) - previous);
        }
        return longest;
    }

    /**
     * The longest time without audio bytes inside {@code [from, to]}, counting a gap that began before {@code from}
     * but none that ends after {@code to}: the listener's normal delivery rhythm, when the window was quiet.
     */
    public synchronized long rhythm(long from, long to) {
        long longest = 0;
        long previous = -1;
        for (int i = 0; i < readCount && reads[i] <= to; i++) {
            if (reads[i] >= from && previous >= 0) {
                longest = Math.max(longest, reads[i] - previous);
            }
            previous = reads[i];
        }
        return previous < 0 ? 0 : Math.max(longest, to - previous);
    }

    /** Frames that were not the programme's (cut by a splice, or another source's), all along. */
    public synchronized long foreignFrames() {
        return foreign;
    }

    /** The last programme frame received at or before {@code t}, or -1. */
    public synchronized long lastFrameBefore(long t) {
        long last = -1;
        for (int i = 0; i < frameCount && frameAt[i] <= t; i++) {
            last = frameNo[i];
        }
        return last;
    }

    /** The highest programme frame received so far, or -1. */
    public synchronized long highestFrame() {
        long max = -1;
        for (int i = 0; i < frameCount; i++) {
            max = Math.max(max, frameNo[i]);
        }
        return max;
    }

    /**
     * Around a fault at {@code faultAt}: the programme frames after the last one this listener had before the fault,
     * up to the highest one it has now, that it never received; and those it received more than once (replayed).
     */
    public synchronized Loss loss(long faultAt) {
        long before = lastFrameBefore(faultAt);
        long highest = highestFrame();
        if (before < 0 || highest <= before) {
            return new Loss(before, highest, 0, 0);
        }
        int span = (int) Math.min(highest - before, Integer.MAX_VALUE - 1);
        BitSet seen = new BitSet(span);
        int repeated = 0;
        for (int i = 0; i < frameCount; i++) {
            long n = frameNo[i];
            if (n > before && n <= highest) {
                int bit = (int) (n - before - 1);
                if (seen.get(bit)) {
                    repeated++;
                }
                seen.set(bit);
            }
        }
        return new Loss(before, highest, span - seen.cardinality(), repeated);
    }

    /**
     * Where programme frames went missing since {@code from}: each hole as the frame before it, how many frames it
     * lacks, and when the frame after it arrived (ms since the epoch). For a report: the times to look up in logs.
     */
    public synchronized List<String> holes(long from) {
        List<String> out = new ArrayList<>();
        long previous = -1;
        for (int i = 0; i < frameCount; i++) {
            if (frameAt[i] < from) {
                previous = frameNo[i];
                continue;
            }
            long n = frameNo[i];
            if (previous >= 0 && n > previous + 1) {
                out.add(String.format(Locale.ROOT, "%d frames (%.2f s) after frame %d, the next at %s", n - previous - 1,
                        (n - previous - 1) * MarkedAudio.FRAME_SECONDS, previous, Instant.ofEpochMilli(frameAt[i])));
            }
            previous = Math.max(previous, n);
        }
        return out;
    }

    /**
     * Frames lost and replayed around one fault.
     *
     * @param before   the last programme frame the listener had before the fault
     * @param highest  the highest it had when measured
     * @param lost     frames in between that never came
     * @param repeated frames in between that came more than once
     */
    public record Loss(long before, long highest, int lost, int repeated) {
        public double lostSeconds() {
            return lost * MarkedAudio.FRAME_SECONDS;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%.2f s lost (%d frames of %d), %d replayed", lostSeconds(), lost,
                    Math.max(0, highest - before), repeated);
        }
    }
}
