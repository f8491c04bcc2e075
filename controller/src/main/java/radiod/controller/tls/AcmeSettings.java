package radiod.controller.tls;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Certificates from an ACME CA (Let's Encrypt, a private step-ca, pebble in tests) by DNS-01, for the cluster's zone
 * apex and {@code *.<zone>} (the zone is {@code dns.zone}). Read from YAML under {@code tls.acme}; every check names
 * its field.
 *
 * @param directory       the CA's directory URL ({@code https://…/directory}), or an acme4j {@code acme://} URI
 * @param email           the account's contact address; null or empty for none
 * @param caFile          extra CA certificates (PEM) trusted for the ACME server's own HTTPS, besides the JDK's (for
 *                        pebble and private CAs); null for none. Never trusted for anything else.
 * @param renewBeforeDays renew this many days before expiry (default 30); for certificates that live less than three
 *                        times that, a third of their lifetime
 */
public record AcmeSettings(String directory, String email, Path caFile, Integer renewBeforeDays) {
    public static final int DEFAULT_RENEW_BEFORE_DAYS = 30;
    private static final Pattern EMAIL = Pattern.compile("[^@\\s]+@[^@\\s]+\\.[^@\\s]+");

    public AcmeSettings {
        if (directory == null || directory.isBlank()) {
            throw new IllegalArgumentException("tls.acme.directory is required: the ACME CA's directory URL, e.g. "
                    + "https://acme-v02.api.letsencrypt.org/directory");
        }
        directory = directory.strip();
        URI uri;
        try {
            uri = new URI(directory);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("tls.acme.directory: '" + directory + "' is not a URL: " + e.getMessage());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("acme") || uri.getHost() == null) {
            throw new IllegalArgumentException("tls.acme.directory must be an https:// URL (ACME is spoken over HTTPS only),"
                    + " got '" + directory + "'");
        }
        if (caFile != null && !scheme.equals("https")) {
            throw new IllegalArgumentException("tls.acme.ca_file needs an https:// directory URL, got '" + directory + "'");
        }
        if (email != null) {
            email = email.strip();
            if (email.isEmpty()) {
                email = null;
            } else if (!EMAIL.matcher(email).matches()) {
                throw new IllegalArgumentException("tls.acme.email: '" + email + "' is not an e-mail address");
            }
        }
        if (renewBeforeDays == null) {
            renewBeforeDays = DEFAULT_RENEW_BEFORE_DAYS;
        }
        if (renewBeforeDays < 1 || renewBeforeDays > 365) {
            throw new IllegalArgumentException("tls.acme.renew_before_days must be between 1 and 365, got " + renewBeforeDays);
        }
    }

    public static AcmeSettings of(String directory) {
        return new AcmeSettings(directory, null, null, null);
    }

    public AcmeSettings withCaFile(Path file) {
        return new AcmeSettings(directory, email, file, renewBeforeDays);
    }

    public AcmeSettings withEmail(String address) {
        return new AcmeSettings(directory, address, caFile, renewBeforeDays);
    }

    public Duration renewBefore() {
        return Duration.ofDays(renewBeforeDays);
    }

    public URI directoryUri() {
        return URI.create(directory);
    }
}
