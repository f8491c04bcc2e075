package radiod.controller;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import radiod.controller.config.ConfigLoader;
import radiod.controller.config.RadiodConfig;
import radiod.controller.logging.DaemonLogging;
import radiod.controller.node.RadiodNode;

/** {@code radiod}: the node daemon. Runs until SIGTERM/SIGINT, then resigns, revokes its lease and stops Icecast. */
@Command(name = "radiod", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Runs one node of a fault-tolerant Icecast cluster coordinated through etcd.")
public final class Main implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = "/etc/radiod/radiod.yml",
            description = "Node configuration (YAML). Default: ${DEFAULT-VALUE}")
    Path config;

    @Option(names = "--check-config", description = "Check the configuration file and exit (0 if valid).")
    boolean checkOnly;

    public static void main(String[] args) {
        System.setProperty(DaemonLogging.DAEMON_PROPERTY, "true"); // before the first logger: see DaemonLogging
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        System.exit(new CommandLine(new Main()).execute(args));
    }

    @Override
    public Integer call() {
        RadiodConfig cfg;
        try {
            cfg = ConfigLoader.load(config);
        } catch (ConfigLoader.ConfigException e) {
            PrintWriter err = new PrintWriter(System.err, true);
            err.println("radiod: " + e.getMessage());
            return 2;
        }
        try {
            radiod.controller.node.CertificateFiles.check(cfg.tls());
        } catch (IllegalStateException e) {
            new PrintWriter(System.err, true).println("radiod: config " + config + ": " + e.getMessage());
            return 2;
        }
        if (checkOnly) {
            System.out.println("radiod: config " + config + " is valid (node " + cfg.node().name() + ")");
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

    /** The version from the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"radiod " + RadiodNode.VERSION};
        }
    }
}
