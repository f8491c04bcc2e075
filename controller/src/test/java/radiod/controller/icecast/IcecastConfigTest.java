package radiod.controller.icecast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

import radiod.cluster.model.Mount;
import radiod.controller.icecast.IcecastPlan.MountPlan;

/**
 * The Icecast config radiod renders is the same on every node: loopback only, the node's two random passwords, a
 * mount only for a fallback, no relay or master, limits that hold radiod's own connections.
 */
class IcecastConfigTest {
    static final IcecastSettings SETTINGS = new IcecastSettings(Path.of("/usr/bin/icecast2"), Path.of("/var/lib/radiod/icecast"),
            "127.0.0.11", 8100, "node1.radio.test", "admin-random-1", "source-random-1", 5000, 100, "icecast2", "icecast",
            "Berlin <studio>", "ops@radio.test");
    /** A password with every XML metacharacter, as etcd may hold it. */
    static final String NASTY = "p<&>\"'w";
    static final Mount LIVE = new Mount("/live.mp3", "source", NASTY, null, null, 100, 128, null);
    static final Mount JAZZ = new Mount("/jazz.mp3", "dj", "jazzpw", null, "/live.mp3", 0, 0, null);
    static final Mount UPSTREAM = new Mount("/world.mp3", "source", "worldpw",
            "http://user:p%40ss@stream.example.org:8443/world.mp3?token=a&x=1", null, 0, 0, null);

    static IcecastPlan plan(Mount... mounts) {
        return new IcecastPlan(List.of(mounts).stream().map(MountPlan::of).toList());
    }

    static Element parse(String xml) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        Document d = f.newDocumentBuilder().parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
        return d.getDocumentElement();
    }

    static List<Element> children(Element parent, String name) {
        List<Element> out = new ArrayList<>();
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) {
                out.add(e);
            }
        }
        return out;
    }

    static String text(Element parent, String path) {
        Element e = parent;
        for (String name : path.split("/")) {
            List<Element> c = children(e, name);
            if (c.isEmpty()) {
                return null;
            }
            e = c.get(0);
        }
        return e.getTextContent();
    }

    static Set<String> allPasswords(Element root) {
        Set<String> out = new java.util.HashSet<>();
        NodeList all = root.getElementsByTagName("*");
        for (int i = 0; i < all.getLength(); i++) {
            Element e = (Element) all.item(i);
            if (e.getTagName().contains("password")) {
                out.add(e.getTextContent());
            }
        }
        return out;
    }

    static Set<String> tagNames(Element root) {
        Set<String> out = new java.util.HashSet<>();
        NodeList all = root.getElementsByTagName("*");
        for (int i = 0; i < all.getLength(); i++) {
            out.add(((Element) all.item(i)).getTagName());
        }
        return out;
    }

    @Test
    void aMountIsDeclaredOnlyForItsFallbackAndCarriesNoCredentialsOrLimit() throws Exception {
        Element root = parse(IcecastConfig.render(SETTINGS, plan(LIVE, JAZZ, UPSTREAM)));

        List<Element> mounts = children(root, "mount");
        assertEquals(1, mounts.size(), "only /jazz.mp3 has a fallback");
        Element jazz = mounts.get(0);
        assertEquals("normal", jazz.getAttribute("type"));
        assertEquals("/jazz.mp3", text(jazz, "mount-name"));
        assertEquals("/live.mp3", text(jazz, "fallback-mount"));
        assertEquals("1", text(jazz, "fallback-override"), "listeners move back when the feed returns");
        assertEquals("16000", text(jazz, "mp3-metadata-interval"),
                "Icecast's default, so that Icecast never reads it from a leaving source's request (IcecastFallbackRaceIT)");
        assertEquals(List.of("mount-name", "fallback-mount", "fallback-override", "mp3-metadata-interval"), childNames(jazz),
                "no username, password or max-listeners: the global source password applies");
    }

    static List<String> childNames(Element e) {
        List<String> out = new ArrayList<>();
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element c) {
                out.add(c.getTagName());
            }
        }
        return out;
    }

    @Test
    void noRelayNoRelayCredentialsAndNoMasterInAnyConfig() throws Exception {
        String xml = IcecastConfig.render(SETTINGS, plan(LIVE, JAZZ, UPSTREAM));
        Set<String> tags = tagNames(parse(xml));

        for (String gone : List.of("relay", "relay-user", "relay-password", "master-server", "master-server-port",
                "master-username", "master-password", "master-update-interval", "username", "password", "max-listeners")) {
            assertFalse(tags.contains(gone), "<" + gone + "> in\n" + xml);
        }
        assertFalse(xml.contains("stream.example.org"), "an upstream URL is pulled by radiod, not by Icecast");
    }

    @Test
    void everyConfigCarriesTheNodesOwnSettings() throws Exception {
        Element root = parse(IcecastConfig.render(SETTINGS, IcecastPlan.EMPTY));

        assertTrue(children(root, "mount").isEmpty() && children(root, "relay").isEmpty());
        assertEquals("127.0.0.11", text(root, "listen-socket/bind-address"));
        assertEquals("8100", text(root, "listen-socket/port"));
        assertEquals("node1.radio.test", text(root, "hostname"));
        assertEquals("Berlin <studio>", text(root, "location"));
        assertEquals("admin", text(root, "authentication/admin-user"));
        assertEquals("admin-random-1", text(root, "authentication/admin-password"));
        assertEquals("source-random-1", text(root, "authentication/source-password"));
        assertEquals("5000", text(root, "limits/clients"));
        assertEquals("100", text(root, "limits/sources"));
        assertEquals("1", text(root, "limits/burst-on-connect"));
        assertTrue(Integer.parseInt(text(root, "limits/burst-size")) <= Integer.parseInt(text(root, "limits/queue-size")));
        assertEquals("/var/lib/radiod/icecast/log", text(root, "paths/logdir"));
        assertEquals("/var/lib/radiod/icecast/icecast.pid", text(root, "paths/pidfile"));
        assertEquals("/usr/share/icecast2/web", text(root, "paths/webroot"));
        assertEquals("icecast2", text(root, "security/changeowner/user"));
        assertEquals("icecast", text(root, "security/changeowner/group"));
    }

    @Test
    void theSourceLimitCoversEveryMountDeclaredOrNot() throws Exception {
        Element root = parse(IcecastConfig.render(SETTINGS.withLimits(5000, 1), plan(LIVE, JAZZ, UPSTREAM)));

        assertEquals("3", text(root, "limits/sources"), "every mount is fed, declared or not");
    }

    @Test
    void icecastListensOnItsLoopbackAddressOnly() throws Exception {
        Element root = parse(IcecastConfig.render(SETTINGS, plan(LIVE, JAZZ)));

        List<Element> sockets = children(root, "listen-socket");
        assertEquals(1, sockets.size(), "one listen socket");
        assertEquals(List.of("port", "bind-address"), childNames(sockets.get(0)), "no socket without a bind address");
        assertEquals("127.0.0.11", text(root, "listen-socket/bind-address"));
    }

    @Test
    void theClientLimitAlwaysHoldsRadiodsOwnConnections() throws Exception {
        List<Mount> many = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            many.add(new Mount("/m" + i + ".mp3", "source", "pw", null, null, 0, 128, null));
        }
        Element root = parse(IcecastConfig.render(SETTINGS.withLimits(10, 1), plan(many.toArray(Mount[]::new))));

        // A feed and a transcoder's read per mount, and the passthrough's pool of 1,000 local connections.
        int needed = 1000 + 2 * many.size();
        assertTrue(Integer.parseInt(text(root, "limits/clients")) >= needed,
                "<clients> " + text(root, "limits/clients") + " leaves no room for radiod's " + needed + " connections");
        assertEquals("5000", text(parse(IcecastConfig.render(SETTINGS, plan(LIVE, JAZZ))), "limits/clients"),
                "a higher configured limit stands, so a new mount needs no reload");
    }

    @Test
    void noChangeownerWhenNotRunningAsRoot() throws Exception {
        Element root = parse(IcecastConfig.render(SETTINGS.withRunAs(null, null), IcecastPlan.EMPTY));

        assertNull(text(root, "security/changeowner"));
        assertEquals("0", text(root, "security/chroot"));
    }

    @Test
    void theOnlyPasswordsAreTheNodesTwoRandomOnes() throws Exception {
        IcecastPlan plan = plan(LIVE, JAZZ, UPSTREAM);
        String xml = IcecastConfig.render(SETTINGS, plan);

        assertEquals(Set.of("admin-random-1", "source-random-1"), allPasswords(parse(xml)));
        for (String secret : List.of("jazzpw", "worldpw", "p%40ss", "p@ss", IcecastConfig.escape(NASTY), "hackme")) {
            assertFalse(xml.contains(secret), "no mount's or upstream's password and no Debian default: " + secret);
        }
    }

    @Test
    void renderingIsAFunctionOfItsInputs() {
        IcecastPlan a = plan(LIVE, JAZZ);
        IcecastPlan b = plan(JAZZ, LIVE);
        Mount liveElsewhere = new Mount("/live.mp3", "x", "other", null, null, 3, 64, null);

        assertEquals(IcecastConfig.render(SETTINGS, a), IcecastConfig.render(SETTINGS, b));
        assertEquals(IcecastConfig.render(SETTINGS, a), IcecastConfig.render(SETTINGS, plan(liveElsewhere, JAZZ)),
                "what Icecast does not use does not change the file");
        assertFalse(IcecastConfig.render(SETTINGS, a).equals(IcecastConfig.render(SETTINGS, plan(LIVE))));
    }

    @Test
    void escapingDropsWhatXmlCannotCarry() {
        assertEquals("a&lt;b&gt;&amp;&quot;&apos;c", IcecastConfig.escape("a<b>&\"'c\u0000\u0007"));
    }
}
