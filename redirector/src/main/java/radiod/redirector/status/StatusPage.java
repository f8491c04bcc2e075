package radiod.redirector.status;

import java.util.Locale;
import java.util.Map;

/** The status page: server-rendered HTML, no scripts, no external assets; every value escaped. */
public final class StatusPage {
    private StatusPage() {
    }

    public static String render(ClusterStatus s) {
        StringBuilder h = new StringBuilder(4096);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta http-equiv=\"refresh\" content=\"5\"><title>radiod: ").append(esc(s.self())).append("</title>")
                .append("<style>body{font:15px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}")
                .append("th,td{border:1px solid #ccc;padding:.3em .7em;text-align:left}th{background:#f0f0f0}")
                .append(".up{color:#070}.down{color:#b00}.drained{color:#a60}.master{font-weight:bold}</style></head><body>\n");
        h.append("<h1>radiod cluster</h1>\n<p>This page is served by <b>").append(esc(s.self())).append("</b>")
                .append(s.selfIsMaster() ? " (master)" : "").append(". Master: <b>")
                .append(s.master() == null ? "none elected" : esc(s.master())).append("</b>. etcd revision ")
                .append(s.revision()).append(".</p>\n");
        h.append("<h2>Nodes</h2>\n<table><tr><th>node</th><th>role</th><th>state</th><th>addresses</th><th>listeners</th>")
                .append("<th>bandwidth used / limit</th><th>transcoders</th></tr>\n");
        for (ClusterStatus.Node n : s.nodes()) {
            String css = n.state().equals("up") ? "up" : n.state().equals("drained") ? "drained" : "down";
            h.append("<tr><td class=\"").append(n.master() ? "master" : "").append("\">").append(esc(n.name()))
                    .append("</td><td>").append(n.role()).append("</td><td class=\"").append(css).append("\">")
                    .append(esc(n.state())).append("</td><td>").append(esc(String.join(", ", n.addresses())))
                    .append("</td><td>").append(n.listeners()).append(n.maxListeners() > 0 ? " / " + n.maxListeners() : "")
                    .append("</td><td>").append(mbps(n.bandwidthBps())).append(" / ")
                    .append(n.maxBandwidthBps() > 0 ? mbps(n.maxBandwidthBps()) : "no limit").append("</td><td>")
                    .append(esc(String.join(", ", n.transcoders()))).append("</td></tr>\n");
        }
        h.append("</table>\n<h2>Mounts</h2>\n<table><tr><th>mount</th><th>live</th>");
        for (ClusterStatus.Node n : s.nodes()) {
            h.append("<th>").append(esc(n.name())).append("</th>");
        }
        h.append("<th>total listeners</th></tr>\n");
        for (ClusterStatus.MountRow m : s.mounts()) {
            h.append("<tr><td>").append(esc(m.path())).append(m.transcodedFrom() == null ? "" : " <small>(from "
                    + esc(m.transcodedFrom()) + ")</small>").append("</td><td>").append(m.live() ? "yes" : "no").append("</td>");
            Map<String, Integer> byNode = m.listenersByNode();
            for (ClusterStatus.Node n : s.nodes()) {
                Integer c = byNode.get(n.name());
                h.append("<td>").append(c == null ? "–" : c.toString()).append("</td>");
            }
            h.append("<td><b>").append(m.total()).append("</b></td></tr>\n");
        }
        h.append("</table>\n</body></html>\n");
        return h.toString();
    }

    private static String mbps(long bps) {
        return String.format(Locale.ROOT, "%.1f Mbit/s", bps / 1e6);
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
