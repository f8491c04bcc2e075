package radiod.cluster.view;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Drain;
import radiod.cluster.model.Json;
import radiod.cluster.model.Kick;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.model.Title;
import radiod.cluster.model.TranscoderOwner;
import radiod.cluster.tls.AcmeChallenge;
import radiod.cluster.tls.AcmeHolder;
import radiod.cluster.tls.AcmeStatus;
import radiod.cluster.tls.RenewRequest;
import radiod.cluster.tls.TlsCertificate;
import radiod.cluster.tls.TlsKey;
import radiod.cluster.tls.TlsState;

/**
 * The mutable picture of radiod's keys that a view folds etcd's keys and events into, one thread at a time.
 * Every value is decoded as it arrives; a corrupt one is logged and treated as absent.
 */
final class ViewState {
    private static final Logger log = LoggerFactory.getLogger(ViewState.class);

    private final Map<String, NodeStatus> nodes = new HashMap<>();
    private MasterInfo master;
    private final Map<String, Mount> mounts = new HashMap<>();
    private final Map<String, String> transcoders = new HashMap<>();
    private final Map<String, Drain> drains = new HashMap<>();
    private final Map<String, Title> titles = new HashMap<>();
    private final Map<String, Long> kicks = new HashMap<>();
    private TlsCertificate certificate;
    private long certificateRevision;
    private TlsKey tlsKey;
    private AcmeHolder acmeHolder;
    private AcmeStatus acmeStatus;
    private final Map<String, AcmeChallenge> challenges = new HashMap<>();
    private RenewRequest renew;
    private long renewRevision;
    /** Whether any TLS key changed since the last snapshot (else the last one's TlsState is reused). */
    private TlsState tls = TlsState.NONE;
    private boolean tlsChanged;

    void clear() {
        nodes.clear();
        master = null;
        mounts.clear();
        transcoders.clear();
        drains.clear();
        titles.clear();
        kicks.clear();
        certificate = null;
        certificateRevision = 0;
        tlsKey = null;
        acmeHolder = null;
        acmeStatus = null;
        challenges.clear();
        renew = null;
        renewRevision = 0;
        tlsChanged = true;
    }

    /** Applies a put of {@code relative} (a key relative to the prefix) made at etcd revision {@code modRevision}. */
    void put(String relative, byte[] value, long modRevision) {
        String key = relative;
        if (key.startsWith(Keys.NODES)) {
            String name = key.substring(Keys.NODES.length());
            Optional<NodeStatus> s = Json.decode(key, value, NodeStatus.class);
            if (s.isPresent() && !s.get().name().equals(name)) {
                log.warn("skipping node status at {}: it names node {}", key, s.get().name());
                s = Optional.empty();
            }
            s.ifPresentOrElse(v -> nodes.put(name, v), () -> nodes.remove(name));
        } else if (key.equals(Keys.MASTER)) {
            master = Json.decode(key, value, MasterInfo.class).orElse(null);
        } else if (key.startsWith(Keys.MOUNTS)) {
            String path = "/" + key.substring(Keys.MOUNTS.length());
            Optional<Mount> m = Json.decode(key, value, Mount.class);
            if (m.isPresent() && !m.get().path().equals(path)) {
                log.warn("skipping mount at {}: it names mount {}", key, m.get().path());
                m = Optional.empty();
            }
            m.ifPresentOrElse(v -> mounts.put(path, v), () -> mounts.remove(path));
        } else if (key.startsWith(Keys.TRANSCODERS)) {
            String path = "/" + key.substring(Keys.TRANSCODERS.length());
            Json.decode(key, value, TranscoderOwner.class)
                    .ifPresentOrElse(o -> transcoders.put(path, o.node()), () -> transcoders.remove(path));
        } else if (key.startsWith(Keys.DRAIN)) {
            String name = key.substring(Keys.DRAIN.length());
            Json.decode(key, value, Drain.class)
                    .ifPresentOrElse(d -> drains.put(name, d), () -> drains.put(name, new Drain("", 0)));
        } else if (key.startsWith(Keys.TITLES)) {
            String path = "/" + key.substring(Keys.TITLES.length());
            Json.decode(key, value, Title.class).ifPresentOrElse(t -> titles.put(path, t), () -> titles.remove(path));
        } else if (key.startsWith(Keys.KICKS)) {
            String path = "/" + key.substring(Keys.KICKS.length());
            Json.decode(key, value, Kick.class)
                    .ifPresentOrElse(k -> kicks.put(path, modRevision), () -> kicks.remove(path));
        } else {
            putTls(key, value, modRevision);
        }
    }

    private void putTls(String key, byte[] value, long modRevision) {
        if (key.equals(Keys.TLS_CERTIFICATE)) {
            certificate = Json.decode(key, value, TlsCertificate.class).orElse(null);
            certificateRevision = certificate == null ? 0 : modRevision;
        } else if (key.equals(Keys.TLS_KEY)) {
            tlsKey = Json.decode(key, value, TlsKey.class).orElse(null);
        } else if (key.equals(Keys.ACME_HOLDER)) {
            acmeHolder = Json.decode(key, value, AcmeHolder.class).orElse(null);
        } else if (key.equals(Keys.TLS_STATUS)) {
            acmeStatus = Json.decode(key, value, AcmeStatus.class).orElse(null);
        } else if (key.equals(Keys.TLS_RENEW)) {
            renew = Json.decode(key, value, RenewRequest.class).orElse(null);
            renewRevision = renew == null ? 0 : modRevision;
        } else if (key.startsWith(Keys.ACME_CHALLENGES)) {
            String id = key.substring(Keys.ACME_CHALLENGES.length());
            Json.decode(key, value, AcmeChallenge.class)
                    .ifPresentOrElse(c -> challenges.put(id, c), () -> challenges.remove(id));
        } else {
            return;
        }
        tlsChanged = true;
    }

    private void deleteTls(String key) {
        if (key.equals(Keys.TLS_CERTIFICATE)) {
            certificate = null;
            certificateRevision = 0;
        } else if (key.equals(Keys.TLS_KEY)) {
            tlsKey = null;
        } else if (key.equals(Keys.ACME_HOLDER)) {
            acmeHolder = null;
        } else if (key.equals(Keys.TLS_STATUS)) {
            acmeStatus = null;
        } else if (key.equals(Keys.TLS_RENEW)) {
            renew = null;
            renewRevision = 0;
        } else if (key.startsWith(Keys.ACME_CHALLENGES)) {
            challenges.remove(key.substring(Keys.ACME_CHALLENGES.length()));
        } else {
            return;
        }
        tlsChanged = true;
    }

    void delete(String relative) {
        if (relative.startsWith(Keys.NODES)) {
            nodes.remove(relative.substring(Keys.NODES.length()));
        } else if (relative.equals(Keys.MASTER)) {
            master = null;
        } else if (relative.startsWith(Keys.MOUNTS)) {
            mounts.remove("/" + relative.substring(Keys.MOUNTS.length()));
        } else if (relative.startsWith(Keys.TRANSCODERS)) {
            transcoders.remove("/" + relative.substring(Keys.TRANSCODERS.length()));
        } else if (relative.startsWith(Keys.DRAIN)) {
            drains.remove(relative.substring(Keys.DRAIN.length()));
        } else if (relative.startsWith(Keys.TITLES)) {
            titles.remove("/" + relative.substring(Keys.TITLES.length()));
        } else if (relative.startsWith(Keys.KICKS)) {
            kicks.remove("/" + relative.substring(Keys.KICKS.length()));
        } else {
            deleteTls(relative);
        }
    }

    ClusterSnapshot snapshot(long revision) {
        if (tlsChanged) {
            tls = new TlsState(Optional.ofNullable(certificate), certificateRevision, Optional.ofNullable(tlsKey),
                    Optional.ofNullable(acmeHolder), Optional.ofNullable(acmeStatus), challenges, Optional.ofNullable(renew),
                    renewRevision);
            tlsChanged = false;
        }
        return new ClusterSnapshot(revision, nodes, Optional.ofNullable(master), mounts, transcoders, drains, titles,
                kicks, tls);
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
