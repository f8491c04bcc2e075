package radiod.bench.footprint;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.jr.ob.JSON;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramSocket;
import io.vertx.ext.web.Router;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The floor under radiod's idle footprint ({@code WAYS="floor small" bench/footprint/run}): the mandated libraries
 * doing the least any node must do at idle, and nothing of radiod. It answers one question of issue 19 by measurement:
 * how much of a node's resident memory the libraries take before any of radiod's own code runs.
 *
 * <p>What it does, each through the library a node must use for it:
 * <ul>
 *   <li>jetcd: a lease with keep-alive, its presence written under it every second (JSON by jackson-jr, as radiod
 *       writes its etcd values), a compare-and-set election key heartbeated every second, a read of the cluster
 *       prefix and a watch from there;
 *   <li>Vert.x Web: an HTTP server with a router, a 302 for any mount once the first read and the lease are in (503
 *       before), {@code /status.json} and {@code /metrics};
 *   <li>Micrometer with the Prometheus registry: JVM memory, thread and processor meters, a counter per answer;
 *   <li>dnsjava on a Vert.x datagram socket: an A record for the zone's apex, FORMERR for what does not parse.
 * </ul>
 * What it does not do, so that it stays below any node: no Icecast (no process, no status reads), no audio, no
 * load balancing, no transcoders, no TLS, no access log, no ACME. Its class path is the bench module's (no
 * BouncyCastle, acme4j or YAML, which radiod's has). Keys live under {@code /radiod-floor/}, apart from radiod's.
 *
 * <p>Usage: {@code LibraryFloor --etcd URL --addr ADDRESS --http PORT --dns PORT [--name NAME]}. SIGTERM revokes the
 * lease and exits, so a training run with {@code -XX:ArchiveClassesAtExit} writes its class archive as radiod's does.
 * Not part of radiod.
 */
public final class LibraryFloor {
    private static final String PREFIX = "/radiod-floor/";
    private static final long TIMEOUT_SECONDS = 5;

    private LibraryFloor() {
    }

    /** What the command line asks for. */
    record Options(String etcd, InetAddress addr, int http, int dns, String name) {
        static final String USAGE =
                "usage: LibraryFloor --etcd URL --addr ADDRESS --http PORT --dns PORT [--name NAME]";

        /** Parses {@link #USAGE}'s arguments; a bad or missing one is an {@link IllegalArgumentException} naming it. */
        static Options parse(String[] args) {
            Map<String, String> given = new LinkedHashMap<>();
            for (int i = 0; i < args.length; i += 2) {
                if (!args[i].startsWith("--") || i + 1 >= args.length) {
                    throw new IllegalArgumentException("expected --option value at " + args[i]);
                }
                given.put(args[i].substring(2), args[i + 1]);
            }
            for (String known : given.keySet()) {
                if (!Map.of("etcd", 0, "addr", 0, "http", 0, "dns", 0, "name", 0).containsKey(known)) {
                    throw new IllegalArgumentException("unknown option --" + known);
                }
            }
            try {
                return new Options(required(given, "etcd"), InetAddress.getByName(required(given, "addr")),
                        port(given, "http"), port(given, "dns"), given.getOrDefault("name", "floor"));
            } catch (java.net.UnknownHostException e) {
                throw new IllegalArgumentException("--addr: " + e.getMessage(), e);
            }
        }

        private static String required(Map<String, String> given, String key) {
            String v = given.get(key);
            if (v == null) {
                throw new IllegalArgumentException("--" + key + " is needed");
            }
            return v;
        }

        private static int port(Map<String, String> given, String key) {
            String v = required(given, key);
            try {
                int port = Integer.parseInt(v);
                if (port < 1 || port > 65535) {
                    throw new NumberFormatException();
                }
                return port;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--" + key + ": not a port: " + v, e);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage() + "\n" + Options.USAGE);
            System.exit(2);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Running running = start(o);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            running.close();
            stopped.countDown();
        }, "floor-stop"));
        stopped.await();
    }

    /** The floor, started: its ports answer once this returns (503 for mounts until etcd's first answers are in). */
    static Running start(Options o) throws Exception {
        JSON json = JSON.std;
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        Counter redirects = registry.counter("floor_answers", "kind", "redirect");
        Counter unavailable = registry.counter("floor_answers", "kind", "unavailable");
        Counter dnsAnswers = registry.counter("floor_answers", "kind", "dns");

        // radiod's jetcd settings (EtcdClients.connect) and its Vert.x pool sizes (Parts.vertxOptions)
        Client etcd = Client.builder().endpoints(o.etcd())
                .connectTimeout(java.time.Duration.ofSeconds(TIMEOUT_SECONDS))
                .retryMaxDuration(java.time.Duration.ofSeconds(TIMEOUT_SECONDS))
                .keepaliveTime(java.time.Duration.ofSeconds(10)).keepaliveTimeout(java.time.Duration.ofSeconds(3))
                .keepaliveWithoutCalls(true).build();
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true)
                .setEventLoopPoolSize(Runtime.getRuntime().availableProcessors())
                .setWorkerPoolSize(4).setInternalBlockingPoolSize(4));
        Running running = new Running(etcd, vertx);
        KV kv = etcd.getKVClient();
        ByteSequence prefix = bytes(PREFIX);
        ByteSequence me = bytes(PREFIX + "nodes/" + o.name());
        ByteSequence master = bytes(PREFIX + "master");
        ByteSequence myName = bytes(o.name());
        AtomicInteger peers = new AtomicInteger();

        Router router = Router.router(vertx);
        router.get("/metrics").handler(ctx -> ctx.response()
                .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(registry.scrape()));
        router.get("/status.json").handler(ctx -> {
            try {
                ctx.response().putHeader("Content-Type", "application/json")
                        .end(json.asString(Map.of("node", o.name(), "ready", running.ready(),
                                "peers", peers.get())));
            } catch (java.io.IOException e) {
                ctx.fail(e);
            }
        });
        String streams = "http://" + o.addr().getHostAddress() + ":" + o.http() + "/_stream";
        router.get("/*").handler(ctx -> {
            if (!running.ready()) {
                unavailable.increment();
                ctx.response().setStatusCode(503).putHeader("Retry-After", "1").end();
                return;
            }
            redirects.increment();
            ctx.response().setStatusCode(302).putHeader("Location", streams + ctx.normalizedPath())
                    .putHeader("Cache-Control", "no-cache").end();
        });
        await(vertx.createHttpServer().requestHandler(router).listen(o.http(), o.addr().getHostAddress())
                .toCompletionStage().toCompletableFuture());

        Name apex = Name.fromConstantString("radio.test.");
        DatagramSocket dns = vertx.createDatagramSocket();
        dns.handler(packet -> {
            byte[] answer = answer(packet.data().getBytes(), apex, o.addr());
            if (answer != null) {
                dnsAnswers.increment();
                dns.send(Buffer.buffer(answer), packet.sender().port(), packet.sender().host());
            }
        });
        await(dns.listen(o.dns(), o.addr().getHostAddress()).toCompletionStage().toCompletableFuture());

        // etcd: the lease and its keep-alive; the prefix's read and a watch from there; presence and election every s
        long lease = await(etcd.getLeaseClient().grant(5)).getID();
        running.lease = lease;
        running.keepAlive = etcd.getLeaseClient().keepAlive(lease, new StreamObserver<LeaseKeepAliveResponse>() {
            @Override
            public void onNext(LeaseKeepAliveResponse r) {
            }

            @Override
            public void onError(Throwable t) {
                System.err.println("floor: keep-alive failed: " + t);
            }

            @Override
            public void onCompleted() {
                System.err.println("floor: the lease is lost");
            }
        });
        GetResponse read = await(kv.get(prefix, GetOption.builder().isPrefix(true).build()));
        peers.set((int) read.getCount());
        running.watch = etcd.getWatchClient().watch(prefix,
                WatchOption.builder().isPrefix(true).withRevision(read.getHeader().getRevision() + 1).build(),
                r -> peers.addAndGet(r.getEvents().size()));
        PutOption underLease = PutOption.builder().withLeaseId(lease).build();
        byte[] presence = json.asBytes(Map.of("name", o.name(),
                "addresses", java.util.List.of(o.addr().getHostAddress()), "icecastUp", true, "listeners", 0));
        // presence and election once before the first redirect, as a node publishes itself before it serves; then
        // every second
        await(tick(kv, me, presence, master, myName, underLease));
        vertx.setPeriodic(1000, t -> tick(kv, me, presence, master, myName, underLease));
        running.ready = true;
        return running;
    }

    /**
     * One second's etcd work: the presence rewritten under the lease, and the election's compare-and-set (take the
     * key when nobody holds it, else heartbeat it when it is this node's).
     */
    private static java.util.concurrent.CompletableFuture<?> tick(KV kv, ByteSequence me, byte[] presence,
                                                                  ByteSequence master, ByteSequence myName,
                                                                  PutOption underLease) {
        return kv.put(me, ByteSequence.from(presence), underLease).thenCompose(p -> kv.txn()
                .If(new Cmp(master, Cmp.Op.EQUAL, CmpTarget.version(0)))
                .Then(Op.put(master, myName, underLease))
                .Else(Op.get(master, GetOption.DEFAULT)).commit()
                .thenCompose(r -> r.isSucceeded() ? java.util.concurrent.CompletableFuture.completedFuture(r)
                        : kv.txn().If(new Cmp(master, Cmp.Op.EQUAL, CmpTarget.value(myName)))
                                .Then(Op.put(master, myName, underLease)).commit()));
    }

    /** The answer to a DNS query: the node's address for the apex's A, NXDOMAIN elsewhere, FORMERR for garbage. */
    static byte[] answer(byte[] query, Name apex, InetAddress addr) {
        Message q;
        try {
            q = new Message(query);
        } catch (java.io.IOException e) {
            if (query.length < 2) {
                return null;
            }
            Message formerr = new Message(((query[0] & 0xff) << 8) | (query[1] & 0xff));
            formerr.getHeader().setFlag(Flags.QR);
            formerr.getHeader().setRcode(Rcode.FORMERR);
            return formerr.toWire();
        }
        Message a = new Message(q.getHeader().getID());
        a.getHeader().setFlag(Flags.QR);
        a.getHeader().setFlag(Flags.AA);
        Record question = q.getQuestion();
        if (question == null) {
            a.getHeader().setRcode(Rcode.FORMERR);
            return a.toWire();
        }
        a.addRecord(question, Section.QUESTION);
        if (question.getName().equals(apex) && question.getType() == Type.A) {
            a.addRecord(new ARecord(apex, DClass.IN, 30, addr), Section.ANSWER);
        } else if (!question.getName().equals(apex)) {
            a.getHeader().setRcode(Rcode.NXDOMAIN);
        }
        return a.toWire();
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static <T> T await(java.util.concurrent.CompletableFuture<T> f) throws Exception {
        return f.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /** A started floor; {@link #close()} revokes its lease and stops its clients. */
    static final class Running implements AutoCloseable {
        private final Client etcd;
        private final Vertx vertx;
        private volatile boolean ready;
        private volatile long lease;
        private volatile io.etcd.jetcd.support.CloseableClient keepAlive;
        private volatile Watch.Watcher watch;

        Running(Client etcd, Vertx vertx) {
            this.etcd = etcd;
            this.vertx = vertx;
        }

        boolean ready() {
            return ready;
        }

        @Override
        public void close() {
            ready = false;
            try {
                vertx.close().toCompletionStage().toCompletableFuture().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.err.println("floor: while stopping Vert.x: " + e);
            }
            if (watch != null) {
                watch.close();
            }
            if (keepAlive != null) {
                keepAlive.close();
            }
            if (lease != 0) {
                try {
                    await(etcd.getLeaseClient().revoke(lease));
                } catch (Exception e) {
                    System.err.println("floor: revoke: " + e);
                }
            }
            etcd.close();
        }
    }
}
