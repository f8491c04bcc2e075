package radiod.controller.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/** Reads {@link RadiodConfig} from YAML; every failure is one line naming the file and the field. */
public final class ConfigLoader {
    private static final YAMLFactory YAML = new YAMLFactory();
    private static final String EMPTY = ": empty; node.name and node.addresses are required";

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
            throw new ConfigException("config " + origin + EMPTY);
        }
        try {
            Object document;
            try (JsonParser p = YAML.createParser(yaml)) {
                document = p.nextToken() == null ? null : ConfigBinding.tree(p);
            }
            RadiodConfig config = ConfigBinding.bind(RadiodConfig.class, document);
            if (config == null) {
                throw new ConfigException("config " + origin + EMPTY);
            }
            config.etcd().options(); // checks endpoints, TLS files, prefix
            return config;
        } catch (ConfigBinding.Problem e) {
            throw new ConfigException("config " + origin + ": " + e.getMessage());
        } catch (StreamReadException e) {
            throw new ConfigException("config " + origin + ": not valid YAML: "
                    + e.getOriginalMessage().lines().findFirst().orElse("") + location(e));
        } catch (IOException e) {
            throw new ConfigException("config " + origin + ": cannot read: " + e.getMessage().lines().findFirst().orElse(""));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("config " + origin + ": " + e.getMessage());
        }
    }

    private static String location(StreamReadException e) {
        return e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
    }
}
