package radiod.controller.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.jul.LevelChangePropagator;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.ContextAwareBase;
import ch.qos.logback.core.spi.FilterReply;

/**
 * radiod's logging, set up in code (found by logback as a {@link Configurator} service): one line per event on
 * stderr (journald keeps it), gRPC, Netty and Vert.x only when something is wrong, the root level from
 * {@code RADIOD_LOG_LEVEL} (a system property or the environment; default INFO), and java.util.logging's levels kept
 * in step (gRPC logs through it).
 *
 * <p>In code rather than a {@code logback.xml}: reading XML brought logback's configuration framework and the JDK's
 * XML parser into every node, ~400 classes (bench/RESULTS.md, issue 19's footprint). It applies only to the daemon
 * ({@link #DAEMON_PROPERTY}, which radiod's {@code main} sets) and only when no {@code logback.configurationFile} is
 * given: an operator's own logback XML, radioctl (which shares the package's class path) and the tests go to
 * logback's usual configuration.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class DaemonLogging extends ContextAwareBase implements Configurator {
    /** Set by radiod's {@code main} before its first logger. */
    public static final String DAEMON_PROPERTY = "radiod.daemon";
    /** The line {@link LineEncoder} writes, in logback's words (for an operator's own logback XML). */
    static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (!Boolean.getBoolean(DAEMON_PROPERTY) || System.getProperty("logback.configurationFile") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        LevelChangePropagator julLevels = new LevelChangePropagator();
        julLevels.setContext(context);
        julLevels.setResetJUL(true);
        context.addListener(julLevels);
        julLevels.start();

        LineEncoder encoder = new LineEncoder(java.time.ZoneId.systemDefault());
        encoder.setContext(context);
        encoder.start();
        ConsoleAppender<ILoggingEvent> err = new ConsoleAppender<>();
        err.setContext(context);
        err.setName("ERR");
        err.setTarget("System.err");
        err.setEncoder(encoder);
        err.addFilter(new VertxGaugeNoise());
        err.start();

        context.getLogger("io.grpc").setLevel(Level.WARN);
        context.getLogger("io.netty").setLevel(Level.WARN);
        context.getLogger("io.etcd.jetcd").setLevel(Level.ERROR);
        context.getLogger("io.vertx").setLevel(Level.WARN);
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(rootLevel());
        root.addAppender(err);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /**
     * Drops Micrometer's "This Gauge has been already registered" when the gauge is one of Vert.x's: Vert.x Micrometer
     * 4.5's {@code Gauges.get} registers its gauge again for each new server or connection, by design (the gauge reads
     * a counter shared by everything with its tags), and Micrometer warns at the second registration, so every node
     * logged a warning at start that meant nothing. Any other gauge registered twice is still reported.
     */
    static final class VertxGaugeNoise extends Filter<ILoggingEvent> {
        @Override
        public FilterReply decide(ILoggingEvent event) {
            if (!"io.micrometer.core.instrument.MeterRegistry".equals(event.getLoggerName())) {
                return FilterReply.NEUTRAL;
            }
            String message = event.getFormattedMessage();
            return message != null && message.startsWith("This Gauge has been already registered (MeterId{name='vertx.")
                    ? FilterReply.DENY : FilterReply.NEUTRAL;
        }
    }

    /** {@code RADIOD_LOG_LEVEL} (system property, then environment); INFO when unset or not a level. */
    static Level rootLevel() {
        String name = System.getProperty("RADIOD_LOG_LEVEL");
        if (name == null || name.isBlank()) {
            name = System.getenv("RADIOD_LOG_LEVEL");
        }
        return Level.toLevel(name == null ? null : name.trim(), Level.INFO);
    }
}
