package radiod.redirector.access;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import radiod.cluster.model.NodeStatus;
import radiod.cluster.view.ClusterSnapshot;

/** Which address is the listener's: the peer, or X-Forwarded-For's rightmost untrusted hop behind trusted proxies. */
class ClientAddressesTest {
    static final ClientAddresses PROXIES = new ClientAddresses(List.of("10.0.0.0/8", "192.0.2.7", "2001:db8:1::/48"),
            () -> ClusterSnapshot.EMPTY);

    @Test
    void anUntrustedPeerIsTheListenerWhateverItForwards() {
        assertEquals("198.51.100.9", PROXIES.choose("198.51.100.9", List.of("203.0.113.1")));
        assertEquals("198.51.100.9", ClientAddresses.PEER_ONLY.choose("198.51.100.9", List.of("203.0.113.1")));
        assertEquals("10.1.2.3", ClientAddresses.PEER_ONLY.choose("10.1.2.3", List.of("203.0.113.1")));
    }

    @Test
    void aTrustedPeerWithoutForwardedForIsTheListener() {
        assertEquals("10.1.2.3", PROXIES.choose("10.1.2.3", List.of()));
        assertEquals("10.1.2.3", PROXIES.choose("10.1.2.3", null));
    }

    @Test
    void behindTrustedProxiesTheRightmostUntrustedHopIsTheListener() {
        assertEquals("203.0.113.1", PROXIES.choose("10.1.2.3", List.of("203.0.113.1")));
        // The client forged the first entry; the trusted proxy appended who really connected to it.
        assertEquals("203.0.113.1", PROXIES.choose("10.1.2.3", List.of("6.6.6.6, 203.0.113.1")));
        // Two trusted proxies in a row: the walk passes both.
        assertEquals("203.0.113.1", PROXIES.choose("10.1.2.3", List.of("6.6.6.6, 203.0.113.1, 192.0.2.7")));
        // The same across several header lines, in the order received.
        assertEquals("203.0.113.1", PROXIES.choose("10.1.2.3", List.of("6.6.6.6", "203.0.113.1", "10.9.9.9")));
        // Every hop trusted: the leftmost is the best there is.
        assertEquals("10.5.5.5", PROXIES.choose("10.1.2.3", List.of("10.5.5.5, 192.0.2.7")));
    }

    @Test
    void garbageStopsTheWalkAtTheLastTrustedHop() {
        assertEquals("10.1.2.3", PROXIES.choose("10.1.2.3", List.of("unknown")));
        assertEquals("192.0.2.7", PROXIES.choose("10.1.2.3", List.of("203.0.113.1, evil.example, 192.0.2.7")));
        assertEquals("10.1.2.3", PROXIES.choose("10.1.2.3", List.of("1.2.3.4.5")));
        assertEquals("10.1.2.3", PROXIES.choose("10.1.2.3", List.of("01.2.3.4")));
    }

    @Test
    void portsAndBracketsAreTakenOffAndIpv6IsWrittenShort() {
        assertEquals("203.0.113.1", PROXIES.choose("10.1.2.3", List.of("203.0.113.1:51000")));
        assertEquals("2001:db8::5", PROXIES.choose("10.1.2.3", List.of("[2001:DB8:0:0::5]:443")));
        assertEquals("2001:db8::5", PROXIES.choose("2001:db8:1:ffff::1", List.of("2001:db8::5")));
        assertEquals("2001:db8:1::1", PROXIES.choose("2001:db8:1:0:0:0:0:1", List.of()));
        assertEquals("::1", PROXIES.choose("0:0:0:0:0:0:0:1", List.of()));
        assertEquals("203.0.113.1", PROXIES.choose("::ffff:10.1.2.3", List.of("203.0.113.1")));
    }

    @Test
    void theClustersOwnNodesAreTrustedProxies() {
        NodeStatus peer = new NodeStatus("node2", List.of("203.0.113.12", "2001:db8::12"), 80, 8000, 8100, 53, true,
                false, false, 0, Map.of(), 0, 0, 0, List.of(), "", 0);
        ClusterSnapshot view = new ClusterSnapshot(1, Map.of("node2", peer), Optional.empty(), Map.of(), Map.of(),
                Map.of());
        ClientAddresses a = new ClientAddresses(List.of(), () -> view);
        assertEquals("198.51.100.4", a.choose("203.0.113.12", List.of("198.51.100.4")));
        assertEquals("198.51.100.4", a.choose("2001:db8:0::12", List.of("198.51.100.4")));
        assertEquals("203.0.113.99", a.choose("203.0.113.99", List.of("198.51.100.4")));
    }

    @Test
    void rangesAreCheckedBitByBit() {
        ClientAddresses a = new ClientAddresses(List.of("172.16.0.0/12", "::ffff:100.64.0.0/106"), () -> ClusterSnapshot.EMPTY);
        assertEquals("1.1.1.1", a.choose("172.31.255.255", List.of("1.1.1.1")));
        assertEquals("172.32.0.1", a.choose("172.32.0.1", List.of("1.1.1.1")));
        assertEquals("1.1.1.1", a.choose("100.127.0.1", List.of("1.1.1.1")));
        assertEquals("100.128.0.1", a.choose("100.128.0.1", List.of("1.1.1.1")));
    }

    @Test
    void aBadTrustedProxyIsNamed() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ClientAddresses.validate(List.of("10.0.0.0/33")))
                .getMessage().contains("'10.0.0.0/33'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ClientAddresses.validate(List.of("proxy.example")))
                .getMessage().contains("'proxy.example' is not an IP address or CIDR range"));
        assertThrows(IllegalArgumentException.class, () -> ClientAddresses.validate(List.of("2001:db8::/129")));
        assertThrows(IllegalArgumentException.class, () -> ClientAddresses.validate(List.of("10.0.0.0/x")));
        ClientAddresses.validate(List.of("0.0.0.0/0", "::/0", "192.0.2.1", "2001:db8::1"));
    }

    @Test
    void onlyLiteralsAreParsedNeverNames() {
        assertNull(ClientAddresses.parseAddress("localhost"));
        assertNull(ClientAddresses.parseAddress("256.1.1.1"));
        assertNull(ClientAddresses.parseAddress("1.2.3"));
        assertNull(ClientAddresses.parseAddress("fe80::1%eth0"));
        assertNull(ClientAddresses.parseAddress(":::"));
        assertEquals(4, ClientAddresses.parseAddress("0.0.0.0").length);
        assertEquals(16, ClientAddresses.parseAddress("::").length);
    }
}
