package radiod.controller.logging;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.encoder.EncoderBase;

/**
 * The daemon's log line, {@code HH:mm:ss.SSS LEVEL Logger - message}, then the stack trace of a logged throwable as
 * logback prints it: what the pattern {@link DaemonLogging#PATTERN} gives, written directly, in UTF-8 whatever the
 * locale (journald reads UTF-8; under a C locale logback's encoder wrote a song title's accents as {@code ?}).
 *
 * <p>Not logback's {@code PatternLayoutEncoder}: its layout registers a converter and a constructor lambda for every
 * pattern word logback knows, ~170 classes in every node for the five words radiod uses (issue 19's footprint).
 */
final class LineEncoder extends EncoderBase<ILoggingEvent> {
    private static final byte[] NONE = new byte[0];
    private final ZoneId zone;

    LineEncoder(ZoneId zone) {
        this.zone = zone;
    }

    @Override
    public byte[] headerBytes() {
        return NONE;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        StringBuilder line = new StringBuilder(128);
        appendTime(line, event.getTimeStamp(), zone);
        line.append(' ');
        String level = event.getLevel().toString();
        line.append(level);
        for (int i = level.length(); i < 5; i++) {
            line.append(' ');
        }
        line.append(' ');
        String logger = event.getLoggerName();
        line.append(logger, logger.lastIndexOf('.') + 1, logger.length());
        line.append(" - ").append(event.getFormattedMessage()).append(CoreConstants.LINE_SEPARATOR);
        IThrowableProxy thrown = event.getThrowableProxy();
        if (thrown != null) {
            line.append(ThrowableProxyUtil.asString(thrown));
        }
        return line.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] footerBytes() {
        return NONE;
    }

    /** The wall-clock time of day of {@code epochMillis} in {@code zone}, as {@code HH:mm:ss.SSS}. */
    static void appendTime(StringBuilder line, long epochMillis, ZoneId zone) {
        long offsetMillis = zone.getRules().getOffset(Instant.ofEpochMilli(epochMillis)).getTotalSeconds() * 1000L;
        long ofDay = Math.floorMod(epochMillis + offsetMillis, 86_400_000L);
        digits(line, ofDay / 3_600_000, 2).append(':');
        digits(line, ofDay / 60_000 % 60, 2).append(':');
        digits(line, ofDay / 1_000 % 60, 2).append('.');
        digits(line, ofDay % 1_000, 3);
    }

    private static StringBuilder digits(StringBuilder line, long value, int width) {
        String s = Long.toString(value);
        for (int i = s.length(); i < width; i++) {
            line.append('0');
        }
        return line.append(s);
    }
}
