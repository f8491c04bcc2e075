package radiod.cluster.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The one JSON mapping of radiod's values: unknown fields are tolerated (newer nodes may add some),
 * nulls are left out, and a corrupt value is logged and skipped rather than thrown.
 */
public final class Json {
    private static final Logger log = LoggerFactory.getLogger(Json.class);

    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .build();

    private Json() {
    }

    public static byte[] encode(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String encodeString(Object value) {
        return new String(encode(value), StandardCharsets.UTF_8);
    }

    /** Strict decode: throws {@link IllegalArgumentException} with the reason. */
    public static <T> T decodeStrict(byte[] bytes, Class<T> type) {
        try {
            T value = MAPPER.readValue(bytes, type);
            if (value == null) {
                throw new IllegalArgumentException("empty value");
            }
            return value;
        } catch (IOException e) {
            Throwable cause = e.getCause() instanceof IllegalArgumentException iae ? iae : e;
            throw new IllegalArgumentException(cause.getMessage(), e);
        }
    }

    /** Lenient decode for values read from etcd: a corrupt value is logged with its key and skipped. */
    public static <T> Optional<T> decode(String key, byte[] bytes, Class<T> type) {
        try {
            return Optional.of(decodeStrict(bytes, type));
        } catch (IllegalArgumentException e) {
            log.warn("skipping corrupt value at {}: {}", key, firstLine(e.getMessage()));
            return Optional.empty();
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unreadable";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
