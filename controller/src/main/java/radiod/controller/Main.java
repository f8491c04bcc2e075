package radiod.controller;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

import radiod.controller.config.ConfigLoader;
import radiod.controller.config.RadiodConfig;
import radiod.controller.logging.DaemonLogging;
import radiod.controller.node.RadiodNode;

/** {@code radiod}: the node daemon. Runs until SIGTERM/SIGINT, then resigns, revokes its lease and stops Icecast. */
public final class Main {
    private final Path config;
    private final boolean checkOnly;

    private Main(Path config, boolean checkOnly) {
        this.config = config;
        this.checkOnly = checkOnly;
    }

    public static void main(String[] args) {
        System.setProperty(DaemonLogging.DAEMON_PROPERTY, "true"); // before the first logger: see DaemonLogging
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** What {@code radiod ARGS} does, and its exit status: 0, 1 (could not start), 2 (bad command line or config). */
    static int run(String[] args, PrintWriter out, PrintWriter err) {
        Args a;
        try {
            a = Args.parse(args);
        } catch (Args.UsageException e) {
            err.println("radiod: " + e.getMessage());
            err.print(Args.USAGE);
            err.flush();
            return 2;
        }
        if (a.help()) {
            out.print(Args.USAGE);
            out.flush();
            return 0;
        }
        if (a.version()) {
            out.println("radiod " + RadiodNode.VERSION);
            return 0;
        }
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        return new Main(a.config(), a.checkOnly()).call(out, err);
    }

    private int call(PrintWriter out, PrintWriter err) {
        RadiodConfig cfg;
        try {
            cfg = ConfigLoader.load(config);
        } catch (ConfigLoader.ConfigException e) {
            err.println("radiod: " + e.getMessage());
            return 2;
        }
        try {
            radiod.controller.node.CertificateFiles.check(cfg.tls());
        } catch (IllegalStateException e) {
            err.println("radiod: config " + config + ": " + e.getMessage());
            return 2;
        }
        if (checkOnly) {
            out.println("radiod: config " + config + " is valid (node " + cfg.node().name() + ")");
            return 0;
        }
        Logger log = LoggerFactory.getLogger(Main.class);
        RadiodNode node = new RadiodNode(cfg);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("stopping: resigning, revoking the lease, stopping Icecast");
            node.close();
            stopped.countDown();
        }, "radiod-shutdown"));
        try {
            node.start();
        } catch (RuntimeException e) {
            log.error("cannot start: {}", e.getMessage(), e);
            return 1;
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }
}
