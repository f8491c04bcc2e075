package radiod.controller.icecast;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Objects;

/**
 * How to run the local Icecast.
 *
 * @param binary         the icecast2 executable
 * @param dir            working directory: config, logs, pid file
 * @param bind           listen address
 * @param port           listen port (peers only; never exposed to listeners directly)
 * @param hostname       Icecast's {@code <hostname>}
 * @param adminPassword  random per process; Icecast's admin is reachable only by radiod
 * @param runAs          user for {@code <changeowner>} when radiod runs as root; null otherwise
 * @param runAsGroup     group for {@code <changeowner>}
 * @param trustedProxy   address whose X-Forwarded-For Icecast honours (this node's passthrough proxy)
 * @param maxClients     Icecast's client limit
 */
public record IcecastSettings(Path binary, Path dir, String bind, int port, String hostname, String adminPassword,
                              String runAs, String runAsGroup, String trustedProxy, int maxClients) {
    private static final SecureRandom RANDOM = new SecureRandom();

    public IcecastSettings {
        Objects.requireNonNull(binary, "binary");
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(bind, "bind");
        Objects.requireNonNull(adminPassword, "adminPassword");
    }

    /** A password no one can guess or needs to know. */
    public static String randomPassword() {
        byte[] b = new byte[24];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    public Path configFile() {
        return dir.resolve("icecast.xml");
    }

    public Path pidFile() {
        return dir.resolve("icecast.pid");
    }

    public Path logDir() {
        return dir.resolve("log");
    }
}
