package radiod.bench.footprint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;

import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

class LibraryFloorTest {
    @Test
    void aBadCommandLineNamesTheOption() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LibraryFloor.Options.parse(new String[] {
                "--etcd", "http://127.0.0.1:2379", "--addr", "127.0.0.1", "--http", "80"}))
                .getMessage().contains("--dns"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LibraryFloor.Options.parse(new String[] {
                "--etcd", "x", "--addr", "127.0.0.1", "--http", "0", "--dns", "53"})).getMessage().contains("--http"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LibraryFloor.Options.parse(new String[] {
                "--etcd", "x", "--addr", "127.0.0.1", "--http", "80", "--dns", "53", "--bogus", "1"}))
                .getMessage().contains("--bogus"));
    }

    @Test
    void dnsGarbageIsFormerrAndAnotherNameIsNxdomain() throws Exception {
        Name apex = Name.fromString("radio.test.");
        InetAddress addr = InetAddress.getByName("127.0.0.1");
        Message formerr = new Message(LibraryFloor.answer(new byte[] {0x12, 0x34, 1, 2, 3}, apex, addr));
        assertEquals(0x1234, formerr.getHeader().getID());
        assertEquals(Rcode.FORMERR, formerr.getRcode());
        Message other = new Message(LibraryFloor.answer(Message.newQuery(Record.newRecord(
                Name.fromString("elsewhere.test."), Type.A, DClass.IN)).toWire(), apex, addr));
        assertEquals(Rcode.NXDOMAIN, other.getRcode());
    }
}
