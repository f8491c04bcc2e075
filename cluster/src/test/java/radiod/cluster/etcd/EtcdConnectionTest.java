package radiod.cluster.etcd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;

class EtcdConnectionTest {
    /** Clients that remember the endpoints they were built on and whether they were closed. */
    static final class Built {
        final List<List<String>> endpoints = new ArrayList<>();
        final List<Client> clients = new ArrayList<>();
        final List<Client> closed = new CopyOnWriteArrayList<>();

        Client build(List<String> on) {
            endpoints.add(on);
            KV kv = (KV) Proxy.newProxyInstance(KV.class.getClassLoader(), new Class<?>[] {KV.class}, (p, m, a) -> null);
            Client[] self = new Client[1];
            self[0] = (Client) Proxy.newProxyInstance(Client.class.getClassLoader(), new Class<?>[] {Client.class},
                    (p, m, a) -> switch (m.getName()) {
                        case "close" -> {
                            closed.add(self[0]);
                            yield null;
                        }
                        case "getKVClient" -> kv;
                        case "hashCode" -> System.identityHashCode(p);
                        case "equals" -> p == a[0];
                        default -> null;
                    });
            clients.add(self[0]);
            return self[0];
        }
    }

    static final List<String> ALL = List.of("http://a:2379", "http://b:2379", "http://c:2379");

    @Test
    void callsGoToTheClientOfTheMomentAndTheOldOneIsClosed() {
        Built built = new Built();
        EtcdConnection c = new EtcdConnection(ALL, built::build);
        AtomicInteger told = new AtomicInteger();
        c.onReconnect(told::incrementAndGet);
        KV first = c.getKVClient();
        assertSame(built.clients.get(0).getKVClient(), first);

        c.use(List.of(ALL.get(0), ALL.get(2)), "b is silent");
        assertEquals(List.of(ALL, List.of(ALL.get(0), ALL.get(2))), built.endpoints);
        assertSame(built.clients.get(1).getKVClient(), c.getKVClient());
        assertEquals(1, told.get());
        assertEquals(1, c.reconnects());
        Awaitility.await().until(() -> built.closed.contains(built.clients.get(0)));

        c.use(List.of(ALL.get(0), ALL.get(2)), "the same again");
        assertEquals(2, built.clients.size(), "no new client for the members already in use");
        assertEquals(1, told.get());

        c.close();
        assertEquals(List.of(built.clients.get(0), built.clients.get(1)), built.closed);
        c.use(ALL, "after close");
        assertEquals(2, built.clients.size(), "nothing is built once closed");
    }

    @Test
    void onlyConfiguredMembersCanBeUsed() {
        EtcdConnection c = new EtcdConnection(ALL, new Built()::build);
        assertThrows(IllegalArgumentException.class, () -> c.use(List.of("http://d:2379"), "unknown"));
        assertThrows(IllegalArgumentException.class, () -> c.use(List.of(), "none"));
    }

    @Test
    void renewBuildsANewClientOnTheMembersInUse() {
        Built built = new Built();
        EtcdConnection c = new EtcdConnection(ALL, built::build);
        AtomicInteger told = new AtomicInteger();
        c.onReconnect(told::incrementAndGet);
        c.use(List.of(ALL.get(1)), "a and c are away");
        c.renew("b answers again");
        assertEquals(List.of(ALL, List.of(ALL.get(1)), List.of(ALL.get(1))), built.endpoints);
        assertSame(built.clients.get(2).getKVClient(), c.getKVClient());
        assertEquals(2, told.get());
        assertEquals(2, c.reconnects());
        Awaitility.await().until(() -> built.closed.contains(built.clients.get(1)));
        c.close();
        c.renew("after close");
        assertEquals(3, built.clients.size(), "nothing is built once closed");
    }
}
