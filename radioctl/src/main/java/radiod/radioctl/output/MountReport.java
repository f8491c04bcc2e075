package radiod.radioctl.output;

import java.util.List;

import radiod.cluster.model.Mount;
import radiod.cluster.model.Redact;
import radiod.cluster.model.Transcoding;

/**
 * A mount as radioctl shows it ({@code --json} documents of create-mount, show-mount, list-mounts …).
 *
 * @param type             {@code live} (an encoder sends it), {@code relay} (the master pulls an upstream URL)
 *                         or {@code transcoded} (made from another mount)
 * @param sourcePassword   null unless the command shows it (create, or {@code --show-password})
 * @param upstreamUrl      the relayed URL, its password shown as {@code ***} unless {@link #withSecrets} was asked
 * @param modRevision      the etcd revision of the mount's last change: what edit-mount's {@code --if-revision}
 *                         compares with
 * @param transcodedMounts mounts made from this one
 * @param urls             where broadcasters and listeners go; null where not shown
 * @param title            the song title now; null where not shown or when there is none
 * @param encoderOn        the nodes holding the mount's encoder now; null where not shown
 */
public record MountReport(String path, String type, String sourceUser, String sourcePassword, String upstreamUrl,
                          String fallbackMount, int maxListeners, int bitrateKbps, Transcoding transcoding,
                          long modRevision, List<String> transcodedMounts, MountUrls urls, String title,
                          List<String> encoderOn) {
    /**
     * @param withPassword whether the source password is shown; the upstream URL's password never is (see
     *                     {@link #withSecrets(Mount)})
     */
    public static MountReport of(Mount m, long modRevision, boolean withPassword, List<String> transcodedMounts,
                                 MountUrls urls) {
        return new MountReport(m.path(), type(m), m.sourceUser(), withPassword ? m.sourcePassword() : null,
                Redact.url(m.upstreamUrl()), m.fallbackMount(), m.maxListeners(), m.bitrateKbps(), m.transcoding(),
                modRevision, List.copyOf(transcodedMounts), urls, null, null);
    }

    /** The same report with the mount's secrets: its source password and its upstream URL whole. */
    public MountReport withSecrets(Mount m) {
        return new MountReport(path, type, sourceUser, m.sourcePassword(), m.upstreamUrl(), fallbackMount, maxListeners,
                bitrateKbps, transcoding, modRevision, transcodedMounts, urls, title, encoderOn);
    }

    /** The same report with what is on air now. */
    public MountReport withNowPlaying(String nowTitle, List<String> nodes) {
        return new MountReport(path, type, sourceUser, sourcePassword, upstreamUrl, fallbackMount, maxListeners,
                bitrateKbps, transcoding, modRevision, transcodedMounts, urls, nowTitle, List.copyOf(nodes));
    }

    public static String type(Mount m) {
        return m.isTranscoded() ? "transcoded" : m.upstreamUrl() != null ? "relay" : "live";
    }

    /** One phrase on where the mount's audio comes from (an upstream URL without its password). */
    public static String origin(Mount m) {
        if (m.isTranscoded()) {
            Transcoding t = m.transcoding();
            return t.codec() + " " + t.bitrateKbps() + "k from " + t.sourceMount();
        }
        return m.upstreamUrl() != null ? Redact.url(m.upstreamUrl()) : "encoder";
    }

    public static String bitrate(Mount m) {
        return m.bitrateKbps() == 0 ? Mount.DEFAULT_BITRATE_KBPS + " kbit/s (assumed)" : m.bitrateKbps() + " kbit/s";
    }

    public static String describeTranscoding(Transcoding t) {
        return t.codec() + " " + t.bitrateKbps() + " kbit/s, " + t.sampleRate() + " Hz, "
                + (t.channels() == 1 ? "mono" : "stereo") + (t.quality() == null ? "" : ", quality " + t.quality())
                + ", from " + t.sourceMount();
    }
}
