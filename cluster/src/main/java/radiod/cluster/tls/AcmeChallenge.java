package radiod.cluster.tls;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A DNS-01 challenge record, at {@code acme/challenges/<id>}, on the lease of the node that is validating an order:
 * every node's DNS answers {@code name TXT "value"} while it exists, and it goes with that node.
 *
 * @param name  the record's owner, e.g. {@code _acme-challenge.radio.example.org.} (lower case, with or without the
 *              final dot)
 * @param value the TXT value: the challenge's digest
 * @param by    the node that wrote it
 * @param at    when, epoch milliseconds
 */
public record AcmeChallenge(String name, String value, String by, long at) {
    public static final String PREFIX = "_acme-challenge.";
    private static final Pattern NAME = Pattern.compile(
            "_acme-challenge(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+\\.?");
    private static final Pattern VALUE = Pattern.compile("[\\x21-\\x7e]{1,255}");

    public AcmeChallenge {
        name = name == null ? null : name.toLowerCase(Locale.ROOT);
        if (name == null || name.length() > 254 || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("name: '" + name + "' is not an _acme-challenge name");
        }
        if (value == null || !VALUE.matcher(value).matches()) {
            throw new IllegalArgumentException("value: not 1 to 255 printable ASCII characters");
        }
        by = Objects.requireNonNullElse(by, "");
    }

    /** The owner without its final dot. */
    public String host() {
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }
}
