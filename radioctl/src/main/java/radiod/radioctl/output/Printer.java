package radiod.radioctl.output;

import java.io.PrintWriter;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * Where a command's words go: results to standard output (a table or text for people, one JSON document
 * with {@code --json}), errors and notes to standard error, always prefixed {@code radioctl:}.
 */
public final class Printer {
    /** JSON for scripts: indented, and null fields kept so that every document of a kind has the same keys. */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .serializationInclusion(JsonInclude.Include.ALWAYS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private final PrintWriter out;
    private final PrintWriter err;
    private final boolean json;

    public Printer(PrintWriter out, PrintWriter err, boolean json) {
        this.out = out;
        this.err = err;
        this.json = json;
    }

    /** Whether {@code --json} was asked for: print {@link #json(Object)} instead of text. */
    public boolean wantsJson() {
        return json;
    }

    public void line(String text) {
        out.println(text);
        out.flush();
    }

    public void lines(String text) {
        out.print(text.endsWith("\n") ? text : text + "\n");
        out.flush();
    }

    public void json(Object value) {
        try {
            out.println(JSON.writeValueAsString(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
        }
        out.flush();
    }

    public void error(String message) {
        err.println("radioctl: " + message);
        err.flush();
    }

    /** Something the operator should change, although the command goes on. */
    public void warning(String message) {
        err.println("radioctl: warning: " + message);
        err.flush();
    }

    public void note(String message) {
        err.println("radioctl: note: " + message);
        err.flush();
    }
}
