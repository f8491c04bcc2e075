package radiod.bench.footprint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;
import radiod.testkit.EtcdCluster;
import radiod.testkit.Ports;

/**
 * The footprint bench's floor does, against a real etcd, the idle work it stands for (bench/footprint/run measures it
 * beside radiod): its lease, presence and election key are in etcd, it redirects, answers DNS and its metrics, and its
 * stop revokes the lease.
 */
class LibraryFloorIT {
    private static final String HOST = "127.0.0.1";

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    @Test
    void itDoesANodesIdleWorkThroughTheMandatedLibrariesAndItsStopRevokesTheLease() throws Exception {
        int http = Ports.free(HOST);
        int dns = Ports.free(HOST);
        LibraryFloor.Options options = LibraryFloor.Options.parse(new String[] {"--etcd", etcd.endpoints().get(0),
                "--addr", HOST, "--http", Integer.toString(http), "--dns", Integer.toString(dns), "--name", "f1"});
        try (Client client = Client.builder().endpoints(etcd.endpoints().get(0)).build()) {
            LibraryFloor.Running floor = LibraryFloor.start(options);
            try {
                HttpClient web = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
                HttpResponse<String> redirect = web.send(HttpRequest.newBuilder(
                        URI.create("http://" + HOST + ":" + http + "/live.mp3")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(302, redirect.statusCode());
                assertEquals("http://" + HOST + ":" + http + "/_stream/live.mp3",
                        redirect.headers().firstValue("Location").orElseThrow());

                SimpleResolver resolver = new SimpleResolver(InetAddress.getByName(HOST));
                resolver.setPort(dns);
                resolver.setTimeout(Duration.ofSeconds(2));
                Message answer = resolver.send(Message.newQuery(Record.newRecord(
                        Name.fromString("radio.test."), Type.A, org.xbill.DNS.DClass.IN)));
                assertEquals(Rcode.NOERROR, answer.getRcode());
                assertTrue(answer.getHeader().getFlag(Flags.AA));
                assertEquals(HOST, answer.getSection(Section.ANSWER).get(0).rdataToString());

                ByteSequence node = ByteSequence.from("/radiod-floor/nodes/f1", StandardCharsets.UTF_8);
                ByteSequence master = ByteSequence.from("/radiod-floor/master", StandardCharsets.UTF_8);
                var presence = client.getKVClient().get(node).get(5, TimeUnit.SECONDS).getKvs();
                assertEquals(1, presence.size());
                assertTrue(presence.get(0).getLease() != 0, "the presence is under a lease");
                assertTrue(presence.get(0).getValue().toString(StandardCharsets.UTF_8).contains("\"name\":\"f1\""));
                // the first presence and election round are done before the floor serves
                assertEquals("f1", client.getKVClient().get(master).get(5, TimeUnit.SECONDS).getKvs().get(0)
                        .getValue().toString(StandardCharsets.UTF_8));

                String metrics = web.send(HttpRequest.newBuilder(URI.create("http://" + HOST + ":" + http + "/metrics"))
                        .build(), HttpResponse.BodyHandlers.ofString()).body();
                assertTrue(metrics.contains("floor_answers_total{kind=\"redirect\"} 1.0"), metrics);
                assertTrue(metrics.contains("floor_answers_total{kind=\"dns\"} 1.0"), metrics);
                assertTrue(metrics.contains("jvm_memory_used_bytes"), metrics);
            } finally {
                floor.close();
            }
            assertEquals(0, client.getKVClient().get(ByteSequence.from("/radiod-floor/", StandardCharsets.UTF_8),
                    GetOption.builder().isPrefix(true).build()).get(5, TimeUnit.SECONDS).getCount(),
                    "the stop revoked the lease, and the keys under it went");
        }
    }
}
