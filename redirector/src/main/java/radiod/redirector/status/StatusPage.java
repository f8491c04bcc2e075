package radiod.redirector.status;

import java.util.Locale;

/**
 * The status page: one server-rendered HTML document with its own small stylesheet, no scripts and no external
 * assets (it reloads itself every 10 s with a meta refresh). Every value from the cluster is escaped.
 */
public final class StatusPage {
    private StatusPage() {
    }

    public static String render(ClusterStatus s) {
        StringBuilder h = new StringBuilder(4096);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta http-equiv=\"refresh\" content=\"10\">")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
                .append("<title>radiod — ").append(esc(s.self())).append("</title><style>")
                .append("body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:70em;")
                .append("padding:0 1em;color:#1d2330;background:#fafbfc}h1{font-size:1.6em;margin:0 0 .3em}")
                .append("h2{font-size:1.15em;margin:1.6em 0 .4em}p.meta{color:#555;margin:0}")
                .append("table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0001}")
                .append("th,td{border-bottom:1px solid #e3e6ea;padding:.45em .8em;text-align:left}")
                .append("th{background:#eef1f5;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}")
                .append(".tag{display:inline-block;padding:0 .55em;border-radius:1em;font-size:.85em;font-weight:600}")
                .append(".up{background:#ddf4e4;color:#13652f}.down{background:#fde2e1;color:#a1130d}")
                .append(".drained{background:#fff1d6;color:#8a5200}.master{background:#dfe9ff;color:#1f3f99}")
                .append(".relay{background:#eceff3;color:#444}.self{font-weight:700}.none{color:#999}")
                .append(".unread{background:#fde2e1;color:#a1130d;padding:.5em .8em;border-radius:.3em}</style></head><body>\n");
        h.append("<h1>radiod cluster</h1>\n<p class=\"meta\">Served by <b>").append(esc(s.self())).append("</b> (")
                .append(s.selfIsMaster() ? "master" : "relay").append(") · master: <b id=\"master\">")
                .append(s.master() == null ? "none elected" : esc(s.master())).append("</b> · ")
                .append(s.nodes().size()).append(s.nodes().size() == 1 ? " node" : " nodes").append(" · ")
                .append(s.totalListeners()).append(" listeners · etcd revision ").append(s.revision()).append("</p>\n");
        if (!s.read()) {
            h.append("<p class=\"unread\" id=\"unread\">This node has not read the cluster from etcd yet (etcd does not")
                    .append(" answer it): the nodes and mounts are not known here, not absent. Ask another node.</p>\n");
        }

        h.append("<h2>Nodes</h2>\n<table id=\"nodes\"><tr><th>node</th><th>role</th><th>state</th><th>address</th>")
                .append("<th>listeners</th><th>bandwidth used / limit</th><th>transcoders</th></tr>\n");
        if (s.nodes().isEmpty()) {
            h.append("<tr><td colspan=\"7\" class=\"none\">")
                    .append(s.read() ? "no node has published its status" : "not read from etcd yet").append("</td></tr>\n");
        }
        for (ClusterStatus.Node n : s.nodes()) {
            h.append("<tr><td").append(n.name().equals(s.self()) ? " class=\"self\"" : "").append('>').append(esc(n.name()))
                    .append("</td><td><span class=\"tag ").append(n.role()).append("\">").append(n.role()).append("</span>")
                    .append("</td><td><span class=\"tag ").append(n.state()).append("\">").append(n.state()).append("</span>")
                    .append("</td><td>").append(esc(n.addresses().get(0))).append(':').append(n.httpPort())
                    .append("</td><td class=\"n\">").append(n.listeners())
                    .append(n.maxListeners() > 0 ? " / " + n.maxListeners() : "")
                    .append("</td><td class=\"n\">").append(mbps(n.bandwidthBps())).append(" / ")
                    .append(n.maxBandwidthBps() > 0 ? mbps(n.maxBandwidthBps()) : "no limit")
                    .append("</td><td>").append(n.transcoders().isEmpty() ? "–" : esc(String.join(", ", n.transcoders())))
                    .append("</td></tr>\n");
        }
        h.append("</table>\n");

        h.append("<h2>Mounts</h2>\n<table id=\"mounts\"><tr><th>mount</th><th>live</th>");
        for (ClusterStatus.Node n : s.nodes()) {
            h.append("<th>").append(esc(n.name())).append("</th>");
        }
        h.append("<th>cluster total</th></tr>\n");
        if (s.mounts().isEmpty()) {
            h.append("<tr><td colspan=\"").append(s.nodes().size() + 3).append("\" class=\"none\">")
                    .append(s.read() ? "no mount defined" : "not read from etcd yet").append("</td></tr>\n");
        }
        for (ClusterStatus.MountRow m : s.mounts()) {
            h.append("<tr><td>");
            if (m.url() != null) {
                h.append("<a class=\"listen\" href=\"").append(esc(m.url())).append("\">").append(esc(m.path())).append("</a>");
            } else {
                h.append(esc(m.path()));
            }
            if (m.transcodedFrom() != null) {
                h.append(" <small>(").append(m.bitrateKbps()).append(" kbit/s from ").append(esc(m.transcodedFrom()))
                        .append(")</small>");
            }
            if (m.title() != null && !m.title().isEmpty()) {
                h.append("<br><small class=\"title\">♪ ").append(esc(m.title())).append("</small>");
            }
            h.append("</td><td>").append(m.live() ? "<span class=\"tag up\">live</span>" : "<span class=\"tag down\">off air</span>")
                    .append("</td>");
            for (ClusterStatus.Node n : s.nodes()) {
                Integer c = m.listenersByNode().get(n.name());
                h.append(c == null ? "<td class=\"n none\">–</td>" : "<td class=\"n\">" + c + "</td>");
            }
            h.append("<td class=\"n\"><b>").append(m.total()).append("</b></td></tr>\n");
        }
        h.append("</table>\n<p class=\"meta\"><small>Machine-readable: <a href=\"/status.json\">/status.json</a> · ")
                .append("<a href=\"/metrics\">/metrics</a></small></p>\n</body></html>\n");
        return h.toString();
    }

    private static String mbps(long bps) {
        return String.format(Locale.ROOT, "%.1f Mbit/s", bps / 1e6);
    }

    /** HTML-escapes text for element content and quoted attribute values. */
    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
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
