package radiod.controller.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.NodeName;
import radiod.controller.tls.AcmeSettings;
import radiod.dns.zone.DnsSettings;
import radiod.redirector.listen.HttpFrontSettings;
import radiod.redirector.listen.PlayerAgents;

/**
 * One node's configuration, read from YAML ({@code /etc/radiod/radiod.yml}). Every section has defaults;
 * each record checks its own fields and names the field when one is wrong.
 */
public record RadiodConfig(Node node, Etcd etcd, Http http, Source source, Dns dns, Icecast icecast, Limits limits,
                           Balancer balancer, Transcoder transcoder, TlsPorts tls) {
    public RadiodConfig {
        if (node == null) {
            throw new IllegalArgumentException("node: the section is required (node.name and node.addresses)");
        }
        etcd = Objects.requireNonNullElseGet(etcd, () -> new Etcd(null, null, 0, null, null, null));
        http = Objects.requireNonNullElseGet(http, () -> new Http(0, null, null));
        source = Objects.requireNonNullElseGet(source, () -> new Source(0));
        dns = Objects.requireNonNullElseGet(dns, () -> new Dns(null, 0, null, null, 0, 0, null));
        icecast = Objects.requireNonNullElseGet(icecast, () -> new Icecast(null, 0, null, null));
        limits = Objects.requireNonNullElseGet(limits, () -> new Limits(0, 0));
        balancer = Objects.requireNonNullElseGet(balancer, () -> new Balancer(null, null, null));
        transcoder = Objects.requireNonNullElseGet(transcoder, () -> new Transcoder(null, null));
        tls = Objects.requireNonNullElseGet(tls, () -> new TlsPorts(0, 0, null, null, null));
        // DNS answers over TCP as well as UDP: its port must not be any of the other TCP ports either.
        List<String> names = new ArrayList<>(List.of("http.port", "source.port", "icecast.port"));
        List<Integer> ports = new ArrayList<>(List.of(http.port(), source.port(), icecast.port()));
        if (tls.enabled()) {
            names.addAll(List.of("tls.https_port", "tls.source_port"));
            ports.addAll(List.of(tls.httpsPort(), tls.sourcePort()));
        }
        if (dns.enabled()) {
            names.add("dns.port");
            ports.add(dns.port());
        }
        for (int i = 0; i < ports.size(); i++) {
            for (int j = i + 1; j < ports.size(); j++) {
                if (ports.get(i).equals(ports.get(j))) {
                    throw new IllegalArgumentException(names.get(j) + ": " + ports.get(j) + " is already used by "
                            + names.get(i));
                }
            }
        }
        if (tls.enabled() && !dns.enabled()) {
            // HTTPS redirects and ACME name nodes <node>.<zone> even when another server answers for the zone.
            try {
                DnsSettings.defaults(dns.zone());
            } catch (IllegalArgumentException e) {
                String m = e.getMessage();
                throw new IllegalArgumentException((m.startsWith("dns.zone") ? m : "dns.zone: " + m)
                        + " (with TLS it names the nodes: <node>.<zone>)");
            }
        }
        if (dns.enabled()) {
            // The alias and nameservers with fixed addresses take precedence over node names in the zone.
            DnsSettings zone = dns.settings();
            String own = node.name() + "." + zone.zone();
            if (node.name().equals(zone.alias())) {
                throw new IllegalArgumentException("node.name: '" + node.name() + "' is also dns.alias, which would "
                        + "answer for " + own + " instead of this node: pick another name or alias");
            }
            if (zone.nameservers().stream().anyMatch(ns -> ns.name().equals(own) && !ns.addresses().isEmpty())) {
                throw new IllegalArgumentException("node.name: " + own + " is also a nameserver with fixed addresses "
                        + "(dns.nameservers), which would answer for it instead of this node: leave its addresses out "
                        + "(a nameserver named after a node answers with that node's) or pick another name");
            }
        }
    }

    /** The node's identity and where it listens. */
    public record Node(String name, List<String> addresses, String bind) {
        public Node {
            try {
                NodeName.validate(name);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("node.name: " + e.getMessage());
            }
            addresses = list("node.addresses", addresses, List.of());
            if (addresses.isEmpty()) {
                throw new IllegalArgumentException("node.addresses: at least one address is needed, e.g. [203.0.113.10]");
            }
            for (String a : addresses) {
                if (!IpLiterals.isIp(a)) {
                    throw new IllegalArgumentException("node.addresses: '" + a + "' is not an IPv4 or IPv6 address");
                }
                if (!IpLiterals.isReachable(a)) {
                    throw new IllegalArgumentException("node.addresses: '" + a + "' is not an address other hosts can "
                            + "reach this node at (a wildcard or multicast address; node.bind takes the wildcard)");
                }
            }
            bind = Objects.requireNonNullElse(bind, addresses.get(0));
            if (!IpLiterals.isIp(bind)) {
                throw new IllegalArgumentException("node.bind: '" + bind + "' is not an IPv4 or IPv6 address");
            }
        }

        /**
         * Where this node's own processes (its liquidsoaps) reach its public ports: the bind address, or 127.0.0.1
         * when that is a wildcard (a {@code ::} socket takes IPv4 too, and ::1 fails where IPv6 is switched off).
         * Not 127.0.0.1 whatever the bind: a port bound to the node's address refuses connections to loopback.
         */
        public String ownAddress() {
            return IpLiterals.isReachable(bind) ? bind : "127.0.0.1";
        }
    }

    /** How to reach etcd. */
    public record Etcd(List<String> endpoints, String prefix, int leaseTtl, String username, String password, Tls tls) {
        public Etcd {
            endpoints = list("etcd.endpoints", endpoints, List.of("http://127.0.0.1:2379"));
            prefix = Objects.requireNonNullElse(prefix, Keys.DEFAULT_PREFIX);
            if (leaseTtl == 0) {
                leaseTtl = 5;
            }
            if (leaseTtl < 2 || leaseTtl > 60) {
                throw new IllegalArgumentException("etcd.lease_ttl must be between 2 and 60 seconds, got " + leaseTtl);
            }
            tls = Objects.requireNonNullElseGet(tls, () -> new Tls(null, null, null));
        }

        public EtcdOptions options() {
            try {
                return new EtcdOptions(endpoints, prefix, username, password, tls.caFile(), tls.certFile(),
                        tls.keyFile(), null);
            } catch (IllegalArgumentException e) {
                String m = e.getMessage();
                throw new IllegalArgumentException(m.startsWith("etcd") ? m : "etcd: " + m);
            }
        }
    }

    public record Tls(Path caFile, Path certFile, Path keyFile) {
    }

    /**
     * @param port           listeners' HTTP port
     * @param accessLog      the access log's path (one line per finished listener session); null or empty: none
     * @param trustedProxies addresses or CIDR ranges of proxies in front of this node whose X-Forwarded-For names
     *                       the listener (the cluster's own nodes are trusted for that anyway)
     */
    public record Http(int port, String accessLog, List<String> trustedProxies) {
        public Http {
            port = Ports.orDefault("http.port", port, 80);
            accessLog = accessLog == null ? "" : accessLog.strip();
            if (!accessLog.isEmpty()) {
                if (!accessLog.startsWith("/") || accessLog.endsWith("/") || accessLog.indexOf('\0') >= 0) {
                    throw new IllegalArgumentException("http.access_log: '" + accessLog + "' is not an absolute file "
                            + "path (e.g. /var/log/radiod/access.log; empty for no access log)");
                }
            }
            trustedProxies = list("http.trusted_proxies", trustedProxies, List.of());
            try {
                radiod.redirector.access.ClientAddresses.validate(trustedProxies);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("http.trusted_proxies: " + e.getMessage());
            }
        }

        /** The access log's file, if there is one. */
        public Optional<Path> accessLogFile() {
            return accessLog.isEmpty() ? Optional.empty() : Optional.of(Path.of(accessLog));
        }
    }

    public record Source(int port) {
        public Source {
            port = Ports.orDefault("source.port", port, 8000);
        }
    }

    /** The authoritative DNS server. */
    public record Dns(Boolean enabled, int port, String zone, List<String> nameservers, int ttl, int maxAnswers,
                      String alias) {
        /** The zone when none is configured: the example of the packaged radiod.yml. */
        public static final String EXAMPLE_ZONE = "radio.example.org";

        public Dns {
            enabled = Objects.requireNonNullElse(enabled, Boolean.TRUE);
            port = Ports.orDefault("dns.port", port, 53);
            // Lower case, no final dot: the names DNS, HTTPS redirects and ACME's order all use.
            zone = Objects.requireNonNullElse(zone, EXAMPLE_ZONE).strip().toLowerCase(Locale.ROOT)
                    .replaceAll("\\.+$", "");
            nameservers = list("dns.nameservers", nameservers, List.of());
            if (ttl == 0) {
                ttl = 5;
            }
            if (ttl < 1 || ttl > 3600) {
                throw new IllegalArgumentException("dns.ttl must be between 1 and 3600 seconds, got " + ttl);
            }
            if (maxAnswers == 0) {
                maxAnswers = 8;
            }
            if (maxAnswers < 1 || maxAnswers > 64) {
                throw new IllegalArgumentException("dns.max_answers must be between 1 and 64, got " + maxAnswers);
            }
            if (enabled) {
                // What the DNS server is built from at start: zone, nameservers and alias must make a zone together.
                settings(zone, nameservers, ttl, maxAnswers, alias);
            }
        }

        /** The zone this section describes (its bind address and port are the node's business). */
        public DnsSettings settings() {
            return settings(zone, nameservers, ttl, maxAnswers, alias);
        }

        private static DnsSettings settings(String zone, List<String> nameservers, int ttl, int maxAnswers,
                                            String alias) {
            return DnsSettings.defaults(zone).withNameservers(nameservers).withNodeTtl(ttl).withMaxAnswers(maxAnswers)
                    .withAlias(alias);
        }
    }

    /** The node's own Icecast, supervised by radiod. */
    public record Icecast(Path binary, int port, Path dir, String user) {
        public Icecast {
            binary = Objects.requireNonNullElse(binary, Path.of("/usr/bin/icecast2"));
            port = Ports.orDefault("icecast.port", port, 8100);
            dir = Objects.requireNonNullElse(dir, Path.of("/var/lib/radiod/icecast"));
            user = Objects.requireNonNullElse(user, "icecast2");
        }
    }

    public record Limits(int maxListeners, long maxBandwidthMbps) {
        /** The largest bandwidth limit taken: far above any node, and its bits per second still fit a long. */
        public static final long MAX_BANDWIDTH_MBPS = 1_000_000;

        public Limits {
            if (maxListeners < 0) {
                throw new IllegalArgumentException("limits.max_listeners must be 0 (no limit) or more, got " + maxListeners);
            }
            if (maxBandwidthMbps < 0 || maxBandwidthMbps > MAX_BANDWIDTH_MBPS) {
                throw new IllegalArgumentException("limits.max_bandwidth_mbps must be 0 (no limit) to "
                        + MAX_BANDWIDTH_MBPS + " (1 Tbit/s), got " + maxBandwidthMbps);
            }
        }
    }

    /**
     * @param pipeline        load-balancing stages, comma-separated
     * @param proxyUserAgents players (regexes) that do not follow redirects; null for the built-in list
     * @param clusterUrl      the URL listeners use, for playlists (e.g. http://radio.example.org); null: the request's host
     */
    public record Balancer(String pipeline, List<String> proxyUserAgents, String clusterUrl) {
        public static final String DEFAULT_PIPELINE =
                "icecast_active,not_drained,listeners_available,bandwidth_available,has_mount,listeners_score,weighted";

        public Balancer {
            pipeline = Objects.requireNonNullElse(pipeline, DEFAULT_PIPELINE);
            try {
                radiod.redirector.balance.Pipeline.parse(pipeline);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("balancer." + e.getMessage());
            }
            if (proxyUserAgents != null) {
                proxyUserAgents = list("balancer.proxy_user_agents", proxyUserAgents, null);
                try {
                    PlayerAgents.of(proxyUserAgents);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("balancer.proxy_user_agents: " + e.getMessage());
                }
            }
            if (clusterUrl != null) {
                try {
                    HttpFrontSettings.checkClusterUrl(clusterUrl);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("balancer.cluster_url: " + e.getMessage());
                }
            }
        }
    }

    /**
     * The TLS ports for listeners and encoders, and where their certificate comes from. Both ports stay closed unless
     * a certificate source is configured.
     *
     * @param httpsPort       listeners' HTTPS port (default 443): the HTTP port's routes; redirects keep https
     * @param sourcePort      encoders' TLS source port (default 8443): the source port's protocol inside TLS
     * @param certificateFile PEM certificate chain, leaf first (e.g. certbot's fullchain.pem); watched and reloaded
     * @param keyFile         its private key, PEM (PKCS#8, PKCS#1 or EC), unencrypted
     */
    public record TlsPorts(int httpsPort, int sourcePort, Path certificateFile, Path keyFile, AcmeSettings acme) {
        public static final int DEFAULT_HTTPS_PORT = 443;
        public static final int DEFAULT_SOURCE_PORT = 8443;

        public TlsPorts {
            httpsPort = Ports.orDefault("tls.https_port", httpsPort, DEFAULT_HTTPS_PORT);
            sourcePort = Ports.orDefault("tls.source_port", sourcePort, DEFAULT_SOURCE_PORT);
            if (certificateFile != null && keyFile == null) {
                throw new IllegalArgumentException("tls.key_file: needed with tls.certificate_file (the certificate's "
                        + "private key, PEM)");
            }
            if (acme != null && certificateFile != null) {
                throw new IllegalArgumentException("tls.acme: a certificate comes either from files (tls.certificate_file, "
                        + "tls.key_file) or from ACME (tls.acme), not both");
            }
            if (keyFile != null && certificateFile == null) {
                throw new IllegalArgumentException("tls.certificate_file: needed with tls.key_file (the PEM certificate "
                        + "chain, leaf first)");
            }
        }

        /** Files only (no ACME). */
        public TlsPorts(int httpsPort, int sourcePort, Path certificateFile, Path keyFile) {
            this(httpsPort, sourcePort, certificateFile, keyFile, null);
        }

        /** Whether a certificate source (files or ACME) is configured, so that the TLS ports open. */
        public boolean enabled() {
            return certificateFile != null || acme != null;
        }
    }

    /** Elected liquidsoap transcoders: the binary and where their generated scripts go. */
    public record Transcoder(Path liquidsoap, Path dir) {
        public Transcoder {
            liquidsoap = Objects.requireNonNullElse(liquidsoap, Path.of("/usr/bin/liquidsoap"));
            dir = Objects.requireNonNullElse(dir, Path.of("/var/lib/radiod/transcoders"));
        }
    }

    /** A list setting, copied; {@code dflt} when absent. An empty item ({@code null}, {@code ~}, {@code - }) is refused. */
    static List<String> list(String field, List<String> values, List<String> dflt) {
        if (values == null) {
            return dflt;
        }
        for (int i = 0; i < values.size(); i++) {
            if (values.get(i) == null) {
                throw new IllegalArgumentException(field + ": item " + (i + 1) + " is empty");
            }
        }
        return List.copyOf(values);
    }

    public Duration leaseTtl() {
        return Duration.ofSeconds(etcd.leaseTtl());
    }
}
