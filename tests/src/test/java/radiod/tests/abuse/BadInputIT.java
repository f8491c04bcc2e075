package radiod.tests.abuse;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

import picocli.CommandLine;
import radiod.cluster.model.Mount;
import radiod.tests.harness.Encoder;
import radiod.tests.harness.ProcessResources;
import radiod.tests.harness.RadiodCluster;
import radiod.tests.harness.RadiodProcess;
import radiod.tests.harness.Streams;
import radiod.testkit.EtcdCluster;
import radiod.testkit.audio.Mp3Frames;

/**
 * A radiod node shrugs off bad input: batches against a real radiod process (its Icecast, etcd, an encoder on {@code /live.mp3}):
 * fuzzed HTTP requests to the HTTP port and to the source port, slowloris on both, fuzzed DNS packets, corrupt
 * values written straight into etcd, invalid radioctl arguments. Every batch is seeded (random 7) and reports its
 * count; after each, the node still answers and streams, and at the end its threads, descriptors and live heap
 * (after a full GC) have not grown beyond small, stated bounds.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BadInputIT {
    private static final Mount LIVE = new Mount("/live.mp3", "source", "abuse-live", null, null, 0, 128, null);
    private static final long SEED = 7;

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    static RadiodCluster cluster;
    static RadiodProcess node;
    static Encoder encoder;
    static ProcessResources baseline;

    @BeforeAll
    static void start() throws Exception {
        cluster = new RadiodCluster(etcd, 1, 3).start();
        cluster.awaitReady(Duration.ofSeconds(30));
        node = cluster.node(0);
        cluster.putMount(LIVE);
        encoder = new Encoder("icecast://source:" + LIVE.sourcePassword() + "@" + node.address() + ":" + cluster.sourcePort
                + LIVE.path());
        await().atMost(Duration.ofSeconds(30)).until(() -> Mp3Frames.isMp3(Streams.read(node.httpUrl(LIVE.path()), 8192, 3000)));
        // Warm up the paths the batches use, so that lazily created threads and buffers are in the baseline.
        for (int i = 0; i < 50; i++) {
            healthy();
        }
        baseline = ProcessResources.of(node.pid());
        report("baseline " + baseline);
    }

    @AfterAll
    static void stop() {
        if (encoder != null) {
            encoder.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    static void report(String line) {
        System.out.println("BAD-INPUT " + line);
    }

    /** The node redirects a listener, streams audio, reports its status and answers DNS. */
    static void healthy() throws Exception {
        HttpURLConnection c = (HttpURLConnection) URI.create(node.httpUrl(LIVE.path())).toURL().openConnection();
        c.setInstanceFollowRedirects(false);
        c.setConnectTimeout(2000);
        c.setReadTimeout(2000);
        assertEquals(302, c.getResponseCode());
        c.disconnect();
        HttpURLConnection s = (HttpURLConnection) URI.create(node.httpUrl("/status.json")).toURL().openConnection();
        s.setConnectTimeout(2000);
        s.setReadTimeout(2000);
        assertEquals(200, s.getResponseCode());
        s.getInputStream().readAllBytes();
        assertTrue(Mp3Frames.isMp3(Streams.read(node.httpUrl(LIVE.path()), 4096, 3000)), "no audio from " + node.httpUrl(LIVE.path()));
        Message q = Message.newQuery(Record.newRecord(Name.fromString("radio.test."), Type.A, org.xbill.DNS.DClass.IN));
        Message a = new Message(udp(q.toWire(), 2000));
        assertEquals(Rcode.NOERROR, a.getRcode());
        assertFalse(a.getSection(org.xbill.DNS.Section.ANSWER).isEmpty());
    }

    // ---------------------------------------------------------------------------------------------- HTTP and source

    /** Requests no server should take: each class several times, with seeded variations. */
    static Map<String, List<byte[]>> badRequests(String mount) {
        Random r = new Random(SEED);
        Map<String, List<byte[]>> cases = new TreeMap<>();
        List<byte[]> lines = new ArrayList<>();
        for (String l : List.of("GET", "GET " + mount, mount + " HTTP/1.1", "GET " + mount + " HTTP/1.1 extra", "GET  HTTP/1.1",
                "GET " + mount + " HTTP/9.9", "GET " + mount + " FOO/1.0", "GET " + mount + " HTTP/1", "\u0001\u0002\u0003",
                "GET \u0000" + mount + " HTTP/1.1", "GET http://[::1 HTTP/1.1", " ", "HTTP/1.1 200 OK")) {
            lines.add((l + "\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        }
        for (int i = 0; i < 40; i++) { // random bytes ending a line, no valid request line among them
            byte[] junk = new byte[1 + r.nextInt(300)];
            r.nextBytes(junk);
            for (int j = 0; j < junk.length; j++) {
                if (junk[j] == ' ') {
                    junk[j] = '_'; // a request line needs three space-separated parts: this has one
                }
            }
            byte[] req = new byte[junk.length + 4];
            System.arraycopy(junk, 0, req, 0, junk.length);
            System.arraycopy("\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), 0, req, junk.length, 4);
            lines.add(req);
        }
        cases.put("malformed request line", lines);

        List<byte[]> huge = new ArrayList<>();
        huge.add(("GET /" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        huge.add(("GET " + mount + " HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(40_000) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        StringBuilder many = new StringBuilder("GET " + mount + " HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i < 2000; i++) {
            many.append("X-H").append(i).append(": ").append(Long.toHexString(r.nextLong())).append("\r\n");
        }
        huge.add(many.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
        huge.add(("SOURCE " + mount + " HTTP/1.0\r\nAuthorization: Basic " + "Q".repeat(100_000) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        cases.put("huge request line or headers", huge);

        List<byte[]> methods = new ArrayList<>();
        for (String m : List.of("FOO", "DELETE", "PATCH", "TRACE", "CONNECT", "PROPFIND", "get", "G3T", "POST")) {
            methods.add((m + " " + mount + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        }
        for (int i = 0; i < 10; i++) {
            StringBuilder m = new StringBuilder();
            for (int j = 0; j < 3 + r.nextInt(10); j++) {
                m.append((char) ('A' + r.nextInt(26)));
            }
            methods.add((m + " " + mount + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        }
        cases.put("invalid method", methods);

        List<byte[]> headers = new ArrayList<>();
        for (String h : List.of("Host\r\n", "Host: x\r\nContent-Length: -1\r\n", "Host: x\r\nContent-Length: abc\r\n",
                "Host: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n", ": novalue\r\n", "Host: x\r\nX\u0000Y: z\r\n",
                "Host: x\r\n Folded: continuation\r\n", "Host: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n")) {
            headers.add(("POST " + mount + " HTTP/1.1\r\n" + h + "\r\nzzzzzzzz\r\n").getBytes(StandardCharsets.ISO_8859_1));
        }
        cases.put("malformed headers", headers);
        return cases;
    }

    /** Sends one request on a fresh connection; returns the status code, or -1 closed without an answer, -2 no answer in time. */
    static int send(int port, byte[] request) throws IOException {
        try (Socket s = new Socket(node.address(), port)) {
            s.setSoTimeout(5000);
            try {
                s.getOutputStream().write(request);
                s.getOutputStream().flush();
            } catch (IOException e) {
                // the server may close while we still write a huge head; what it answered is still readable
            }
            InputStream in = s.getInputStream();
            byte[] head = new byte[12];
            int n;
            try {
                n = in.readNBytes(head, 0, head.length);
            } catch (SocketTimeoutException e) {
                return -2;
            } catch (IOException e) {
                return -1; // reset
            }
            String line = new String(head, 0, n, StandardCharsets.ISO_8859_1);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^[A-Z]{3,4}/\\d\\.\\d (\\d{3})").matcher(line);
            if (!m.find()) {
                return n == 0 ? -1 : -3;
            }
            return Integer.parseInt(m.group(1));
        }
    }

    static void fuzz(String surface, int port, Predicate<Integer> acceptable) throws Exception {
        int total = 0;
        Map<String, Map<Integer, Integer>> byClass = new TreeMap<>();
        List<String> wrong = new ArrayList<>();
        for (Map.Entry<String, List<byte[]>> c : badRequests(LIVE.path()).entrySet()) {
            for (byte[] req : c.getValue()) {
                int status = send(port, req);
                total++;
                byClass.computeIfAbsent(c.getKey(), k -> new TreeMap<>()).merge(status, 1, Integer::sum);
                if (!acceptable.test(status)) {
                    String shown = new String(req, 0, Math.min(req.length, 60), StandardCharsets.ISO_8859_1);
                    wrong.add(status + " for " + c.getKey() + ": " + shown.replaceAll("[^\\x20-\\x7e]", "?"));
                }
            }
        }
        report(surface + ": " + total + " fuzzed requests, answers by class (status: count; -1 closed): " + byClass);
        assertEquals(List.of(), wrong, surface + ": answers that are not a clear refusal");
        healthy();
    }

    @Test
    @Order(1)
    void fuzzedRequestsToTheHttpPortGet4xx() throws Exception {
        // 501 is Vert.x's own answer to a protocol version it does not speak (HTTP/9.9, FOO/1.0), before radiod sees it.
        fuzz("HTTP port", cluster.httpPort, s -> s >= 400 && s < 500 || s == 501);
    }

    @Test
    @Order(2)
    void fuzzedRequestsToTheSourcePortGet4xxAndNeverReachIcecast() throws Exception {
        Path log = cluster.dir().resolve(node.name() + "-icecast").resolve("log").resolve("error.log");
        long before = Files.readString(log).lines().filter(l -> l.contains("Source logging in")).count();
        fuzz("source port", cluster.sourcePort, s -> s >= 400 && s < 500);
        // Nothing of it reached Icecast: no source logged in meanwhile.
        long after = Files.readString(log).lines().filter(l -> l.contains("Source logging in")).count();
        assertEquals(before, after, "source logins in Icecast's log during the batch");
    }

    /** Connections that send their request head a byte at a time, never finishing. */
    static List<Socket> slowloris(int port, int count) throws IOException {
        List<Socket> sockets = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Socket s = new Socket(node.address(), port);
            s.getOutputStream().write("GET /live.mp3 HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.ISO_8859_1));
            sockets.add(s);
        }
        return sockets;
    }

    static int trickle(List<Socket> sockets) {
        int open = 0;
        for (Socket s : sockets) {
            try {
                s.getOutputStream().write('X');
                s.getOutputStream().flush();
                open++;
            } catch (IOException e) {
                // closed by the server
            }
        }
        return open;
    }

    @Test
    @Order(3)
    void slowlorisDoesNotStopTheNode() throws Exception {
        int count = 300;
        List<Socket> http = slowloris(cluster.httpPort, count);
        List<Socket> source = slowloris(cluster.sourcePort, count);
        try {
            long worst = 0;
            long start = System.currentTimeMillis();
            int sourceOpen = count;
            while (System.currentTimeMillis() - start < 14_000) {
                trickle(http);
                sourceOpen = trickle(source);
                long t = System.nanoTime();
                healthy();
                worst = Math.max(worst, (System.nanoTime() - t) / 1_000_000);
                Thread.sleep(1000);
            }
            // The source port drops a head that is not complete after 10 s; the HTTP port (one event loop per core,
            // no thread per connection) keeps serving beside the trickling connections.
            report("slowloris: " + count + " connections on each port for 14 s; every health check passed, slowest "
                    + worst + " ms; source-port connections still open at the end: " + sourceOpen);
            assertEquals(0, sourceOpen, "the source port kept connections whose head never finished");
            assertTrue(worst < 3000, "a health check took " + worst + " ms beside the slowloris connections");
        } finally {
            for (Socket s : http) {
                s.close();
            }
            for (Socket s : source) {
                s.close();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------- DNS

    static byte[] udp(byte[] query, int timeoutMillis) throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getByName("127.0.0.1"))) {
            s.setSoTimeout(timeoutMillis);
            s.send(new DatagramPacket(query, query.length, InetAddress.getByName(node.address()), cluster.dnsPort));
            byte[] buf = new byte[65535];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            s.receive(p);
            byte[] out = new byte[p.getLength()];
            System.arraycopy(buf, 0, out, 0, out.length);
            return out;
        }
    }

    @Test
    @Order(4)
    void fuzzedDnsPacketsGetFormerrOrNothing() throws Exception {
        Random r = new Random(SEED);
        byte[] valid = Message.newQuery(Record.newRecord(Name.fromString("radio.test."), Type.A, org.xbill.DNS.DClass.IN)).toWire();
        int total = 1500;
        byte[][] sent = new byte[total][];
        for (int i = 0; i < total; i++) {
            byte[] p;
            switch (i % 3) {
                case 0 -> { // random bytes
                    p = new byte[2 + r.nextInt(600)];
                    r.nextBytes(p);
                }
                case 1 -> { // a valid query with bytes flipped
                    p = valid.clone();
                    for (int k = 0; k < 1 + r.nextInt(4); k++) {
                        p[r.nextInt(p.length)] = (byte) r.nextInt(256);
                    }
                }
                default -> { // a valid query cut short
                    p = java.util.Arrays.copyOf(valid, 2 + r.nextInt(valid.length - 2));
                }
            }
            p[0] = (byte) (i >> 8); // the packet's number as its id, to pair it with its answer
            p[1] = (byte) i;
            sent[i] = p;
        }
        Message[] answers = new Message[total];
        List<String> wrong = new ArrayList<>();
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getByName("127.0.0.1"))) {
            InetAddress server = InetAddress.getByName(node.address());
            byte[] buf = new byte[65535];
            long quietUntil = 0;
            for (int i = 0; i < total || System.currentTimeMillis() < quietUntil; ) {
                if (i < total) {
                    s.send(new DatagramPacket(sent[i], sent[i].length, server, cluster.dnsPort));
                    i++;
                    quietUntil = System.currentTimeMillis() + 1000; // stragglers after the last one
                }
                s.setSoTimeout(i < total ? 2 : 200);
                try {
                    while (true) {
                        DatagramPacket in = new DatagramPacket(buf, buf.length);
                        s.receive(in);
                        Message a = new Message(java.util.Arrays.copyOf(buf, in.getLength()));
                        int id = a.getHeader().getID();
                        if (id >= total || answers[id] != null) {
                            wrong.add("an answer with id " + id + " that matches no packet sent, or a second answer");
                        } else {
                            answers[id] = a;
                        }
                    }
                } catch (SocketTimeoutException e) {
                    // nothing more for now
                }
            }
        }
        Map<String, Integer> outcomes = new TreeMap<>();
        for (int i = 0; i < total; i++) {
            byte[] p = sent[i];
            Message a = answers[i];
            boolean query = (p.length < 3 || (p[2] & 0x80) == 0);
            boolean standard = p.length >= 3 && (p[2] & 0x78) == 0;
            outcomes.merge(a == null ? "no answer" : Rcode.string(a.getRcode()), 1, Integer::sum);
            if (a == null) {
                if (p.length >= 12 && query && standard && !parses(p)) {
                    wrong.add("no answer to a standard query with a bad body, packet " + i);
                }
                continue;
            }
            if (a.getHeader().getFlag(Flags.RA)) {
                wrong.add("RA set in the answer to packet " + i);
            }
            if (!query) {
                wrong.add("answered a response (QR set), packet " + i);
            }
            if (!parses(p) && a.getRcode() != Rcode.FORMERR && a.getRcode() != Rcode.NOTIMP) {
                wrong.add(Rcode.string(a.getRcode()) + " to unparseable packet " + i);
            }
        }
        report("DNS: " + total + " fuzzed packets (random, mutated, truncated), outcomes: " + outcomes);
        assertEquals(List.of(), wrong.subList(0, Math.min(wrong.size(), 20)), "DNS answers that break the rules");
        healthy();
    }

    private static boolean parses(byte[] p) {
        try {
            new Message(p);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    // --------------------------------------------------------------------------------------------------------- etcd

    @Test
    @Order(5)
    void corruptValuesInEtcdAreSkippedAndNothingElseIsLost() throws Exception {
        Random r = new Random(SEED);
        List<String> values = new ArrayList<>(List.of("", "{", "}", "null", "[]", "[1,2,3]", "42", "\"a string\"", "{\"path\":",
                "{\"path\": 5}", "{\"path\":\"/x.mp3\",\"bitrate\":\"fast\"}", "{\"unknown\":true}", "\u0000\u0001\u0002",
                "{\"path\":\"/../../etc/passwd\"}", "{\"name\":\"node9\",\"addresses\":\"not a list\"}",
                "{" + "\"a\":{".repeat(2000) + "}".repeat(2001)));
        for (int i = 0; i < 24; i++) {
            byte[] junk = new byte[r.nextInt(2000)];
            r.nextBytes(junk);
            values.add(new String(junk, StandardCharsets.ISO_8859_1));
        }
        List<String> keys = new ArrayList<>();
        int written = 0;
        for (int i = 0; i < values.size(); i++) {
            for (String kind : List.of("mounts/corrupt-" + i + ".mp3", "nodes/corrupt" + i, "transcoders/corrupt-" + i + ".mp3",
                    "drain/corrupt" + i, "titles/corrupt-" + i + ".mp3", "kicks/corrupt-" + i + ".mp3",
                    "acme/challenges/corrupt-" + i, "tls/certificate", "secret/tls/key", "tls/status", "tls/renew")) {
                cluster.putRaw(kind, values.get(i));
                keys.add(kind);
                written++;
            }
        }
        // A valid mount written after them: once the node serves it, it has read every corrupt value before it (its
        // watch delivers in order), and still takes a new mount.
        Mount later = new Mount("/later.mp3", "source", "later-pw", null, null, 0, 64, null);
        cluster.putMount(later);
        try (Encoder second = new Encoder("icecast://source:later-pw@" + node.address() + ":" + cluster.sourcePort + later.path())) {
            await().atMost(Duration.ofSeconds(20)).until(() -> Mp3Frames.isMp3(Streams.read(node.icecastUrl(later.path()), 4096, 2000)));
        }
        assertTrue(node.running(), "radiod exited on corrupt etcd values");
        report("etcd: " + written + " corrupt values (" + values.size() + " kinds x mounts, nodes, transcoders, drain, titles, kicks, "
                + "acme challenges, tls certificate, key, status, renewal)");
        // The last valid state wins: the live mount keeps streaming and is defined as it was; a corrupt one is not served.
        assertEquals(LIVE, cluster.snapshot().mounts().get(LIVE.path()));
        healthy();
        assertEquals(404, status(node.icecastUrl("/corrupt-0.mp3")));
        for (String k : new java.util.LinkedHashSet<>(keys)) {
            cluster.deleteRaw(k);
        }
        cluster.deleteRaw("mounts" + later.path());
        assertTrue(node.logText().contains("corrupt"), "the corrupt values were not logged");
    }

    /**
     * An admin token emptied in etcd (blanks, by hand) is an operator's mistake no node mends by itself: the node says
     * so at WARN, once while it lasts (it reads the key again every second meanwhile), and takes the new token a
     * node creates once the key is deleted.
     */
    @Test
    @Order(6)
    void anEmptiedAdminTokenIsSaidOnceAtWarnAndReplacedOnceDeleted() {
        String said = cluster.prefix() + "admin/token in etcd is empty";
        cluster.putRaw("admin/token", "   ");
        // The node reads a token it holds again every 10 s.
        await("the node warns of the empty admin token").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
                .until(() -> node.logText().lines().anyMatch(l -> l.contains(" WARN ") && l.contains(said)));
        cluster.deleteRaw("admin/token");
        await("a new admin token").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
                .until(() -> node.logText().contains("the admin token in etcd is no longer empty"));
        String log = node.logText();
        assertTrue(log.contains("admin token changed in etcd"), "the node did not take the new token");
        assertEquals(1, log.lines().filter(l -> l.contains(said)).count(), "said more than once:\n" + log.lines()
                .filter(l -> l.contains(said)).toList());
        report("etcd: an emptied admin token said once at WARN; a new one taken after the key's deletion");
    }

    static int status(String url) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        c.setConnectTimeout(2000);
        c.setReadTimeout(2000);
        try {
            return c.getResponseCode();
        } finally {
            c.disconnect();
        }
    }

    // ----------------------------------------------------------------------------------------------------- radioctl

    @Test
    @Order(7)
    void invalidRadioctlArgumentsFailClearlyAndChangeNothing() throws Exception {
        List<List<String>> invalid = List.of(
                List.of("create-mount"), List.of("create-mount", "live.mp3"), List.of("create-mount", "/a b.mp3"),
                List.of("create-mount", "/x.mp3", "--bitrate", "-5"), List.of("create-mount", "/x.mp3", "--bitrate", "fast"),
                List.of("create-mount", "/x.mp3", "--password", "a", "--generate-password"),
                List.of("create-mount", "/x.mp3", "--no-such-flag"), List.of("create-mount", LIVE.path(), "--password", "x"),
                List.of("create-transcoding-mount", "/t.mp3"), List.of("create-transcoding-mount", "/t.mp3", "--source", "/none.mp3",
                        "--codec", "mp3", "--bitrate", "64"),
                List.of("create-transcoding-mount", "/t.mp3", "--source", LIVE.path(), "--codec", "wav", "--bitrate", "64"),
                List.of("create-transcoding-mount", "/t.mp3", "--source", LIVE.path(), "--codec", "mp3", "--bitrate", "0"),
                List.of("edit-mount", "/none.mp3", "--bitrate", "64"), List.of("edit-mount"), List.of("delete-mount"),
                List.of("delete-mount", "/none.mp3"), List.of("delete-mount", "relative.mp3"), List.of("drain"),
                List.of("drain", "no-such-node"), List.of("undrain"), List.of("status", "--bogus"), List.of("frobnicate"),
                List.of("--endpoints"), List.of("--endpoints", "not a url", "status"), List.of("--timeout", "fast", "list-mounts"),
                List.of("list-mounts", "extra-arg"), List.of("show-mount"), List.of("show-mount", "/none.mp3"),
                List.of("create-mount", "/" + "x".repeat(5000) + ".mp3"), List.of("create-mount", "/x.mp3", "--bitrate",
                        "99999999999999999999"));
        Map<Integer, Integer> exits = new TreeMap<>();
        List<String> wrong = new ArrayList<>();
        Map<String, Mount> before = cluster.snapshot().mounts();
        for (List<String> args : invalid) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            CommandLine cli = radiod.radioctl.Main.commandLine(new radiod.radioctl.Main(Map.of(), Path.of("/nonexistent/radioctl.yml")));
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(err, true));
            List<String> all = new ArrayList<>();
            if (!args.contains("--endpoints")) {
                all.addAll(List.of("--endpoints", etcd.endpointsCsv()));
            }
            if (!args.contains("--prefix")) {
                all.addAll(List.of("--prefix", cluster.prefix()));
            }
            all.addAll(args);
            int exit = cli.execute(all.toArray(String[]::new));
            exits.merge(exit, 1, Integer::sum);
            String e = err.toString();
            if (exit == 0 || e.isBlank() || e.contains("Exception") || e.contains("\tat ")) {
                wrong.add("radioctl " + String.join(" ", args) + " -> exit " + exit + ", stderr: " + e.strip());
            }
        }
        report("radioctl: " + invalid.size() + " invalid argument lists, exit codes: " + exits);
        assertEquals(List.of(), wrong, "radioctl calls that did not fail with a clear message");
        assertEquals(before, cluster.snapshot().mounts(), "an invalid radioctl call changed the mounts");
    }

    // --------------------------------------------------------------------------------------------------- resources

    /** Threads radiod may add after the baseline: Vert.x and JDK helpers started on first use. */
    static final int THREAD_SLACK = 4;
    /** Descriptors: connections still closing, a reopened log. 600 slowloris sockets leaked would be 60 times this. */
    static final int FD_SLACK = 10;
    /**
     * Live heap after a full GC: 4 MiB (measured: 14,428 KiB before the batches, 15,045 KiB after). The batches open
     * about 900 connections and send 1,500 DNS packets: keeping 5 KiB per connection, or 3 KiB per DNS packet (its
     * answer and a Vert.x buffer), would exceed it.
     */
    static final long HEAP_SLACK = 4L << 20;

    @Test
    @Order(8)
    void afterEveryBatchNoThreadsDescriptorsOrMemoryWereLeaked() throws Exception {
        // Connections closed by the batches are gone once the server has seen the FINs and dropped them.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).until(() -> {
            ProcessResources now = ProcessResources.of(node.pid());
            return now.fds() <= baseline.fds() + FD_SLACK && now.liveHeapBytes() <= baseline.liveHeapBytes() + HEAP_SLACK;
        });
        ProcessResources after = ProcessResources.of(node.pid());
        String seen = "before the batches: " + baseline + "; after them: " + after;
        report("resources " + seen);
        assertTrue(after.threads() <= baseline.threads() + THREAD_SLACK, "threads grew by more than " + THREAD_SLACK
                + ": " + seen);
        assertTrue(after.fds() <= baseline.fds() + FD_SLACK, "descriptors grew by more than " + FD_SLACK + ": " + seen);
        assertTrue(after.liveHeapBytes() <= baseline.liveHeapBytes() + HEAP_SLACK, "the live heap after a full GC grew by"
                + " more than " + (HEAP_SLACK >> 20) + " MiB: " + seen);
        healthy();
    }
}
