package radiod.controller.icecast;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How to run this node's Icecast. Everything here is local to the node; nothing comes from etcd.
 *
 * @param binary         the icecast2 executable
 * @param dir            working directory: config, pid file and {@code log/}
 * @param bind           listen address: a loopback address, always. Only this node's radiod talks to its Icecast
 *                       (feeds, passthrough readers, status reads, transcoders); peers get the audio over the
 *                       source port and proxied listeners over the HTTP port, so nothing else ever needs it. See
 *                       {@link #bindFor(String)}
 * @param port           listen port
 * @param hostname       Icecast's {@code <hostname>}, used in the {@code listenurl} it reports
 * @param adminPassword  random per process: Icecast's admin is reachable only by this radiod
 * @param sourcePassword random per process: the one source password of every mount, known only to this radiod,
 *                       which feeds every mount with it
 * @param maxClients     Icecast's client limit (radiod's readers and feeds and status requests together)
 * @param maxSources     Icecast's source limit; raised to the plan's mount count when that is higher
 * @param runAsUser      user for {@code <changeowner>} when radiod runs as root, else null
 * @param runAsGroup     group for {@code <changeowner>}; set exactly when {@code runAsUser} is
 * @param location       Icecast's {@code <location>}
 * @param adminContact   Icecast's {@code <admin>}
 */
public record IcecastSettings(Path binary, Path dir, String bind, int port, String hostname,
                              String adminPassword, String sourcePassword, int maxClients, int maxSources,
                              String runAsUser, String runAsGroup, String location, String adminContact) {
    public static final Path DEFAULT_BINARY = Path.of("/usr/bin/icecast2");
    /** Debian's icecast2 package creates this user and group. */
    public static final String DEBIAN_USER = "icecast2";
    public static final String DEBIAN_GROUP = "icecast";

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern V4 = Pattern.compile(
            "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");
    private static final Pattern V6 = Pattern.compile("[0-9A-Fa-f:.]+");

    public IcecastSettings {
        Objects.requireNonNull(binary, "icecast binary");
        Objects.requireNonNull(dir, "icecast working dir");
        if (!isLoopback(bind)) {
            throw new IllegalArgumentException("icecast bind address must be a loopback address (127.0.0.0/8 or ::1):"
                    + " only this node's radiod talks to its Icecast; got '" + bind + "'");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("icecast port must be between 1 and 65535, got " + port);
        }
        hostname = hostname == null || hostname.isBlank() ? bind : hostname;
        requirePassword("admin password", adminPassword);
        requirePassword("default source password", sourcePassword);
        if (maxClients < 1) {
            throw new IllegalArgumentException("icecast max clients must be at least 1, got " + maxClients);
        }
        if (maxSources < 1) {
            throw new IllegalArgumentException("icecast max sources must be at least 1, got " + maxSources);
        }
        if ((runAsUser == null) != (runAsGroup == null)) {
            throw new IllegalArgumentException("icecast run-as user and group go together: got user " + runAsUser
                    + ", group " + runAsGroup);
        }
        location = Objects.requireNonNullElse(location, "radiod");
        adminContact = Objects.requireNonNullElse(adminContact, "radiod@localhost");
    }

    /**
     * Settings with fresh random passwords and Debian's defaults: {@code /usr/bin/icecast2}, and when this process
     * runs as root, Debian's {@code icecast2:icecast} for {@code <changeowner>} (Icecast refuses to run as root).
     */
    public static IcecastSettings of(Path dir, String bind, int port, String hostname) {
        boolean root = runningAsRoot();
        return new IcecastSettings(DEFAULT_BINARY, dir, bind, port, hostname, randomPassword(), randomPassword(),
                10_000, 100, root ? DEBIAN_USER : null, root ? DEBIAN_GROUP : null, null, null);
    }

    /**
     * Where this node's Icecast listens, given the node's own listen address: that address when it is a loopback
     * one (several nodes on one machine, as the tests and the demo run them on 127.0.0.11, .12, …, each with its
     * own), else {@code 127.0.0.1}. Never a public or wildcard address: anyone reaching Icecast could listen past
     * the balancer, fill its client limit and use its per-mount admin.
     */
    public static String bindFor(String nodeBind) {
        return isLoopback(nodeBind) ? nodeBind : "127.0.0.1";
    }

    /** Whether {@code s} is an IPv4 literal in 127.0.0.0/8 or the IPv6 loopback literal; no name is resolved. */
    static boolean isLoopback(String s) {
        if (s == null || s.isBlank()) {
            return false;
        }
        boolean v4 = V4.matcher(s).matches();
        if (!v4 && !(s.contains(":") && V6.matcher(s).matches())) {
            return false;
        }
        try {
            return InetAddress.getByName(s).isLoopbackAddress(); // a literal: parsed, never looked up
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** 144 random bits, URL-safe, no XML metacharacters. */
    public static String randomPassword() {
        byte[] b = new byte[18];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** Whether this process runs with uid 0, so Icecast needs {@code <changeowner>}. */
    public static boolean runningAsRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    public IcecastSettings withBinary(Path newBinary) {
        return new IcecastSettings(newBinary, dir, bind, port, hostname, adminPassword, sourcePassword, maxClients,
                maxSources, runAsUser, runAsGroup, location, adminContact);
    }

    public IcecastSettings withLimits(int newMaxClients, int newMaxSources) {
        return new IcecastSettings(binary, dir, bind, port, hostname, adminPassword, sourcePassword, newMaxClients,
                newMaxSources, runAsUser, runAsGroup, location, adminContact);
    }

    /** {@code user == null} runs Icecast as this process's user. */
    public IcecastSettings withRunAs(String user, String group) {
        return new IcecastSettings(binary, dir, bind, port, hostname, adminPassword, sourcePassword, maxClients,
                maxSources, user, group, location, adminContact);
    }

    public IcecastSettings withDescription(String newLocation, String newAdminContact) {
        return new IcecastSettings(binary, dir, bind, port, hostname, adminPassword, sourcePassword, maxClients,
                maxSources, runAsUser, runAsGroup, newLocation, newAdminContact);
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

    /** The address to reach Icecast at from this host: its loopback bind address. */
    public String localHost() {
        return bind;
    }

    /** {@code http://host:port} for {@link #localHost()}, IPv6 literals bracketed. */
    public String localUrl() {
        String host = localHost();
        return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    @Override
    public String toString() {
        return "IcecastSettings[" + bind + ":" + port + ", dir " + dir + ", passwords hidden]";
    }

    private static void requirePassword(String what, String value) {
        if (value == null || value.length() < 8) {
            throw new IllegalArgumentException("icecast " + what + " must have at least 8 characters");
        }
    }
}
