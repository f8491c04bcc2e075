package radiod.cluster.election;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.etcd.Keys;
import radiod.testkit.EtcdCluster;

/** The election primitive itself: silent at rest, and a leader that loses its key steps down at once. */
class ElectionAtRestIT {
    private static final Pattern UNARY = Pattern.compile(
            "grpc_server_handled_total\\{grpc_code=\"[A-Za-z]+\",grpc_method=\"(Range|Txn|Put|DeleteRange)\"[^}]*} (\\d+)");

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    private final List<AutoCloseable> open = new ArrayList<>();
    private Client client;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private Client client() {
        Client c = EtcdClients.connect(EtcdOptions.of(etcd.endpoints()));
        open.add(c);
        return c;
    }

    private EtcdSession session() {
        EtcdSession s = new EtcdSession(client(), Duration.ofSeconds(3)).start();
        open.add(s);
        return s;
    }

    /** Records elected/deposed as "+" and "-". */
    private static final class Record implements Election.Listener {
        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public void elected() {
            events.add("+");
        }

        @Override
        public void deposed() {
            events.add("-");
        }
    }

    private Election election(EtcdSession s, ByteSequence key, String value, Record record) {
        Election e = new Election(s, key, () -> value.getBytes(StandardCharsets.UTF_8), record);
        open.add(e);
        e.start();
        return e;
    }

    /** KV requests etcd has answered so far (reads, writes and transactions; not the lease keep-alives). */
    private static long kvRequests() throws Exception {
        String metrics = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(etcd.member(0).endpoint() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        long total = 0;
        Matcher m = UNARY.matcher(metrics);
        while (m.find()) {
            total += Long.parseLong(m.group(2));
        }
        return total;
    }

    @Test
    void onceALeaderIsElectedNoContenderSendsAnyRequestUntilTheKeyGoes() throws Exception {
        ByteSequence key = Keys.bytes("/rest/master");
        List<Election> elections = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            elections.add(election(session(), key, "n" + i, new Record()));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> elections.stream().filter(Election::isLeader).count() == 1);
        // The losers' campaigns have been answered by now (each sent one transaction, then waits on its watch).
        await().atMost(Duration.ofSeconds(2)).until(() -> elections.stream().allMatch(e -> e.leader().isPresent()));
        long before = kvRequests();
        assertTrue(before >= 3, "the campaigns were counted: " + before);
        // Three seconds at rest, checked all along: not one read, write or transaction (a poll at 4/s per election,
        // as before, would have made some 36).
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
                .until(() -> kvRequests() == before);
        assertEquals(1, elections.stream().filter(Election::isLeader).count());
    }

    @Test
    void aLeaderWhoseKeyIsOverwrittenStepsDownAtOnceAndDoesNotDeleteTheOthersValueOnClose() throws Exception {
        ByteSequence key = Keys.bytes("/overwrite/master");
        Record record = new Record();
        Election e = election(session(), key, "mine", record);
        await().atMost(Duration.ofSeconds(5)).until(e::isLeader);
        // leader() is what the election's watch saw last, which may come a moment after the win.
        await().atMost(Duration.ofSeconds(1)).until(() -> e.leader().isPresent());
        assertEquals("mine", e.leader().orElseThrow().toString());
        Client other = client();
        EtcdClients.await(other.getKVClient().put(key, Keys.bytes("theirs")), 3000, "overwrite");
        await().atMost(Duration.ofSeconds(1)).until(() -> !e.isLeader());
        assertEquals(List.of("+", "-"), record.events);
        await().atMost(Duration.ofSeconds(1)).until(() -> e.leader().map(v -> v.toString().equals("theirs")).orElse(false));
        e.close();
        var kvs = EtcdClients.await(other.getKVClient().get(key), 3000, "get").getKvs();
        assertEquals("theirs", kvs.get(0).getValue().toString(), "resigning deletes only our own key");
    }

    @Test
    void aLeaderWhoseKeyIsDeletedStepsDownAndTheKeyIsWonAgain() {
        ByteSequence key = Keys.bytes("/deleted/master");
        Record record = new Record();
        Election e = election(session(), key, "mine", record);
        await().atMost(Duration.ofSeconds(5)).until(e::isLeader);
        EtcdClients.await(client().getKVClient().delete(key), 3000, "delete");
        await().atMost(Duration.ofSeconds(1)).until(() -> record.events.size() == 3);
        assertEquals(List.of("+", "-", "+"), record.events);
        assertTrue(e.isLeader());
    }

    /**
     * A leader that gives its key up on purpose (its mount deleted, its node stopping) says so at INFO; one whose
     * key is taken from it warns: an operator watching warnings sees faults, not the operator's own deletions.
     */
    @Test
    void givingUpIsNoWarningLosingTheKeyIs() {
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(Election.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged = new ch.qos.logback.core.read.ListAppender<>();
        logged.start();
        logger.addAppender(logged);
        try {
            ByteSequence key = Keys.bytes("/levels/transcoder");
            Record record = new Record();
            Election e = election(session(), key, "mine", record);
            await().atMost(Duration.ofSeconds(5)).until(e::isLeader);
            EtcdClients.await(client().getKVClient().delete(key), 3000, "delete");
            await().atMost(Duration.ofSeconds(2)).until(() -> record.events.size() == 3);
            e.close();
            assertEquals(List.of("+", "-", "+", "-"), record.events);
            List<String> lines = logged.list.stream().map(l -> l.getLevel() + " " + l.getFormattedMessage()).toList();
            assertEquals(1, lines.stream().filter(l -> l.startsWith("WARN ")).count(), "warnings: " + lines);
            assertTrue(lines.contains("WARN deposed from /levels/transcoder: the key was deleted"), lines.toString());
            assertTrue(lines.contains("INFO giving up /levels/transcoder: closed"), lines.toString());
        } finally {
            logger.detachAppender(logged);
        }
    }

    @Test
    void anElectionStartsOnceAndClosingIsIdempotent() {
        Election e = election(session(), Keys.bytes("/once/master"), "x", new Record());
        assertThrows(IllegalStateException.class, e::start);
        e.close();
        e.close();
        assertFalse(e.isLeader());
        assertThrows(IllegalStateException.class, e::start);
    }
}
