package radiod.cluster.model;

import java.net.URI;
import java.util.Locale;
import java.util.Objects;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * A mount as the operator defined it, stored permanently at {@code mounts/<path>}.
 *
 * @param path           e.g. {@code /live.mp3}
 * @param sourceUser     user name encoders authenticate with (Icecast's default is {@code source})
 * @param sourcePassword encoder password
 * @param upstreamUrl    if set, the master relays this external URL instead of taking a live source
 * @param fallbackMount  mount listeners are moved to while this one has no source; may be null
 * @param maxListeners   listener limit of this mount on each node's Icecast; 0 means no limit
 * @param bitrateKbps    expected bitrate in kbit/s, used to predict bandwidth; 0 means unknown (128 assumed)
 * @param transcoding    set for a transcoded mount; null for a live or relayed one
 */
public record Mount(String path, String sourceUser, String sourcePassword, String upstreamUrl, String fallbackMount,
                    int maxListeners, int bitrateKbps, Transcoding transcoding) {
    public static final int DEFAULT_BITRATE_KBPS = 128;

    public Mount {
        MountPath.validate(path);
        sourceUser = Objects.requireNonNullElse(sourceUser, "source");
        if (sourceUser.isEmpty() || sourceUser.length() > 64 || !sourceUser.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("source user '" + sourceUser
                    + "' is not valid: use 1-64 letters, digits, '.', '-', '_'");
        }
        if (sourcePassword == null || sourcePassword.isEmpty()) {
            throw new IllegalArgumentException("mount " + path + " has no source password");
        }
        if (sourcePassword.length() > 128 || sourcePassword.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
            throw new IllegalArgumentException("source password of " + path
                    + " must be 1-128 printable ASCII characters without spaces");
        }
        if (upstreamUrl != null) {
            validateUpstream(path, upstreamUrl);
        }
        if (fallbackMount != null) {
            MountPath.validate(fallbackMount);
            if (fallbackMount.equals(path)) {
                throw new IllegalArgumentException("mount " + path + " cannot be its own fallback");
            }
        }
        if (maxListeners < 0) {
            throw new IllegalArgumentException("max listeners must be 0 (no limit) or more, got " + maxListeners);
        }
        if (bitrateKbps < 0 || bitrateKbps > 10_000) {
            throw new IllegalArgumentException("bitrate must be between 0 (unknown) and 10000 kbit/s, got " + bitrateKbps);
        }
        if (transcoding != null) {
            if (upstreamUrl != null) {
                throw new IllegalArgumentException("mount " + path + " cannot both relay an upstream URL and be transcoded");
            }
            if (transcoding.sourceMount().equals(path)) {
                throw new IllegalArgumentException("transcoded mount " + path + " cannot read itself");
            }
            if (bitrateKbps == 0) {
                bitrateKbps = transcoding.bitrateKbps();
            }
        }
    }

    private static void validateUpstream(String path, String url) {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("upstream URL " + shown(url) + " of " + path
                    + " is not a URL: use http://host[:port]/path");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") || uri.getHost() == null) {
            throw new IllegalArgumentException("upstream URL " + shown(url) + " of " + path
                    + " is not valid: use http://host[:port]/path (Icecast relays plain HTTP)");
        }
    }

    /** The URL for an error message, without the password it may carry (even where it does not parse). */
    private static String shown(String url) {
        if (Redact.hasUserInfo(url) || url.indexOf('@') < 0) {
            return "'" + Redact.url(url) + "'";
        }
        return "(not shown: it has an '@' outside user info)";
    }

    /** Expected bandwidth of one listener, bits per second. */
    @JsonIgnore
    public long bitsPerSecond() {
        return 1000L * (bitrateKbps == 0 ? DEFAULT_BITRATE_KBPS : bitrateKbps);
    }

    @JsonIgnore
    public boolean isTranscoded() {
        return transcoding != null;
    }
}
