package radiod.cluster.model;

import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * How a transcoded mount is made from another mount: one liquidsoap in the cluster pulls
 * {@code sourceMount}, encodes it with these parameters and pushes the result.
 *
 * @param sourceMount the mount to read, e.g. {@code /live.mp3}
 * @param codec       one of {@link #CODECS}
 * @param bitrateKbps target bitrate in kbit/s
 * @param sampleRate  output sample rate in Hz
 * @param channels    1 (mono) or 2 (stereo)
 * @param quality     codec quality where the codec has one (vorbis: -0.1..1.0); null to use the bitrate
 */
public record Transcoding(String sourceMount, String codec, int bitrateKbps, int sampleRate, int channels,
                          Double quality) {
    /** Supported codecs and their bitrate ranges in kbit/s. */
    public static final Map<String, int[]> CODECS = Map.of(
            "mp3", new int[] {8, 320},
            "vorbis", new int[] {32, 500},
            "opus", new int[] {6, 510});

    public Transcoding {
        MountPath.validate(sourceMount);
        codec = Objects.requireNonNullElse(codec, "").toLowerCase(Locale.ROOT);
        int[] range = CODECS.get(codec);
        if (range == null) {
            throw new IllegalArgumentException("codec '" + codec + "' is not supported: use one of "
                    + String.join(", ", CODECS.keySet().stream().sorted().toList()));
        }
        if (bitrateKbps < range[0] || bitrateKbps > range[1]) {
            throw new IllegalArgumentException("bitrate " + bitrateKbps + " kbit/s is not possible for " + codec
                    + ": use " + range[0] + " to " + range[1]);
        }
        if (sampleRate == 0) {
            sampleRate = codec.equals("opus") ? 48000 : 44100;
        }
        if (!validSampleRate(codec, sampleRate)) {
            throw new IllegalArgumentException("sample rate " + sampleRate + " Hz is not possible for " + codec
                    + (codec.equals("opus") ? ": use 8000, 12000, 16000, 24000 or 48000"
                                            : ": use 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100 or 48000"));
        }
        if (channels == 0) {
            channels = 2;
        }
        if (channels != 1 && channels != 2) {
            throw new IllegalArgumentException("channels must be 1 or 2, got " + channels);
        }
        if (quality != null) {
            if (!codec.equals("vorbis")) {
                throw new IllegalArgumentException("quality applies to vorbis only, not " + codec);
            }
            if (!(quality >= -0.1 && quality <= 1.0)) { // NaN too: JSON's "NaN" reads as a Double
                throw new IllegalArgumentException("vorbis quality must be between -0.1 and 1.0, got " + quality);
            }
        }
    }

    private static boolean validSampleRate(String codec, int rate) {
        if (codec.equals("opus")) {
            return rate == 8000 || rate == 12000 || rate == 16000 || rate == 24000 || rate == 48000;
        }
        return switch (rate) {
            case 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000 -> true;
            default -> false;
        };
    }
}
