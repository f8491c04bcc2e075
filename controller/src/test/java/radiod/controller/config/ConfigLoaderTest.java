package radiod.controller.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * radiod.yml gets its documented defaults and shape, and every wrong value stops radiod with one line that names the
 * field (or the file) and what is allowed.
 */
class ConfigLoaderTest {
    private static final String MINIMAL = "node:\n  name: node1\n  addresses: [127.0.0.11]\n";

    @Test
    void aMinimalConfigGetsTheDocumentedDefaults() throws Exception {
        RadiodConfig c = ConfigLoader.parse("t", MINIMAL);
        assertEquals("127.0.0.11", c.node().bind());
        assertEquals(80, c.http().port());
        assertEquals(8000, c.source().port());
        assertEquals(53, c.dns().port());
        assertEquals(8100, c.icecast().port());
        assertEquals(5, c.etcd().leaseTtl());
        assertEquals("/radiod/", c.etcd().prefix());
        assertEquals(RadiodConfig.Balancer.DEFAULT_PIPELINE, c.balancer().pipeline());
        assertTrue(c.http().accessLogFile().isEmpty(), "no access log unless one is configured");
        assertEquals(java.util.List.of(), c.http().trustedProxies());
    }

    @Test
    void theAccessLogAndTrustedProxiesAreCheckedAndNamed() throws Exception {
        RadiodConfig c = ConfigLoader.parse("t", MINIMAL + "http:\n  port: 80\n  access_log: /var/log/radiod/access.log\n"
                + "  trusted_proxies: [10.0.0.0/8, \"2001:db8::/32\", 192.0.2.7]\n");
        assertEquals(Path.of("/var/log/radiod/access.log"), c.http().accessLogFile().orElseThrow());
        assertEquals(3, c.http().trustedProxies().size());
        assertTrue(ConfigLoader.parse("t", MINIMAL + "http: {access_log: \"\"}\n").http().accessLogFile().isEmpty());
        assertError(MINIMAL + "http: {access_log: access.log}\n", "http.access_log: 'access.log' is not an absolute file path");
        assertError(MINIMAL + "http: {access_log: /var/log/radiod/}\n", "http.access_log");
        assertError(MINIMAL + "http: {trusted_proxies: [10.0.0.0/33]}\n", "http.trusted_proxies: '10.0.0.0/33'");
        assertError(MINIMAL + "http: {trusted_proxies: [proxy.example.org]}\n",
                "http.trusted_proxies: 'proxy.example.org' is not an IP address or CIDR range");
    }

    @Test
    void theFullDocumentedShapeIsAccepted() throws Exception {
        String yaml = """
                node:
                  name: node1
                  addresses: [203.0.113.10, "2001:db8::10"]
                  bind: 0.0.0.0
                etcd:
                  endpoints: [http://127.0.0.1:2379, http://127.0.0.2:2379]
                  prefix: /radio/
                  lease_ttl: 3
                  username: radiod
                  password: secret
                  tls: {ca_file: null, cert_file: null, key_file: null}
                http: {port: 8080, access_log: /var/log/radiod/access.log, trusted_proxies: [10.0.0.0/8]}
                source: {port: 8001}
                dns:
                  enabled: true
                  port: 5353
                  zone: radio.example.org
                  nameservers: [ns1.radio.example.org]
                  ttl: 5
                  max_answers: 8
                  alias: stream
                icecast: {binary: /usr/bin/icecast2, port: 8100, dir: /var/lib/radiod/icecast, user: icecast2}
                limits: {max_listeners: 500, max_bandwidth_mbps: 100}
                balancer: {pipeline: "icecast_active,weighted"}
                transcoder: {liquidsoap: /usr/bin/liquidsoap}
                """;
        RadiodConfig c = ConfigLoader.parse("t", yaml);
        assertEquals(3, c.etcd().leaseTtl());
        assertEquals(100, c.limits().maxBandwidthMbps());
        assertEquals("2001:db8::10", c.node().addresses().get(1));
    }

    @Test
    void aBadFieldIsNamedInTheError() {
        assertMessage(MINIMAL + "dns: {ttl: 0}\n", "dns.ttl"); // 0 means default: fine
        assertError(MINIMAL + "dns: {ttl: 99999}\n", "dns.ttl must be between 1 and 3600 seconds, got 99999");
        assertError(MINIMAL + "http: {port: 70000}\n", "http.port must be between 1 and 65535, got 70000");
        assertError(MINIMAL + "http: {port: nope}\n", "http.port");
        assertError(MINIMAL + "etcd: {lease_ttl: 1}\n", "etcd.lease_ttl must be between 2 and 60");
        assertError(MINIMAL + "etcd: {endpoints: [localhost]}\n", "etcd.endpoints: 'localhost'");
        assertError(MINIMAL + "htp: {port: 80}\n", "htp is not a known setting");
        assertError(MINIMAL + "http: {prot: 80}\n", "http.prot is not a known setting");
        assertError("node:\n  name: Node_1\n  addresses: [127.0.0.1]\n", "node.name");
        assertError("node:\n  name: n1\n  addresses: [example.org]\n", "node.addresses: 'example.org'");
        assertError("node:\n  name: n1\n", "node.addresses");
        assertError("http: {port: 80}\n", "node: the section is required");
        assertError(MINIMAL + "source: {port: 8100}\n", "icecast.port: 8100 is already used by source.port");
        assertError("node:\n  name: \"unterminated\n", "not valid YAML");
        assertError("", "empty");
    }

    @Test
    void whatANodeBuildsAtStartIsCheckedWhenTheConfigIsRead() {
        // Each of these passed the loader and stopped radiod at start with a message that named no setting.
        assertError(MINIMAL + "dns: {zone: true, nameservers: [ns1.radio.example.org=192.0.2.1]}\n", "dns.nameservers");
        assertError(MINIMAL + "dns: {zone: a..b}\n", "dns.zone");
        assertError(MINIMAL + "dns: {alias: a.b}\n", "dns.alias");
        assertError(MINIMAL + "balancer: {proxy_user_agents: ['^xmms/', '(']}\n", "balancer.proxy_user_agents: ");
        assertError(MINIMAL + "balancer: {cluster_url: 'ftp://radio.example.org'}\n", "balancer.cluster_url: ");
        assertError(MINIMAL + "balancer: {pipeline: 'icecast_active,nope'}\n", "balancer.pipeline");
        assertMessage(MINIMAL + "dns: {enabled: false, zone: a..b}\n", "a disabled DNS server's zone is not used");
    }

    @Test
    void settingsThatPassedTheLoaderAndBrokeTheNodeLaterAreNamed() throws Exception {
        // DNS answers over TCP too: on the source port, Vert.x shared one socket and encoders met the DNS framing.
        assertError(MINIMAL + "dns: {port: 8000}\n", "dns.port: 8000 is already used by source.port");
        assertError(MINIMAL + "dns: {port: 80}\n", "dns.port: 80 is already used by http.port");
        assertMessage(MINIMAL + "dns: {enabled: false, port: 8000}\n", "a disabled DNS server opens no port");
        // Bits per second overflowed a long: the node's status was refused every second and it never joined.
        assertError(MINIMAL + "limits: {max_bandwidth_mbps: 10000000000000}\n",
                "limits.max_bandwidth_mbps must be 0 (no limit) to 1000000 (1 Tbit/s), got 10000000000000");
        assertEquals(1_000_000, ConfigLoader.parse("t", MINIMAL + "limits: {max_bandwidth_mbps: 1000000}\n").limits()
                .maxBandwidthMbps());
        // Published, these sent listeners and peers to themselves.
        for (String a : List.of("0.0.0.0", "::", "224.0.0.1", "ff02::1")) {
            assertError("node:\n  name: n1\n  addresses: ['" + a + "']\n", "node.addresses: '" + a + "' is not an "
                    + "address other hosts can reach");
        }
        assertEquals("0.0.0.0", ConfigLoader.parse("t", MINIMAL.replace("addresses:", "bind: 0.0.0.0\n  addresses:"))
                .node().bind());
        // Where the node's liquidsoaps reach its source port: a port bound to the node's address refuses loopback.
        assertEquals("127.0.0.1", ConfigLoader.parse("t", MINIMAL.replace("addresses:", "bind: 0.0.0.0\n  addresses:"))
                .node().ownAddress());
        assertEquals("127.0.0.1", ConfigLoader.parse("t", MINIMAL.replace("addresses:", "bind: '::'\n  addresses:"))
                .node().ownAddress());
        assertEquals("192.0.2.7", ConfigLoader.parse("t", MINIMAL.replace("addresses:", "bind: 192.0.2.7\n  addresses:"))
                .node().ownAddress());
        assertEquals("127.0.0.11", ConfigLoader.parse("t", MINIMAL).node().ownAddress());
        // One zone for DNS, HTTPS redirects and ACME: ACME ordered Radio.Example.org. and never matched its names.
        assertEquals("radio.example.org", ConfigLoader.parse("t", MINIMAL + "dns: {zone: Radio.Example.org.}\n").dns()
                .zone());
        String files = "tls: {certificate_file: /c.pem, key_file: /k.pem}\n";
        assertError(MINIMAL + "dns: {enabled: false, zone: 'x y'}\n" + files, "dns.zone");
        assertEquals("radio.test", ConfigLoader.parse("t", MINIMAL + "dns: {enabled: false, zone: Radio.Test}\n" + files)
                .dns().zone());
        // The alias and the nameservers answer before node names: this node would have lost <node>.<zone>.
        assertError(MINIMAL + "dns: {alias: node1}\n", "node.name: 'node1' is also dns.alias");
        assertError(MINIMAL + "dns: {zone: radio.test, nameservers: ['node1.radio.test=192.0.2.1', ns2.radio.test]}\n",
                "node.name: node1.radio.test is also a nameserver with fixed addresses");
        // As Ansible writes them: the nameservers are the nodes (each answers with its own addresses).
        assertMessage(MINIMAL + "dns: {zone: radio.test, nameservers: [node1.radio.test, node2.radio.test]}\n",
                "a nameserver named after the node");
        assertMessage("node:\n  name: ns1\n  addresses: [127.0.0.11]\n", "the default nameserver ns1.<zone>");
        assertMessage(MINIMAL + "dns: {zone: radio.test, nameservers: [node1.elsewhere.test]}\n", "outside the zone");
    }

    @Test
    void anAddressMustBeAnIpLiteralThatParses() {
        // Shaped like IPv6 (a colon, hex digits and dots) but no address: the DNS server refused it at start.
        assertError("node:\n  name: n1\n  addresses: ['1:27.0.0.11']\n", "node.addresses: '1:27.0.0.11'");
        assertError("node:\n  name: n1\n  addresses: ['::1', '1:2']\n", "node.addresses: '1:2'");
        assertMessage("node:\n  name: n1\n  addresses: ['::ffff:192.0.2.1', '2001:db8::1']\n", "valid");
    }

    @Test
    void anEmptyItemInAListIsNamed() {
        assertError("node:\n  name: n1\n  addresses: [192.0.2.1, null]\n", "node.addresses: item 2 is empty");
        assertError(MINIMAL + "etcd: {endpoints: [~]}\n", "etcd.endpoints: item 1 is empty");
        assertError(MINIMAL + "dns: {nameservers: [ns1.radio.example.org, null]}\n", "dns.nameservers: item 2 is empty");
        assertError(MINIMAL + "balancer: {proxy_user_agents: [null]}\n", "balancer.proxy_user_agents: item 1 is empty");
        assertError(MINIMAL + "http: {trusted_proxies: [192.0.2.7, ~]}\n", "http.trusted_proxies: item 2 is empty");
    }

    @Test
    void aNumberTooLargeForItsFieldIsNamedAndIsNoSyntaxError() {
        assertError(MINIMAL + "etcd: {lease_ttl: 99999999999}\n", "etcd.lease_ttl: 99999999999 is out of range");
        assertError(MINIMAL + "limits: {max_bandwidth_mbps: 99999999999999999999}\n", "limits.max_bandwidth_mbps: ");
    }

    /**
     * What databind, which read radiod.yml before jackson-jr, did with odd values, kept (ConfigCompatibilityFuzzTest
     * compares the two at large): quoted numbers and booleans read as such, a blank number is unset, a key given twice
     * counts as its last value; one change: a fraction is refused, where databind cut it to a whole number.
     */
    @Test
    void oddValuesAreReadAsBeforeAndAFractionIsNamed() throws Exception {
        RadiodConfig c = ConfigLoader.parse("t", MINIMAL + "http: {port: '8080'}\ndns: {enabled: 'false', ttl: ''}\n");
        assertEquals(8080, c.http().port());
        assertTrue(!c.dns().enabled());
        assertEquals(5, c.dns().ttl(), "blank: the default");
        assertEquals(8081, ConfigLoader.parse("t", MINIMAL + "http: {port: 8080}\nhttp: {port: 8081}\n").http().port());
        // Text settings keep the text as written, where YAML would read a number or a boolean
        RadiodConfig t = ConfigLoader.parse("t", MINIMAL + "etcd: {username: 0x1F, password: 0123}\nicecast: {user: yes}\n");
        assertEquals("0x1F", t.etcd().username());
        assertEquals("0123", t.etcd().password(), "not the octal 83");
        assertEquals("yes", t.icecast().user());
        assertEquals(31, ConfigLoader.parse("t", MINIMAL + "etcd: {lease_ttl: 0x1F}\n").etcd().leaseTtl(), "a number's value");
        assertError(MINIMAL + "http: {port: 80.5}\n", "http.port: 80.5 is not a whole number");
        assertError(MINIMAL + "http: {port: [80]}\n", "http.port: expected a whole number, got a list");
        assertError(MINIMAL + "node: {name: n1, addresses: 127.0.0.1}\n", "node.addresses: expected a list");
        assertError("- node\n", "expected a section of settings, got a list");
    }

    @Test
    void aFilePathThatCannotBeOneIsNamedAndMessagesStayOnOneLine() {
        assertError(MINIMAL + "etcd: {tls: {ca_file: \"a\\0b\"}}\n", "etcd.tls.ca_file: ");
        var e = assertThrows(ConfigLoader.ConfigException.class,
                () -> ConfigLoader.parse("t", "node:\n  name: n1\n  addresses: [\"192.0.2.1\\nx\"]\n"));
        assertTrue(e.getMessage().contains("'192.0.2.1\\nx'") && !e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void aMissingFileIsReportedByName(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("nope.yml");
        var e = assertThrows(ConfigLoader.ConfigException.class, () -> ConfigLoader.load(missing));
        assertTrue(e.getMessage().contains(missing + ": no such file"), e.getMessage());
        Path ok = dir.resolve("ok.yml");
        Files.writeString(ok, MINIMAL);
        assertEquals("node1", ConfigLoader.load(ok).node().name());
    }

    private static void assertMessage(String yaml, String unused) {
        try {
            ConfigLoader.parse("t", yaml);
        } catch (ConfigLoader.ConfigException e) {
            throw new AssertionError("should be valid: " + e.getMessage());
        }
    }

    @Test
    void theTlsPortsAreOffWithoutACertificateAndCheckedAndNamedWithOne() throws Exception {
        RadiodConfig off = ConfigLoader.parse("t", MINIMAL);
        assertTrue(!off.tls().enabled(), "no certificate source: the TLS ports stay closed");
        assertEquals(443, off.tls().httpsPort());
        assertEquals(8443, off.tls().sourcePort());
        // Defaults that would collide matter only when the ports open.
        assertTrue(!ConfigLoader.parse("t", MINIMAL + "http: {port: 443}\n").tls().enabled());

        RadiodConfig on = ConfigLoader.parse("t", MINIMAL + "tls:\n  https_port: 8444\n  source_port: 8001\n"
                + "  certificate_file: /etc/radiod/tls/fullchain.pem\n  key_file: /etc/radiod/tls/privkey.pem\n");
        assertTrue(on.tls().enabled());
        assertEquals(8444, on.tls().httpsPort());
        assertEquals(8001, on.tls().sourcePort());
        assertEquals(Path.of("/etc/radiod/tls/fullchain.pem"), on.tls().certificateFile());
        assertEquals(Path.of("/etc/radiod/tls/privkey.pem"), on.tls().keyFile());

        String files = "  certificate_file: /c.pem\n  key_file: /k.pem\n";
        assertError(MINIMAL + "tls: {certificate_file: /c.pem}\n", "tls.key_file: needed with tls.certificate_file");
        assertError(MINIMAL + "tls: {key_file: /k.pem}\n", "tls.certificate_file: needed with tls.key_file");
        assertError(MINIMAL + "tls:\n  https_port: 70000\n" + files, "tls.https_port must be between 1 and 65535");
        assertError(MINIMAL + "tls:\n  source_port: -1\n" + files, "tls.source_port must be between 1 and 65535");
        assertError(MINIMAL + "http: {port: 443}\ntls:\n" + files, "tls.https_port: 443 is already used by http.port");
        assertError(MINIMAL + "source: {port: 8443}\ntls:\n" + files, "tls.source_port: 8443 is already used by source.port");
        assertError(MINIMAL + "tls:\n  https_port: 9000\n  source_port: 9000\n" + files,
                "tls.source_port: 9000 is already used by tls.https_port");
        assertError(MINIMAL + "tls:\n  acme_thing: 1\n", "tls.acme_thing is not a known setting");
    }

    @Test
    void tlsByAcmeOpensTheTlsPortsAndNamesItsFields() throws Exception {
        RadiodConfig acme = ConfigLoader.parse("t", MINIMAL + "tls:\n  acme: {directory: 'https://127.0.0.1:14000/dir', "
                + "email: ops@radio.example.org, ca_file: /etc/radiod/acme-ca.pem, renew_before_days: 20}\n");
        assertTrue(acme.tls().enabled(), "ACME is a certificate source: the TLS ports open with its first certificate");
        assertEquals("https://127.0.0.1:14000/dir", acme.tls().acme().directory());
        assertEquals("ops@radio.example.org", acme.tls().acme().email());
        assertEquals(Path.of("/etc/radiod/acme-ca.pem"), acme.tls().acme().caFile());
        assertEquals(20, acme.tls().acme().renewBeforeDays());
        assertNull(acme.tls().certificateFile());
        assertError(MINIMAL + "tls:\n  acme: {email: a@b.org}\n", "tls.acme.directory is required");
        assertError(MINIMAL + "tls:\n  acme: {directory: 'http://ca.example/dir'}\n", "tls.acme.directory must be an https:// URL");
        assertError(MINIMAL + "tls:\n  acme: {directory: 'https://ca.example/dir', renew_before_days: 0}\n",
                "tls.acme.renew_before_days must be between 1 and 365");
        assertError(MINIMAL + "tls:\n  acme: {directory: 'https://ca.example/dir', colour: red}\n", "tls.acme.colour");
        assertError(MINIMAL + "tls:\n  certificate_file: /c.pem\n  key_file: /k.pem\n  acme: {directory: 'https://ca.example/d'}\n",
                "tls.acme: a certificate comes either from files");
    }

    private static void assertError(String yaml, String expected) {
        var e = assertThrows(ConfigLoader.ConfigException.class, () -> ConfigLoader.parse("radiod.yml", yaml));
        assertTrue(e.getMessage().contains(expected), "'" + e.getMessage() + "' should contain '" + expected + "'");
        assertTrue(e.getMessage().startsWith("config radiod.yml: "), e.getMessage());
    }
}
