package radiod.controller.config;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

/**
 * Builds radiod's configuration records from a parsed YAML document (mappings, lists and scalars): a record's
 * components are its settings, spelt in snake_case ({@code lease_ttl} for {@code leaseTtl}); each value is converted to
 * its component's type (text, a whole number in range, true or false, a file path, a list, a section) and a value that
 * does not fit is reported with its dotted path. A missing setting is null (0 or false for a primitive), which the
 * records turn into their defaults; a record's own check names its fields itself.
 *
 * <p>What databind did for radiod before (issue 19: databind cost every node ~850 classes); quoted numbers and booleans
 * are still read as numbers and booleans, but a fractional number is no longer cut to a whole one.
 */
final class ConfigBinding {
    private ConfigBinding() {
    }

    /** A value that does not fit, worded for the operator and naming its setting. */
    static final class Problem extends RuntimeException {
        Problem(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * A number or boolean as the YAML parser typed it, with the text it was written as: a text setting takes the text
     * ({@code password: 0123} is "0123", not the octal 83; {@code user: yes} is "yes"), as databind gave it.
     */
    record Scalar(Object value, String text) {
    }

    /**
     * The document at the parser's current token as mappings (a key given twice counts as its last value, as databind
     * mostly did), lists, text, {@link Scalar}s and nulls.
     */
    static Object tree(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    p.nextToken();
                    m.put(key, tree(p));
                }
                return m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    l.add(tree(p));
                }
                return l;
            }
            case VALUE_NULL -> {
                return null;
            }
            case VALUE_STRING -> {
                return p.getText();
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> {
                return new Scalar(p.getNumberValue(), p.getText());
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return new Scalar(t == JsonToken.VALUE_TRUE, p.getText());
            }
            default -> {
                return new Scalar(p.getEmbeddedObject(), p.getText());
            }
        }
    }

    static <T> T bind(Class<T> type, Object document) {
        return type.cast(record(type, document, ""));
    }

    private static Object record(Class<?> type, Object value, String path) {
        if (value == null) {
            return null;
        }
        if (!(value instanceof Map<?, ?> settings)) {
            throw new Problem(prefix(path) + "expected a section of settings, got " + describe(value));
        }
        RecordComponent[] components = type.getRecordComponents();
        Map<String, RecordComponent> byKey = new LinkedHashMap<>();
        for (RecordComponent c : components) {
            byKey.put(snakeCase(c.getName()), c);
        }
        for (Object key : settings.keySet()) {
            if (!byKey.containsKey(String.valueOf(key))) {
                throw new Problem(join(path, String.valueOf(key)) + " is not a known setting (known here: "
                        + String.join(", ", new TreeSet<>(byKey.keySet())) + ")");
            }
        }
        Object[] args = new Object[components.length];
        Class<?>[] types = new Class<?>[components.length];
        int i = 0;
        for (Map.Entry<String, RecordComponent> e : byKey.entrySet()) {
            types[i] = e.getValue().getType();
            args[i] = convert(e.getValue().getGenericType(), settings.get(e.getKey()), join(path, e.getKey()));
            i++;
        }
        try {
            Constructor<?> canonical = type.getDeclaredConstructor(types);
            return canonical.newInstance(args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof IllegalArgumentException iae) {
                String m = String.valueOf(iae.getMessage());
                throw new Problem(path.isEmpty() || m.startsWith(path) ? m : path + ": " + m);
            }
            // A check that failed another way than a record's own: still the section's fault, worded
            throw new Problem(prefix(path) + (e.getCause() instanceof NullPointerException
                    ? "a value in it is empty" : e.getCause().getMessage() == null ? "not valid"
                    : "not valid (" + e.getCause().getMessage() + ")"));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("config record " + type.getName() + " cannot be built", e);
        }
    }

    private static Object convert(Type type, Object value, String path) {
        Class<?> raw = type instanceof ParameterizedType p ? (Class<?>) p.getRawType() : (Class<?>) type;
        if (value instanceof Scalar s) {
            value = raw == String.class ? s.text() : s.value();
        }
        if (raw.isRecord()) {
            return record(raw, value, path);
        }
        boolean scalar = raw == Integer.TYPE || raw == Integer.class || raw == Long.TYPE || raw == Long.class
                || raw == Boolean.TYPE || raw == Boolean.class;
        if (value == null || scalar && value instanceof String s && s.isBlank()) { // as databind: blank is unset
            return raw == Integer.TYPE ? Integer.valueOf(0) : raw == Long.TYPE ? Long.valueOf(0)
                    : raw == Boolean.TYPE ? Boolean.FALSE : null;
        }
        if (raw == String.class) {
            if (value instanceof String || value instanceof Number || value instanceof Boolean) {
                return value.toString();
            }
            throw new Problem(path + ": expected text, got " + describe(value));
        }
        if (raw == Integer.TYPE || raw == Integer.class) {
            return whole(value, path, BigInteger.valueOf(Integer.MIN_VALUE), BigInteger.valueOf(Integer.MAX_VALUE)).intValue();
        }
        if (raw == Long.TYPE || raw == Long.class) {
            return whole(value, path, BigInteger.valueOf(Long.MIN_VALUE), BigInteger.valueOf(Long.MAX_VALUE)).longValue();
        }
        if (raw == Boolean.TYPE || raw == Boolean.class) {
            if (value instanceof Boolean b) {
                return b;
            }
            if (value instanceof String s && (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false"))) {
                return Boolean.valueOf(s);
            }
            if (value instanceof Integer || value instanceof Long || value instanceof BigInteger) {
                return ((Number) value).longValue() != 0 || value instanceof BigInteger b && b.signum() != 0; // as databind
            }
            throw new Problem(path + ": expected true or false, got " + describe(value));
        }
        if (raw == Path.class) {
            if (!(value instanceof String text)) {
                throw new Problem(path + ": expected a file path, got " + describe(value));
            }
            try {
                // As databind read them: with a colon, a file: URI (file:///etc/x), else no path
                return text.indexOf(':') < 0 ? Path.of(text) : Path.of(new URI(text));
            } catch (InvalidPathException e) {
                throw new Problem(path + ": '" + text + "' is not a file path (" + e.getReason() + ")");
            } catch (URISyntaxException | IllegalArgumentException | FileSystemNotFoundException e) {
                throw new Problem(path + ": '" + text + "' is not a file path (a colon makes it a URI, and only a"
                        + " file: URI names a file)");
            }
        }
        if (raw == List.class) {
            if (!(value instanceof List<?> items)) {
                throw new Problem(path + ": expected a list, got " + describe(value));
            }
            Type item = ((ParameterizedType) type).getActualTypeArguments()[0];
            List<Object> out = new ArrayList<>(items.size());
            for (int i = 0; i < items.size(); i++) {
                out.add(convert(item, items.get(i), path + "[" + i + "]"));
            }
            return out;
        }
        throw new IllegalStateException(path + ": no conversion to " + type.getTypeName());
    }

    /** A whole number within [min, max]: an integer, an integral decimal, or text holding one. */
    private static BigInteger whole(Object value, String path, BigInteger min, BigInteger max) {
        BigInteger n;
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            n = BigInteger.valueOf(((Number) value).longValue());
        } else if (value instanceof BigInteger b) {
            n = b;
        } else if (value instanceof Number || value instanceof String) {
            BigDecimal d;
            try {
                d = new BigDecimal(value.toString().trim());
            } catch (NumberFormatException e) {
                throw new Problem(path + ": expected a whole number, got " + describe(value));
            }
            try {
                n = d.toBigIntegerExact();
            } catch (ArithmeticException e) {
                throw new Problem(path + ": " + value + " is not a whole number");
            }
        } else {
            throw new Problem(path + ": expected a whole number, got " + describe(value));
        }
        if (n.compareTo(min) < 0 || n.compareTo(max) > 0) {
            throw new Problem(path + ": " + n + " is out of range (" + (n.signum() < 0 ? "at least " + min : "at most " + max)
                    + ")");
        }
        return n;
    }

    private static String describe(Object value) {
        if (value instanceof Scalar s) {
            return s.text();
        }
        if (value instanceof Map<?, ?>) {
            return "a section";
        }
        if (value instanceof List<?>) {
            return "a list";
        }
        return value instanceof String ? "'" + value + "'" : String.valueOf(value);
    }

    static String snakeCase(String name) {
        StringBuilder b = new StringBuilder(name.length() + 4);
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (Character.isUpperCase(c)) {
                b.append('_').append(Character.toLowerCase(c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private static String prefix(String path) {
        return path.isEmpty() ? "" : path + ": ";
    }
}
