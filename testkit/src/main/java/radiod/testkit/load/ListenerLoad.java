package radiod.testkit.load;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Many stream listeners at once, for the passthrough benchmark: opens {@code --listeners} HTTP streams to one URL
 * (ramped), reads each as fast as the server sends (a live stream arrives at its bitrate, so every connection reads
 * at the stream rate), and after a settling time measures a window: bytes per listener, listeners that fell behind
 * the nominal rate or were dropped, and the CPU time and resident memory of the server processes named with
 * {@code --pid name=pid[,pid…]} (from /proc, before the first connection and over the window). Prints
 * {@code key=value} lines for bench/stream/run. With {@code --jvm-pid}, also that JVM's live heap (after a full
 * collection) before the first connection and at the end of the window, per listener. An {@code https://} URL is
 * read over TLS (the JDK's engine, one handshake per listener, the server's certificate not checked: this measures
 * the server's cost, not its identity); bytes then count the decrypted stream.
 *
 * <pre>java -cp testkit.jar radiod.testkit.load.ListenerLoad --url http://127.0.0.1:8080/_stream/live.mp3 \
 *     --listeners 1000 --ramp 500 --settle 10 --duration 30 --rate 16000 --pid radiod=1234 --pid icecast=1240</pre>
 */
public final class ListenerLoad {
    private static final long TICKS_PER_SECOND = 100; // USER_HZ on Linux
    /** A listener that got less than this share of the nominal rate over the window fell behind. */
    private static final double BEHIND = 0.9;

    private final URI url;
    private final int listeners;
    private final int rampPerSecond;
    private final int settleSeconds;
    private final int durationSeconds;
    private final int rateBytes;
    private final Map<String, long[]> pids;
    private final long jvmPid;

    private ListenerLoad(Map<String, List<String>> args) {
        url = URI.create(one(args, "url", null));
        listeners = Integer.parseInt(one(args, "listeners", "1000"));
        rampPerSecond = Integer.parseInt(one(args, "ramp", "500"));
        settleSeconds = Integer.parseInt(one(args, "settle", "10"));
        durationSeconds = Integer.parseInt(one(args, "duration", "30"));
        rateBytes = Integer.parseInt(one(args, "rate", "16000"));
        jvmPid = Long.parseLong(one(args, "jvm-pid", "0"));
        pids = new LinkedHashMap<>();
        for (String p : args.getOrDefault("pid", List.of())) {
            int eq = p.indexOf('=');
            if (eq < 1) {
                throw new IllegalArgumentException("--pid wants name=pid[,pid...], got " + p);
            }
            pids.put(p.substring(0, eq), Arrays.stream(p.substring(eq + 1).split(",")).mapToLong(Long::parseLong).toArray());
        }
    }

    private static String one(Map<String, List<String>> args, String name, String otherwise) {
        List<String> v = args.get(name);
        if (v == null || v.isEmpty()) {
            if (otherwise == null) {
                throw new IllegalArgumentException("--" + name + " is required");
            }
            return otherwise;
        }
        return v.get(v.size() - 1);
    }

    public static void main(String[] argv) throws Exception {
        Map<String, List<String>> args = new LinkedHashMap<>();
        for (int i = 0; i < argv.length; i++) {
            if (!argv[i].startsWith("--") || i + 1 == argv.length) {
                System.err.println("usage: ListenerLoad --url URL [--listeners N] [--ramp N/s] [--settle S] [--duration S]"
                        + " [--rate bytes/s] [--pid name=pid[,pid...]]...");
                System.exit(2);
            }
            args.computeIfAbsent(argv[i].substring(2), k -> new ArrayList<>()).add(argv[++i]);
        }
        new ListenerLoad(args).run();
    }

    /** One listener's connection. */
    private static final class Stream {
        final SocketChannel channel;
        final ByteBuffer request;
        long bytes;
        long windowStart = -1;
        long windowEnd = -1;
        int status = -1;
        boolean closed;
        /** Why the connection ended early: the exception, or "closed by the server". */
        String ended;
        final StringBuilder head = new StringBuilder();
        /** With TLS: the engine and its network buffers (what came in not yet unwrapped, what goes out not yet sent). */
        final SSLEngine tls;
        final ByteBuffer netIn;
        final ByteBuffer netOut;

        Stream(SocketChannel channel, ByteBuffer request, SSLEngine tls) {
            this.channel = channel;
            this.request = request;
            this.tls = tls;
            this.netIn = tls == null ? null : ByteBuffer.allocate(tls.getSession().getPacketBufferSize());
            this.netOut = tls == null ? null : ByteBuffer.allocate(tls.getSession().getPacketBufferSize());
        }

        /** The first bytes of the answer carry its status line. */
        void answer(ByteBuffer data) {
            if (status < 0) {
                int at = data.position();
                while (at < data.limit() && head.length() < 64) {
                    head.append((char) data.get(at++));
                }
                int sp = head.indexOf(" ");
                if (sp > 0 && head.length() >= sp + 4) {
                    status = Integer.parseInt(head.substring(sp + 1, sp + 4));
                }
            }
            bytes += data.remaining();
        }
    }

    /** A selector thread that owns some of the connections. */
    private final class Reader extends Thread {
        final Selector selector = Selector.open();
        final ConcurrentLinkedQueue<Stream> incoming = new ConcurrentLinkedQueue<>();
        final ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
        final ByteBuffer plain = ByteBuffer.allocate(64 * 1024);
        volatile boolean stop;
        volatile int mark; // 1: take window start, 2: take window end
        volatile int marked;
        final List<Stream> streams = new ArrayList<>();

        Reader(int n) throws IOException {
            super("reader-" + n);
            setDaemon(true);
        }

        void add(Stream s) {
            incoming.add(s);
            selector.wakeup();
        }

        @Override
        public void run() {
            try {
                while (!stop) {
                    selector.select(100);
                    Stream s;
                    while ((s = incoming.poll()) != null) {
                        streams.add(s);
                        s.channel.register(selector, SelectionKey.OP_CONNECT, s);
                    }
                    for (SelectionKey k : selector.selectedKeys()) {
                        handle(k);
                    }
                    selector.selectedKeys().clear();
                    int m = mark;
                    if (m != marked) {
                        for (Stream x : streams) {
                            if (m == 1) {
                                x.windowStart = x.closed ? -1 : x.bytes;
                            } else {
                                x.windowEnd = x.bytes;
                            }
                        }
                        marked = m;
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        private void handle(SelectionKey k) {
            Stream s = (Stream) k.attachment();
            try {
                if (s.tls != null) {
                    if (k.isConnectable()) {
                        s.channel.finishConnect();
                        s.tls.beginHandshake();
                    }
                    if (!pumpTls(k, s)) {
                        s.ended = "closed by the server (TLS, " + s.tls.getHandshakeStatus() + ")";
                        close(k, s);
                    }
                    return;
                }
                if (k.isConnectable()) {
                    s.channel.finishConnect();
                    k.interestOps(SelectionKey.OP_WRITE);
                } else if (k.isWritable()) {
                    s.channel.write(s.request);
                    if (!s.request.hasRemaining()) {
                        k.interestOps(SelectionKey.OP_READ);
                    }
                } else if (k.isReadable()) {
                    buffer.clear();
                    int n = s.channel.read(buffer);
                    if (n < 0) {
                        s.ended = "closed by the server";
                        close(k, s);
                        return;
                    }
                    buffer.flip();
                    s.answer(buffer);
                }
            } catch (IOException | RuntimeException e) {
                s.ended = e.toString();
                close(k, s);
            }
        }

        /**
         * Moves a TLS connection as far as it can go without blocking: handshake, then the request, then reading;
         * leaves the key waiting for what it needs next. False when the connection has ended.
         */
        private boolean pumpTls(SelectionKey k, Stream s) throws IOException {
            SSLEngine e = s.tls;
            while (true) {
                if (!flush(s)) {
                    k.interestOps(SelectionKey.OP_WRITE);
                    return true;
                }
                switch (e.getHandshakeStatus()) {
                    case NEED_TASK -> {
                        Runnable task;
                        while ((task = e.getDelegatedTask()) != null) {
                            task.run();
                        }
                    }
                    case NEED_WRAP -> {
                        if (e.wrap(ByteBuffer.allocate(0), s.netOut).getStatus() == SSLEngineResult.Status.CLOSED) {
                            return false;
                        }
                    }
                    case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                        int r = unwrap(s);
                        if (r < 0) {
                            return false;
                        }
                        if (r == 0) {
                            k.interestOps(SelectionKey.OP_READ);
                            return true;
                        }
                    }
                    default -> {
                        if (s.request.hasRemaining()) {
                            e.wrap(s.request, s.netOut);
                            continue;
                        }
                        int r = unwrap(s);
                        if (r < 0) {
                            return false;
                        }
                        if (r == 0) {
                            k.interestOps(SelectionKey.OP_READ);
                            return true;
                        }
                    }
                }
            }
        }

        /** Sends what the engine wrapped; false when the socket took only part of it. */
        private boolean flush(Stream s) throws IOException {
            if (s.netOut.position() == 0) {
                return true;
            }
            s.netOut.flip();
            s.channel.write(s.netOut);
            s.netOut.compact();
            return s.netOut.position() == 0;
        }

        /** Unwraps one record, reading from the socket when none is whole: 1 progress, 0 nothing to read, -1 ended. */
        private int unwrap(Stream s) throws IOException {
            while (true) {
                s.netIn.flip();
                plain.clear();
                SSLEngineResult r = s.tls.unwrap(s.netIn, plain);
                s.netIn.compact();
                plain.flip();
                if (plain.hasRemaining()) {
                    s.answer(plain);
                }
                if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                    return -1;
                }
                if (r.getStatus() == SSLEngineResult.Status.OK && (r.bytesConsumed() > 0 || r.bytesProduced() > 0)) {
                    return 1;
                }
                int n = s.channel.read(s.netIn);
                if (n < 0) {
                    return -1;
                }
                if (n == 0) {
                    return 0;
                }
            }
        }

        private void close(SelectionKey k, Stream s) {
            s.closed = true;
            k.cancel();
            try {
                s.channel.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    private void run() throws Exception {
        long heapBefore = jvmPid > 0 ? liveHeapKb(jvmPid) : 0;
        Map<String, Long> rssBefore = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> p : pids.entrySet()) {
            rssBefore.put(p.getKey(), rssKb(p.getValue()));
        }
        int port = url.getPort() > 0 ? url.getPort() : "https".equalsIgnoreCase(url.getScheme()) ? 443 : 80;
        InetSocketAddress target = new InetSocketAddress(url.getHost(), port);
        byte[] request = ("GET " + url.getRawPath() + " HTTP/1.1\r\nHost: " + url.getHost() + ":" + port
                + "\r\nUser-Agent: radiod-bench-listener/1.0\r\nAccept: */*\r\nIcy-MetaData: 0\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        SSLContext tls = "https".equalsIgnoreCase(url.getScheme()) ? trustingAnyServer() : null;
        Reader[] readers = {new Reader(0), new Reader(1)};
        for (Reader r : readers) {
            r.start();
        }
        long rampStart = System.nanoTime();
        for (int i = 0; i < listeners; i++) {
            long due = rampStart + TimeUnit.SECONDS.toNanos(1) * i / rampPerSecond;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            SocketChannel ch = SocketChannel.open();
            ch.configureBlocking(false);
            ch.setOption(StandardSocketOptions.SO_RCVBUF, 64 * 1024);
            ch.connect(target);
            readers[i % readers.length].add(new Stream(ch, ByteBuffer.wrap(request), tls == null ? null : client(tls)));
        }
        System.err.printf("ListenerLoad: %d connections opened in %.1f s, settling %d s%n", listeners,
                (System.nanoTime() - rampStart) / 1e9, settleSeconds);
        Thread.sleep(settleSeconds * 1000L);

        Map<String, Long> cpuStart = new LinkedHashMap<>();
        Map<String, Long> sysStart = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> p : pids.entrySet()) {
            cpuStart.put(p.getKey(), cpuTicks(p.getValue()));
            sysStart.put(p.getKey(), systemTicks(p.getValue()));
        }
        long windowStart = System.nanoTime();
        mark(readers, 1);
        Thread.sleep(durationSeconds * 1000L);
        mark(readers, 2);
        double window = (System.nanoTime() - windowStart) / 1e9;
        Map<String, Long> cpuEnd = new LinkedHashMap<>();
        Map<String, Long> sysEnd = new LinkedHashMap<>();
        Map<String, Long> rssAfter = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> p : pids.entrySet()) {
            cpuEnd.put(p.getKey(), cpuTicks(p.getValue()));
            sysEnd.put(p.getKey(), systemTicks(p.getValue()));
            rssAfter.put(p.getKey(), rssKb(p.getValue()));
        }

        long heapAfter = jvmPid > 0 ? liveHeapKb(jvmPid) : 0;
        List<Stream> all = new ArrayList<>();
        for (Reader r : readers) {
            r.stop = true;
            r.join(2000);
            all.addAll(r.streams);
        }
        int ok = 0;
        int refused = 0;
        int dropped = 0;
        int behind = 0;
        List<Double> rates = new ArrayList<>();
        for (Stream s : all) {
            if (s.status != 200) {
                refused++;
                continue;
            }
            ok++;
            if (s.windowStart < 0 || s.closed) {
                dropped++;
                continue;
            }
            double rate = (s.windowEnd - s.windowStart) / window;
            rates.add(rate);
            if (rate < BEHIND * rateBytes) {
                behind++;
            }
        }
        rates.sort(Double::compare);
        Map<String, Integer> why = new java.util.TreeMap<>();
        for (Stream s : all) {
            if (s.ended != null && (s.status != 200 || s.closed)) {
                why.merge((s.status < 0 ? "before an answer: " : "status " + s.status + ": ") + s.ended, 1, Integer::sum);
            }
        }
        why.forEach((reason, count) -> System.err.printf("ListenerLoad: %d ended %s%n", count, reason));
        out("listeners", listeners);
        out("streaming", ok);
        out("refused_or_failed", refused);
        out("dropped", dropped);
        out("behind", behind);
        out("window_s", String.format("%.1f", window));
        if (!rates.isEmpty()) {
            out("rate_min_Bps", String.format("%.0f", rates.get(0)));
            out("rate_median_Bps", String.format("%.0f", rates.get(rates.size() / 2)));
        }
        double listenerMinutes = listeners * window / 60.0;
        for (String name : pids.keySet()) {
            double cpu = (cpuEnd.get(name) - cpuStart.get(name)) / (double) TICKS_PER_SECOND;
            out(name + "_cpu_s", String.format("%.2f", cpu));
            out(name + "_cpu_system_s", String.format("%.2f", (sysEnd.get(name) - sysStart.get(name)) / (double) TICKS_PER_SECOND));
            out(name + "_cpu_ms_per_listener_min", String.format("%.3f", cpu * 1000 / listenerMinutes));
            out(name + "_rss_kb_before", rssBefore.get(name));
            out(name + "_rss_kb_after", rssAfter.get(name));
            out(name + "_rss_kb_per_listener", String.format("%.1f", (rssAfter.get(name) - rssBefore.get(name)) / (double) listeners));
        }
        if (jvmPid > 0) {
            out("heap_kb_before", heapBefore);
            out("heap_kb_after", heapAfter);
            out("heap_bytes_per_listener", String.format("%.0f", (heapAfter - heapBefore) * 1024.0 / listeners));
        }
        for (Stream s : all) {
            s.channel.close();
        }
    }

    private SSLEngine client(SSLContext context) {
        SSLEngine e = context.createSSLEngine(url.getHost(), url.getPort());
        e.setUseClientMode(true);
        if (!Character.isDigit(url.getHost().charAt(0))) {
            SSLParameters p = e.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(url.getHost())));
            e.setSSLParameters(p);
        }
        return e;
    }

    private static SSLContext trustingAnyServer() throws java.security.GeneralSecurityException {
        TrustManager any = new X509TrustManager() {
            @Override
            public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType) {
            }

            @Override
            public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                return new java.security.cert.X509Certificate[0];
            }
        };
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(null, new TrustManager[] {any}, null);
        return c;
    }

    /** The JVM's heap in use right after a full collection (jcmd GC.run, then GC.heap_info), in kB. */
    private static long liveHeapKb(long pid) throws IOException, InterruptedException {
        jcmd(pid, "GC.run");
        String info = jcmd(pid, "GC.heap_info");
        // G1 prints one "total …K, used …K" line, the serial and parallel collectors one per generation.
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("total \\d+K, used (\\d+)K").matcher(info);
        long used = 0;
        boolean found = false;
        while (m.find()) {
            used += Long.parseLong(m.group(1));
            found = true;
        }
        if (!found) {
            throw new IllegalStateException("no heap figure in jcmd GC.heap_info: " + info);
        }
        return used;
    }

    private static String jcmd(long pid, String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("jcmd", Long.toString(pid), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("jcmd " + pid + " " + command + " failed: " + out);
        }
        return out;
    }

    private static void mark(Reader[] readers, int m) throws InterruptedException {
        for (Reader r : readers) {
            r.mark = m;
            r.selector.wakeup();
        }
        for (Reader r : readers) {
            while (r.marked != m && r.isAlive()) {
                Thread.sleep(5);
            }
        }
    }

    private static void out(String key, Object value) {
        System.out.println(key + "=" + value);
    }

    /** utime + stime of every process in the group, in clock ticks. */
    private static long cpuTicks(long[] group) throws IOException {
        return userTicks(group) + systemTicks(group);
    }

    private static long userTicks(long[] group) throws IOException {
        return statField(group, 11); // field 14 of proc(5): utime
    }

    private static long systemTicks(long[] group) throws IOException {
        return statField(group, 12); // field 15: stime
    }

    private static long statField(long[] group, int index) throws IOException {
        long sum = 0;
        for (long pid : group) {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            sum += Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[index]);
        }
        return sum;
    }

    private static long rssKb(long[] group) throws IOException {
        long sum = 0;
        for (long pid : group) {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    sum += Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        }
        return sum;
    }
}
