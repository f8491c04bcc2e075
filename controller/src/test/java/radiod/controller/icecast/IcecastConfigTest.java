package radiod.controller.icecast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    @Test
    void masterConfigHasAMountPerPlanMountWithItsCredentialsAndLimits() throws Exception {
        IcecastPlan plan = IcecastPlan.master(List.of(MountPlan.onMaster(LIVE), MountPlan.onMaster(JAZZ)));

        Element root = parse(IcecastConfig.render(SETTINGS, plan));

        List<Element> mounts = children(root, "mount");
        assertEquals(2, mounts.size());
        Element jazz = mounts.get(0);
        Element live = mounts.get(1);
        assertEquals("/jazz.mp3", text(jazz, "mount-name"));
        assertEquals("dj", text(jazz, "username"));
        assertEquals("jazzpw", text(jazz, "password"));
        assertEquals("/live.mp3", text(jazz, "fallback-mount"));
        assertEquals("1", text(jazz, "fallback-override"));
        assertEquals(NASTY, text(live, "password"), "escaped and read back unchanged");
        assertEquals(String.valueOf(100 + IcecastConfig.RELAY_HEADROOM), text(live, "max-listeners"));
        assertTrue(children(root, "relay").isEmpty());
    }

    @Test
    void masterRelaysAMountWithAnUpstreamUrlFromThatUrl() throws Exception {
        Element root = parse(IcecastConfig.render(SETTINGS, IcecastPlan.master(List.of(MountPlan.onMaster(UPSTREAM)))));

        Element relay = children(root, "relay").get(0);
        assertEquals("stream.example.org", text(relay, "server"));
        assertEquals("8443", text(relay, "port"));
        assertEquals("/world.mp3?token=a&x=1", text(relay, "mount"));
        assertEquals("/world.mp3", text(relay, "local-mount"));
        assertEquals("user", text(relay, "username"));
        assertEquals("p@ss", text(relay, "password"));
        assertEquals("0", text(relay, "on-demand"));
        assertEquals("worldpw", text(children(root, "mount").get(0), "password"));
    }

    @Test
    void relayConfigPullsEveryMountFromTheMasterAlwaysConnectedAndAcceptsNoSource() throws Exception {
        IcecastPlan plan = IcecastPlan.relay("127.0.0.12", 8101, List.of(MountPlan.onRelay(LIVE), MountPlan.onRelay(JAZZ)));

        Element root = parse(IcecastConfig.render(SETTINGS, plan));

        List<Element> relays = children(root, "relay");
        assertEquals(2, relays.size());
        for (Element r : relays) {
            assertEquals("127.0.0.12", text(r, "server"));
            assertEquals("8101", text(r, "port"));
            assertEquals(text(r, "mount"), text(r, "local-mount"));
            assertEquals("0", text(r, "on-demand"));
        }
        assertEquals(Set.of("/jazz.mp3", "/live.mp3"), Set.of(text(relays.get(0), "mount"), text(relays.get(1), "mount")));
        for (Element m : children(root, "mount")) {
            assertEquals(null, text(m, "password"), "a relay's mounts use the random global password");
        }
        assertEquals("/live.mp3", text(children(root, "mount").get(0), "fallback-mount"), "jazz falls back to live");
        assertEquals("100", text(children(root, "mount").get(1), "max-listeners"), "no relay headroom on a relay");
        assertEquals("1", text(root, "master-update-interval"), "failed relays retry every 2 s, not every 120 s");
        assertEquals(Set.of("admin-random-1", "source-random-1"), allPasswords(root));
    }

    @Test
    void standbyServesNothingAndEveryConfigCarriesTheNodesOwnSettings() throws Exception {
        Element root = parse(IcecastConfig.render(SETTINGS, IcecastPlan.STANDBY));

        assertTrue(children(root, "mount").isEmpty() && children(root, "relay").isEmpty());
        assertEquals("127.0.0.11", text(root, "listen-socket/bind-address"));
        assertEquals("8100", text(root, "listen-socket/port"));
        assertEquals("node1.radio.test", text(root, "hostname"));
        assertEquals("Berlin <studio>", text(root, "location"));
        assertEquals("admin", text(root, "authentication/admin-user"));
        assertEquals("admin-random-1", text(root, "authentication/admin-password"));
        assertEquals("source-random-1", text(root, "authentication/source-password"));
        assertEquals("5000", text(root, "limits/clients"));
        assertEquals("1", text(root, "limits/burst-on-connect"));
        assertTrue(Integer.parseInt(text(root, "limits/burst-size")) <= Integer.parseInt(text(root, "limits/queue-size")));
        assertEquals("/var/lib/radiod/icecast/log", text(root, "paths/logdir"));
        assertEquals("/var/lib/radiod/icecast/icecast.pid", text(root, "paths/pidfile"));
        assertEquals("/usr/share/icecast2/web", text(root, "paths/webroot"));
        assertEquals("icecast2", text(root, "security/changeowner/user"));
        assertEquals("icecast", text(root, "security/changeowner/group"));
    }

    @Test
    void noChangeownerWhenNotRunningAsRoot() throws Exception {
        Element root = parse(IcecastConfig.render(SETTINGS.withRunAs(null, null), IcecastPlan.STANDBY));

        assertEquals(null, text(root, "security/changeowner"));
        assertEquals("0", text(root, "security/chroot"));
    }

    @Test
    void theOnlyPasswordsAreTheNodesRandomOnesAndThePlansMountCredentials() throws Exception {
        IcecastPlan plan = IcecastPlan.master(List.of(MountPlan.onMaster(LIVE), MountPlan.onMaster(JAZZ)));

        Set<String> passwords = allPasswords(parse(IcecastConfig.render(SETTINGS, plan)));

        assertEquals(Set.of("admin-random-1", "source-random-1", NASTY, "jazzpw"), passwords);
        assertFalse(IcecastConfig.render(SETTINGS, plan).contains("hackme"), "no Debian default password");
    }

    @Test
    void renderingIsAFunctionOfItsInputs() {
        IcecastPlan a = IcecastPlan.relay("127.0.0.12", 8100, List.of(MountPlan.onRelay(LIVE), MountPlan.onRelay(JAZZ)));
        IcecastPlan b = IcecastPlan.relay("127.0.0.12", 8100, List.of(MountPlan.onRelay(JAZZ), MountPlan.onRelay(LIVE)));

        assertEquals(IcecastConfig.render(SETTINGS, a), IcecastConfig.render(SETTINGS, b));
    }

    @Test
    void escapingDropsWhatXmlCannotCarry() {
        assertEquals("a&lt;b&gt;&amp;&quot;&apos;c", IcecastConfig.escape("a<b>&\"'c\u0000\u0007"));
    }
}
