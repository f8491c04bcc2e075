package radiod.controller.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.util.List;
import java.util.ServiceLoader;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.jul.LevelChangePropagator;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.read.ListAppender;
import ch.qos.logback.core.spi.FilterReply;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

class DaemonLoggingTest {
    private final String configFile = System.getProperty("logback.configurationFile");

    @AfterEach
    void restore() {
        System.clearProperty(DaemonLogging.DAEMON_PROPERTY);
        System.clearProperty("RADIOD_LOG_LEVEL");
        if (configFile == null) {
            System.clearProperty("logback.configurationFile");
        } else {
            System.setProperty("logback.configurationFile", configFile);
        }
    }

    private static ExecutionStatus configure(LoggerContext context) {
        DaemonLogging logging = new DaemonLogging();
        logging.setContext(context);
        return logging.configure(context);
    }

    @Test
    void logbackFindsItAsAService() {
        assertTrue(ServiceLoader.load(Configurator.class).stream().anyMatch(p -> p.type() == DaemonLogging.class));
    }

    @Test
    void theDaemonLogsOneLinePerEventOnStderrWithQuietLibraries() {
        System.setProperty(DaemonLogging.DAEMON_PROPERTY, "true");
        System.clearProperty("logback.configurationFile");
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new LogbackMDCAdapter()); // as logback's service provider gives its context
        PrintStream stderr = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            assertEquals(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY, configure(context));
            context.getLogger("radiod.controller.node.RadiodNode").info("node {} up", "n1");
            context.getLogger("radiod.controller.node.RadiodNode").debug("not shown");
            context.getLogger("io.grpc.internal.ManagedChannelImpl").info("not shown either");
            context.getLogger("io.grpc.internal.ManagedChannelImpl").warn("channel trouble");
        } finally {
            System.setErr(stderr);
        }
        String[] lines = captured.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(2, lines.length, String.join("\n", lines));
        assertTrue(lines[0].matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  RadiodNode - node n1 up"), lines[0]);
        assertTrue(lines[1].matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} WARN  ManagedChannelImpl - channel trouble"), lines[1]);
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        assertEquals(Level.INFO, root.getLevel());
        ConsoleAppender<ILoggingEvent> err = assertInstanceOf(ConsoleAppender.class, root.getAppender("ERR"));
        assertInstanceOf(LineEncoder.class, err.getEncoder(), "not logback's pattern layout (~150 classes per node)");
        assertEquals(Level.ERROR, context.getLogger("io.etcd.jetcd").getLevel());
        assertEquals(Level.WARN, context.getLogger("io.netty").getLevel());
        assertEquals(Level.WARN, context.getLogger("io.vertx").getLevel());
        assertTrue(context.getCopyOfListenerList().stream().anyMatch(l -> l instanceof LevelChangePropagator),
                "java.util.logging's levels follow logback's (gRPC logs through it)");
        context.stop();
    }

    @Test
    void theLevelComesFromRadiodLogLevel() {
        System.setProperty(DaemonLogging.DAEMON_PROPERTY, "true");
        System.clearProperty("logback.configurationFile");
        System.setProperty("RADIOD_LOG_LEVEL", "debug");
        LoggerContext context = new LoggerContext();
        configure(context);
        assertEquals(Level.DEBUG, context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).getLevel());
        context.stop();
        System.setProperty("RADIOD_LOG_LEVEL", "no-such-level");
        assertEquals(Level.INFO, DaemonLogging.rootLevel());
    }

    @Test
    void anythingButTheDaemonOrAnOperatorsFileGoesToLogbacksOwnConfiguration() {
        LoggerContext context = new LoggerContext();
        System.clearProperty(DaemonLogging.DAEMON_PROPERTY); // radioctl, tests
        assertEquals(ExecutionStatus.INVOKE_NEXT_IF_ANY, configure(context));
        System.setProperty(DaemonLogging.DAEMON_PROPERTY, "true");
        System.setProperty("logback.configurationFile", "/etc/radiod/logback.xml"); // an operator's own
        assertEquals(ExecutionStatus.INVOKE_NEXT_IF_ANY, configure(context));
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        assertNull(root.getAppender("ERR"));
        assertFalse(root.iteratorForAppenders().hasNext());
        context.stop();
    }

    /**
     * Micrometer's own warning, as it logs it, for a gauge registered twice: dropped for Vert.x's gauges (Vert.x
     * registers them again by design), kept for any other, and the filter is on the daemon's appender.
     */
    @Test
    void vertxGaugesRegisteredAgainAreNotWarnedAboutOthersAre() {
        ILoggingEvent vertx = micrometerWarningFor("vertx.net.server.active.connections");
        ILoggingEvent ours = micrometerWarningFor("radiod.listeners");
        assertTrue(vertx.getFormattedMessage().startsWith("This Gauge has been already registered"), vertx.getFormattedMessage());
        DaemonLogging.VertxGaugeNoise filter = new DaemonLogging.VertxGaugeNoise();
        assertEquals(FilterReply.DENY, filter.decide(vertx));
        assertEquals(FilterReply.NEUTRAL, filter.decide(ours));

        System.setProperty(DaemonLogging.DAEMON_PROPERTY, "true");
        System.clearProperty("logback.configurationFile");
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new LogbackMDCAdapter());
        configure(context);
        ConsoleAppender<ILoggingEvent> err = (ConsoleAppender<ILoggingEvent>) context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)
                .getAppender("ERR");
        assertEquals(FilterReply.DENY, err.getFilterChainDecision(vertx));
        assertEquals(FilterReply.NEUTRAL, err.getFilterChainDecision(ours));
        context.stop();
    }

    /**
     * The daemon's encoder writes what logback's pattern layout writes for {@link DaemonLogging#PATTERN}, byte for
     * byte: every level, loggers with and without a package, arguments, a null message, throwables with a cause and a
     * suppressed one, times around midnight and both ends of summer time.
     */
    @Test
    void theLineIsWhatLogbacksPatternWrites() {
        for (String zoneName : List.of("UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu")) {
            ZoneId zone = ZoneId.of(zoneName);
            LoggerContext context = new LoggerContext();
            PatternLayoutEncoder pattern = new PatternLayoutEncoder();
            pattern.setContext(context);
            pattern.setPattern(DaemonLogging.PATTERN.replace("%d{HH:mm:ss.SSS}", "%d{HH:mm:ss.SSS, " + zoneName + "}"));
            pattern.setCharset(StandardCharsets.UTF_8); // the daemon writes UTF-8 whatever the locale (journald's)
            pattern.start();
            LineEncoder line = new LineEncoder(zone);
            line.setContext(context);
            line.start();
            ch.qos.logback.classic.Logger[] loggers = {context.getLogger("radiod.controller.node.RadiodNode"),
                    context.getLogger("toplevel"), context.getLogger("io.grpc.internal.ManagedChannelImpl$1"),
                    context.getLogger("ends.with.dot.")};
            IllegalStateException cause = new IllegalStateException("inner");
            RuntimeException thrown = new RuntimeException("outer", cause);
            thrown.addSuppressed(new java.io.IOException("closing"));
            long[] times = {-86_400_001L, 0L, 86_399_999L, 1_711_846_799_999L, 1_711_846_800_000L, 1_729_990_799_999L, 1_729_990_800_000L,
                    System.currentTimeMillis()};
            int compared = 0;
            for (Level level : List.of(Level.TRACE, Level.DEBUG, Level.INFO, Level.WARN, Level.ERROR)) {
                for (ch.qos.logback.classic.Logger logger : loggers) {
                    for (long time : times) {
                        for (Object[] call : new Object[][] {{"node {} up at {}", new Object[] {"n1", 7}, null},
                                {null, null, null}, {"ünïcödé – {}", new Object[] {"x"}, null},
                                {"failed", null, thrown}, {"no cause", null, cause}}) {
                            LoggingEvent event = new LoggingEvent(Logger.class.getName(), logger, level, (String) call[0],
                                    (Throwable) call[2], (Object[]) call[1]);
                            event.setTimeStamp(time);
                            assertEquals(new String(pattern.encode(event), StandardCharsets.UTF_8),
                                    new String(line.encode(event), StandardCharsets.UTF_8), zoneName + " " + time);
                            compared++;
                        }
                    }
                }
            }
            assertEquals(5 * 4 * 8 * 5, compared);
            context.stop();
        }
    }

    /** What Micrometer logs when a gauge of that name is registered a second time in a registry. */
    private static ILoggingEvent micrometerWarningFor(String name) {
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger("io.micrometer.core.instrument.MeterRegistry");
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.start();
        logger.addAppender(events);
        Level level = logger.getLevel();
        logger.setLevel(Level.DEBUG);
        try {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            Gauge.builder(name, () -> 1).register(registry);
            Gauge.builder(name, () -> 2).register(registry);
        } finally {
            logger.setLevel(level);
            logger.detachAppender(events);
        }
        // WARN the first time in a JVM, DEBUG after (Micrometer's WarnThenDebugLogger); the same words either way
        return events.list.stream().filter(e -> e.getFormattedMessage().contains("already registered")).findFirst()
                .orElseThrow(() -> new AssertionError("Micrometer did not log about " + name + ": " + events.list));
    }
}
