package radiod.controller.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

/** Reads {@link RadiodConfig} from YAML; every failure is one line naming the file and the field. */
public final class ConfigLoader {
    private static final ObjectMapper YAML = YAMLMapper.builder(new YAMLFactory())
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private ConfigLoader() {
    }

    /** A configuration problem, already worded for the operator. */
    public static final class ConfigException extends Exception {
        public ConfigException(String message) {
            super(printable(message));
        }

        /** One line: the file's text may put line breaks and other control characters into a message. */
        private static String printable(String message) {
            StringBuilder b = new StringBuilder(message.length());
            message.codePoints().forEach(c -> {
                if (c == '\n') {
                    b.append("\\n");
                } else if (c < 0x20 || c == 0x7f || Character.getType(c) == Character.LINE_SEPARATOR
                        || Character.getType(c) == Character.PARAGRAPH_SEPARATOR) {
                    b.append(String.format("\\u%04x", c));
                } else {
                    b.appendCodePoint(c);
                }
            });
            return b.toString();
        }
    }

    public static RadiodConfig load(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config " + file + ": no such file");
        } catch (IOException e) {
            throw new ConfigException("config " + file + ": cannot read: " + e.getMessage());
        }
        return parse(file.toString(), text);
    }

    public static RadiodConfig parse(String origin, String yaml) throws ConfigException {
        if (yaml.isBlank()) {
            throw new ConfigException("config " + origin + ": empty; node.name and node.addresses are required");
        }
        try {
            RadiodConfig config = YAML.readValue(yaml, RadiodConfig.class);
            if (config == null) {
                throw new ConfigException("config " + origin + ": empty; node.name and node.addresses are required");
            }
            config.etcd().options(); // checks endpoints, TLS files, prefix
            return config;
        } catch (UnrecognizedPropertyException e) {
            throw new ConfigException("config " + origin + ": " + path(e) + " is not a known setting (known here: "
                    + e.getKnownPropertyIds().stream().map(Object::toString).sorted().collect(Collectors.joining(", ")) + ")");
        } catch (InputCoercionException e) {
            throw outOfRange(origin, e);
        } catch (JsonMappingException e) {
            Throwable cause = e.getCause();
            if (cause instanceof InputCoercionException range) {
                throw outOfRange(origin, range);
            }
            if (cause instanceof StreamReadException syntax) {
                throw new ConfigException("config " + origin + ": not valid YAML: "
                        + syntax.getOriginalMessage().lines().findFirst().orElse("") + location(syntax));
            }
            String field = path(e);
            if (cause instanceof IllegalArgumentException iae) {
                // A record's own check names its fields; a value's type (a file path, say) does not.
                String m = String.valueOf(iae.getMessage());
                throw new ConfigException("config " + origin + ": "
                        + (field.isEmpty() || m.startsWith(field) ? m : field + ": " + m));
            }
            throw new ConfigException("config " + origin + ": " + (field.isEmpty() ? "" : field + ": ")
                    + e.getOriginalMessage().lines().findFirst().orElse("invalid value"));
        } catch (StreamReadException e) {
            throw new ConfigException("config " + origin + ": not valid YAML: "
                    + e.getOriginalMessage().lines().findFirst().orElse("") + location(e));
        } catch (IOException e) {
            throw new ConfigException("config " + origin + ": cannot read: " + e.getMessage().lines().findFirst().orElse(""));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("config " + origin + ": " + e.getMessage());
        }
    }

    /** A number too large for its field: valid YAML, so the field is named, not a line. */
    private static ConfigException outOfRange(String origin, InputCoercionException e) {
        JsonParser p = e.getProcessor();
        String field = p == null ? "" : path(p.getParsingContext());
        String value;
        try {
            value = p == null ? "the number" : p.getText();
        } catch (IOException unreadable) {
            value = "the number";
        }
        long max = e.getTargetType() == Long.TYPE || e.getTargetType() == Long.class ? Long.MAX_VALUE : Integer.MAX_VALUE;
        return new ConfigException("config " + origin + ": " + (field.isEmpty() ? "" : field + ": ") + value
                + " is out of range (at most " + max + ")" + location(e));
    }

    private static String path(JsonStreamContext context) {
        List<String> names = new ArrayList<>();
        for (JsonStreamContext c = context; c != null && !c.inRoot(); c = c.getParent()) {
            names.add(0, c.inArray() ? "[" + c.getCurrentIndex() + "]" : String.valueOf(c.getCurrentName()));
        }
        return String.join(".", names).replace(".[", "[");
    }

    private static String location(StreamReadException e) {
        return e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
    }

    private static String path(JsonMappingException e) {
        return e.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[");
    }
}
