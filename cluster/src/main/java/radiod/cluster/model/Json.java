package radiod.cluster.model;

import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.jr.ob.JSON;
import com.fasterxml.jackson.jr.ob.JSONObjectException;
import com.fasterxml.jackson.jr.ob.JacksonJrExtension;
import com.fasterxml.jackson.jr.ob.api.ExtensionContext;
import com.fasterxml.jackson.jr.ob.api.ReaderWriterModifier;
import com.fasterxml.jackson.jr.ob.api.ReaderWriterProvider;
import com.fasterxml.jackson.jr.ob.api.ValueReader;
import com.fasterxml.jackson.jr.ob.impl.BeanPropertyIntrospector;
import com.fasterxml.jackson.jr.ob.impl.JSONReader;
import com.fasterxml.jackson.jr.ob.impl.JSONWriter;
import com.fasterxml.jackson.jr.ob.impl.POJODefinition;

/**
 * The one JSON mapping of radiod's values: unknown fields are tolerated (newer nodes may add some), nulls are left
 * out, and a corrupt value is logged and skipped rather than thrown. Records map by their components' names, as
 * databind mapped them: values written by either read the same ({@code JsonCompatibilityTest}).
 *
 * <p>jackson-jr, not databind: a node that loads databind holds ~850 more classes, ~6 MB of memory at idle
 * (bench/RESULTS.md, issue 19's footprint).
 */
public final class Json {
    private static final Logger log = LoggerFactory.getLogger(Json.class);

    /**
     * Unknown properties ignored and nulls not written (jackson-jr's defaults, stated here as the contract); a record's
     * properties are its components, in their order ({@link RecordComponents}), each value of the kind its type needs
     * ({@link StrictScalars}); a map given a key twice is refused.
     */
    public static final JSON JR = JSON.builder()
            .register(new Mapping())
            .disable(JSON.Feature.FAIL_ON_UNKNOWN_BEAN_PROPERTY)
            .disable(JSON.Feature.WRITE_NULL_PROPERTIES)
            .build();

    private Json() {
    }

    /** radiod's two corrections to jackson-jr: {@link RecordComponents} and {@link StrictScalars}. */
    static final class Mapping extends JacksonJrExtension {
        @Override
        protected void register(ExtensionContext ctxt) {
            ctxt.insertProvider(new StrictScalars());
            ctxt.insertModifier(new RecordComponents());
        }
    }

    /**
     * A record's JSON properties are exactly its components, read and written through their accessors, in declaration
     * order: what databind did. jackson-jr 2.21 takes any method named {@code is...} for a boolean getter first, so a
     * component named {@code issuer} became a property {@code suer}, and a derived {@code isTranscoded()} was
     * written out as {@code transcoded}.
     */
    static final class RecordComponents extends ReaderWriterModifier {
        @Override
        public POJODefinition pojoDefinitionForDeserialization(JSONReader r, Class<?> type) {
            return type.isRecord()
                    ? components(BeanPropertyIntrospector.instance().pojoDefinitionForDeserialization(r, type), type)
                    : null;
        }

        @Override
        public POJODefinition pojoDefinitionForSerialization(JSONWriter w, Class<?> type) {
            return type.isRecord()
                    ? components(BeanPropertyIntrospector.instance().pojoDefinitionForSerialization(w, type), type)
                    : null;
        }

        private static POJODefinition components(POJODefinition found, Class<?> type) {
            List<POJODefinition.Prop> props = new ArrayList<>();
            for (RecordComponent c : type.getRecordComponents()) {
                props.add(new POJODefinition.Prop(c.getName(), c.getName(), null, null, c.getAccessor(), null, null));
            }
            return found.withProperties(props);
        }
    }

    public static byte[] encode(Object value) {
        try {
            return JR.asBytes(value);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write " + value.getClass().getSimpleName() + " as JSON: "
                    + e.getMessage(), e);
        }
    }

    public static String encodeString(Object value) {
        return new String(encode(value), StandardCharsets.UTF_8);
    }

    /** Strict decode: throws {@link IllegalArgumentException} with the reason. */
    public static <T> T decodeStrict(byte[] bytes, Class<T> type) {
        try {
            T value = JR.beanFrom(type, bytes);
            if (value == null) {
                throw new IllegalArgumentException("empty value");
            }
            return value;
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(reason(e), e);
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

    /**
     * Text, whole numbers, booleans and decimals read only from a value of their kind: jackson-jr's own readers take
     * whatever they are given (an object where text belongs was read from inside: {@code {"reason":{"since":99}}}
     * became a drain since 99), where databind refused, and a corrupt value must be skipped, not half read.
     * Text may be written as a number or a boolean, and a whole number as text ({@code "12"}), as databind took them;
     * null is a missing value (0 or false for a primitive).
     */
    static final class StrictScalars extends ReaderWriterProvider {
        private static final Map<Class<?>, Kind> KINDS = Map.of(String.class, Kind.TEXT, Boolean.TYPE, Kind.BOOLEAN,
                Boolean.class, Kind.BOOLEAN, Integer.TYPE, Kind.INT, Integer.class, Kind.INT, Long.TYPE, Kind.LONG,
                Long.class, Kind.LONG, Double.TYPE, Kind.DECIMAL, Double.class, Kind.DECIMAL);

        @Override
        public ValueReader findValueReader(JSONReader ctxt, Class<?> type) {
            Kind kind = KINDS.get(type);
            return kind == null ? null : new Scalar(type, kind);
        }
    }

    private enum Kind {
        TEXT("text", null), BOOLEAN("true or false", false), INT("a whole number in range", 0),
        LONG("a whole number in range", 0L), DECIMAL("a number", 0.0);

        final String wanted;
        /** A primitive's value when the field is null. */
        final Object zero;

        Kind(String wanted, Object zero) {
            this.wanted = wanted;
            this.zero = zero;
        }
    }

    private static final class Scalar extends ValueReader {
        private final Kind kind;

        Scalar(Class<?> type, Kind kind) {
            super(type);
            this.kind = kind;
        }

        @Override
        public Object read(JSONReader reader, JsonParser p) throws IOException {
            JsonToken t = p.currentToken();
            if (t == JsonToken.VALUE_NULL) {
                return valueType().isPrimitive() ? kind.zero : null;
            }
            boolean number = t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT;
            boolean bool = t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE;
            switch (kind) {
                case TEXT -> {
                    if (t == JsonToken.VALUE_STRING || number || bool) {
                        return p.getText();
                    }
                }
                case BOOLEAN -> {
                    if (bool) {
                        return t == JsonToken.VALUE_TRUE;
                    }
                }
                case DECIMAL -> {
                    if (number) {
                        return p.getDoubleValue();
                    }
                }
                case INT, LONG -> {
                    BigInteger n = t == JsonToken.VALUE_NUMBER_INT ? p.getBigIntegerValue()
                            : t == JsonToken.VALUE_STRING ? digits(p.getText()) : null;
                    if (n != null && n.bitLength() < (kind == Kind.INT ? 32 : 64)) {
                        return kind == Kind.INT ? (Object) n.intValue() : (Object) n.longValue();
                    }
                }
            }
            throw new JSONObjectException("expected " + kind.wanted + ", got " + _tokenDesc(p));
        }

        private static BigInteger digits(String text) {
            try {
                return new BigInteger(text.trim());
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }

    /**
     * The record's own complaint when its constructor refused the value, else what the parser said, worded: never a
     * Java exception's name.
     */
    private static String reason(Throwable e) {
        Throwable root = e;
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof IllegalArgumentException && c.getMessage() != null) {
                return c.getMessage();
            }
            root = c;
        }
        if (root instanceof NullPointerException) {
            return "a field is missing or empty";
        }
        String m = String.valueOf(e.getMessage());
        return m.contains("Exception") || m.endsWith(": null") ? "not a value of this kind" : m;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unreadable";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
