package radiod.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PortsTest {

    @Test
    void twoJvmsDrawFromTwoHalvesThatDoNotOverlap() {
        assertArrayEquals(new int[] {20000, 26000}, Ports.slice(1, 2));
        assertArrayEquals(new int[] {26000, 32000}, Ports.slice(2, 2));
        assertArrayEquals(new int[] {24000, 28000}, Ports.slice(2, 3));
    }

    @Test
    void oneJvmOrNonsenseGetsTheWholeRange() {
        assertArrayEquals(new int[] {20000, 32000}, Ports.slice(1, 1));
        assertArrayEquals(new int[] {20000, 32000}, Ports.slice(0, 2));
        assertArrayEquals(new int[] {20000, 32000}, Ports.slice(3, 2));
        assertArrayEquals(new int[] {20000, 32000}, Ports.slice(1, 0));
    }

    /** Drawn at random, 6 ports of 6,000 were the same one once in ~400 draws of six: an etcd member then failed to bind. */
    @Test
    void aJvmHandsOutNoPortTwiceBeforeItsSliceIsUsedUp() {
        java.util.Set<Integer> drawn = new java.util.HashSet<>();
        for (int i = 0; i < 3_000; i++) {
            int port = Ports.free("127.0.0.1");
            assertTrue(drawn.add(port), port + " handed out twice, at draw " + i);
        }
    }

    @Test
    void aFreePortIsInThisJvmsSliceAndBindable() {
        int[] slice = Ports.slice(Integer.getInteger("radiod.fork", 1), Integer.getInteger("radiod.forks", 1));
        int port = Ports.free("127.0.0.1");
        assertTrue(port >= slice[0] && port < slice[1], port + " outside " + slice[0] + "-" + slice[1]);
        assertTrue(Ports.isFree("127.0.0.1", port));
    }
}
