package radiod.radioctl.output;

import java.util.ArrayList;
import java.util.List;

import radiod.cluster.model.Mount;

/** The human form of a {@link MountReport}: its settings, then what broadcasters and listeners use. */
public final class MountText {
    private MountText() {
    }

    /**
     * @param mount the stored mount (its password is shown only if the report carries it)
     */
    public static String render(MountReport r, Mount mount) {
        List<String[]> fields = new ArrayList<>();
        fields.add(new String[] {"type", r.type()});
        if (r.transcoding() != null) {
            fields.add(new String[] {"transcoding", MountReport.describeTranscoding(r.transcoding())});
        }
        if (r.upstreamUrl() != null) {
            fields.add(new String[] {"relays", r.upstreamUrl()});
        }
        fields.add(new String[] {"source user", r.sourceUser()});
        fields.add(new String[] {"source password",
                r.sourcePassword() != null ? r.sourcePassword() : "(hidden; --show-password shows it)"});
        fields.add(new String[] {"bitrate", MountReport.bitrate(mount)});
        fields.add(new String[] {"max listeners", r.maxListeners() == 0 ? "no limit" : r.maxListeners() + " per node"});
        if (r.encoderOn() != null) {
            fields.add(new String[] {"encoder", r.encoderOn().isEmpty() ? "none connected"
                    : "connected to " + String.join(", ", r.encoderOn())});
        }
        if (r.title() != null) {
            fields.add(new String[] {"now playing", r.title()});
        }
        fields.add(new String[] {"fallback", r.fallbackMount() == null ? "-" : r.fallbackMount()});
        if (!r.transcodedMounts().isEmpty()) {
            fields.add(new String[] {"transcoded to", String.join(", ", r.transcodedMounts())});
        }
        fields.add(new String[] {"revision", Long.toString(r.modRevision())});

        StringBuilder sb = new StringBuilder();
        int width = fields.stream().mapToInt(f -> f[0].length()).max().orElse(0);
        for (String[] f : fields) {
            sb.append("  ").append(f[0]).append(" ".repeat(width - f[0].length() + 2)).append(f[1]).append('\n');
        }
        MountUrls urls = r.urls();
        if (urls == null) {
            return sb.toString();
        }
        if (urls.isEmpty()) {
            sb.append("no node is live and no cluster URL is set (--cluster-url, or cluster_url in the config),\n")
                    .append("so there are no URLs to show yet: encoders use http://NODE:8000").append(r.path())
                    .append(", listeners http://NODE").append(r.path()).append('\n');
            return sb.toString();
        }
        if (r.type().equals("live")) {
            sb.append("broadcasters (Icecast source protocol, any node):\n");
            for (String s : urls.source()) {
                sb.append("  ").append(s).append('\n');
            }
            if (r.sourcePassword() != null) {
                sb.append("  ").append(MountUrls.icecastUrl(urls.source().get(0), r.sourceUser(), r.sourcePassword()))
                        .append("   (ffmpeg, liquidsoap)\n");
            }
        }
        sb.append("listeners:\n");
        for (String s : urls.listen()) {
            sb.append("  ").append(s).append('\n');
        }
        sb.append("  ").append(String.join("  ", urls.playlists())).append('\n');
        return sb.toString();
    }
}
