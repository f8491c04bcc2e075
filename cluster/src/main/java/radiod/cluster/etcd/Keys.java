package radiod.cluster.etcd;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import io.etcd.jetcd.ByteSequence;

/**
 * The layout of radiod's keys under one prefix (default {@code /radiod/}); see DESIGN.md.
 * Mount keys keep the mount path's leading slash out: {@code mounts/live.mp3} holds {@code /live.mp3}.
 */
public final class Keys {
    public static final String DEFAULT_PREFIX = "/radiod/";
    public static final String NODES = "nodes/";
    public static final String MASTER = "master";
    public static final String MOUNTS = "mounts/";
    public static final String TRANSCODERS = "transcoders/";
    public static final String DRAIN = "drain/";
    public static final String TITLES = "titles/";
    public static final String KICKS = "kicks/";
    public static final String ADMIN_TOKEN = "admin/token";

    private final String prefix;

    public Keys(String prefix) {
        if (prefix == null || prefix.isEmpty() || !prefix.startsWith("/") || !prefix.endsWith("/")) {
            throw new IllegalArgumentException("etcd key prefix must start and end with '/', got '" + prefix + "'");
        }
        this.prefix = prefix;
    }

    public String prefix() {
        return prefix;
    }

    public ByteSequence all() {
        return bytes(prefix);
    }

    public ByteSequence node(String name) {
        return bytes(prefix + NODES + name);
    }

    public ByteSequence nodes() {
        return bytes(prefix + NODES);
    }

    public ByteSequence master() {
        return bytes(prefix + MASTER);
    }

    public ByteSequence mount(String path) {
        return bytes(prefix + MOUNTS + path.substring(1));
    }

    public ByteSequence mounts() {
        return bytes(prefix + MOUNTS);
    }

    public ByteSequence transcoder(String mountPath) {
        return bytes(prefix + TRANSCODERS + mountPath.substring(1));
    }

    public ByteSequence title(String mountPath) {
        return bytes(prefix + TITLES + mountPath.substring(1));
    }

    public ByteSequence kick(String mountPath) {
        return bytes(prefix + KICKS + mountPath.substring(1));
    }

    public ByteSequence drain(String node) {
        return bytes(prefix + DRAIN + node);
    }

    public ByteSequence adminToken() {
        return bytes(prefix + ADMIN_TOKEN);
    }

    /** A key relative to the prefix, e.g. {@code nodes/a}, or empty if the key is not under it. */
    public Optional<String> relative(ByteSequence key) {
        String k = key.toString(StandardCharsets.UTF_8);
        return k.startsWith(prefix) ? Optional.of(k.substring(prefix.length())) : Optional.empty();
    }

    public static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
