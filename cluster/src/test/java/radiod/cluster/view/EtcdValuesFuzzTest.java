package radiod.cluster.view;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Drain;
import radiod.cluster.model.Json;
import radiod.cluster.model.Kick;
import radiod.cluster.model.MasterInfo;
import radiod.cluster.model.Mount;
import radiod.cluster.model.MountPath;
import radiod.cluster.model.NodeName;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.model.Title;
import radiod.cluster.model.TranscoderOwner;
import radiod.cluster.model.Transcoding;
import radiod.cluster.tls.AcmeChallenge;
import radiod.cluster.tls.AcmeHolder;
import radiod.cluster.tls.AcmeStatus;
import radiod.cluster.tls.RenewRequest;
import radiod.cluster.tls.TlsCertificate;
import radiod.cluster.tls.TlsKey;
import radiod.testkit.fuzz.FuzzBudget;
import radiod.testkit.fuzz.Mutations;

/**
 * What a node reads from etcd, fuzzed: the values radiod writes (node statuses, the master, mounts plain, relayed
 * and transcoded, drains, titles, kicks, transcoder owners), changed field by field (other types, bounds, nulls,
 * missing and unknown fields, deep nesting, names that disagree with the key) and then as bytes, put at their own
 * keys or others, several in a row into one view. A corrupt value is logged and skipped, never thrown; what the
 * view keeps is valid by every rule the records state, so the redirector, DNS and transcoders can trust it.
 */
@AddLifecycleHook(FuzzBudget.class)
public class EtcdValuesFuzzTest {
    static final List<Example> EXAMPLES = List.of(
            new Example(Keys.NODES + "node1", new NodeStatus("node1", List.of("192.0.2.11", "2001:db8::11"), 8080, 8000,
                    8100, 53, true, false, true, 12, Map.of("/live.mp3", 10, "/jazz.ogg", 2), 1_536_000, 100_000_000, 500,
                    List.of("/live-64.mp3"), "0.1.0", 1_767_000_000_000L, Map.of("/live.mp3", "s-1a2b"))),
            new Example(Keys.NODES + "node-2", new NodeStatus("node-2", List.of("192.0.2.12"), 80, 8000, 8100, 5353,
                    false, true, false, 0, Map.of(), 0, 0, 0, List.of(), "", 1)),
            new Example(Keys.MASTER, new MasterInfo("node1", List.of("192.0.2.11"), 8100, 8000, 8080, 1_767_000_000_000L)),
            new Example(Keys.MOUNTS + "live.mp3", new Mount("/live.mp3", "source", "hackme", null, "/fallback.mp3", 100,
                    128, null)),
            new Example(Keys.MOUNTS + "relay/jazz.ogg", new Mount("/relay/jazz.ogg", null, "pw", "http://icecast.example.org:8000/jazz.ogg",
                    null, 0, 96, null)),
            new Example(Keys.MOUNTS + "live-64.ogg", new Mount("/live-64.ogg", null, "pw", null, null, 0, 0,
                    new Transcoding("/live.mp3", "vorbis", 64, 44100, 2, 0.4))),
            new Example(Keys.MOUNTS + "live-32.opus", new Mount("/live-32.opus", null, "pw", null, null, 0, 0,
                    new Transcoding("/live.mp3", "opus", 32, 0, 1, null))),
            new Example(Keys.TRANSCODERS + "live-64.ogg", new TranscoderOwner("node-2", 1_767_000_000_000L)),
            new Example(Keys.DRAIN + "node-2", new Drain("kernel upgrade", 1_767_000_000_000L)),
            new Example(Keys.TITLES + "live.mp3", new Title("Caf\u00e9 Tacvba \u2014 Eres", "s-1a2b", "node1", 1_767_000_000_000L)),
            new Example(Keys.KICKS + "live.mp3", new Kick("radioctl", 1_767_000_000_000L)),
            new Example(Keys.TLS_CERTIFICATE, new TlsCertificate("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                    List.of("radio.example.org", "*.radio.example.org"), "CN=Pebble Intermediate CA 1a2b3c",
                    1_767_000_000_000L, 1_774_776_000_000L, "5f3e2a", "node1", 1_767_000_000_000L)),
            new Example(Keys.TLS_KEY, new TlsKey("-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n", "5f3e2a")),
            new Example(Keys.ACME_HOLDER, new AcmeHolder("node-2", 1_767_000_000_000L)),
            new Example(Keys.TLS_STATUS, new AcmeStatus("node-2", 1_767_000_000_000L, AcmeStatus.FAILED,
                    "the CA could not validate radio.example.org", 1_767_000_030_000L, 1, 0, 12)),
            new Example(Keys.TLS_RENEW, new RenewRequest("radioctl", 1_767_000_000_000L)),
            new Example(Keys.ACME_CHALLENGES + "node-2-1-0", new AcmeChallenge("_acme-challenge.radio.example.org.",
                    "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", "node-2", 1_767_000_000_000L)));
    static final List<byte[]> TOKENS = Mutations.tokens("null", "true", "[]", "{}", "\"\"", "0", "-1", "65536",
            "1e400", "\"NaN\"", "\"Infinity\"", "9223372036854775808", ",", ":", "\"", "\\u0000", "\\ud800", "[[[[[[",
            "]", "}", "\"path\":", "\"name\":", "\"addresses\":[]", "\u00c3", "\u00ff");

    record Example(String key, Object value) {
    }

    /** One value of every kind radiod keeps in etcd. */
    public static Stream<Object> examples() {
        return EXAMPLES.stream().map(Example::value);
    }

    /** A put or a delete of a key relative to the prefix. */
    record Op(boolean put, String key, byte[] value) {
        @Override
        public String toString() {
            return (put ? "put " : "delete ") + key + (put ? " " + new String(value, StandardCharsets.UTF_8) : "");
        }
    }

    static final JsonNodeFactory TREE = JsonNodeFactory.instance;
    /** Writes the edited trees, nested deeper than radiod's own mapper would write (its reader must refuse them). */
    static final ObjectMapper WRITER = new ObjectMapper(JsonFactory.builder()
            .streamWriteConstraints(StreamWriteConstraints.builder().maxNestingDepth(10_000).build()).build());

    /** Values a field may be given instead of its own. */
    static Arbitrary<Object> replacement() {
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.of(TREE.nullNode(), TREE.booleanNode(true), TREE.numberNode(0), TREE.numberNode(-1),
                        TREE.numberNode(65536), TREE.numberNode(2_147_483_648L), TREE.numberNode(Long.MIN_VALUE),
                        TREE.numberNode(new java.math.BigInteger("99999999999999999999999")), TREE.numberNode(1.5),
                        TREE.numberNode(1e300), TREE.textNode("NaN"), TREE.textNode("Infinity"), TREE.textNode("-0"),
                        TREE.textNode(""), TREE.textNode("12"), TREE.textNode("node1"), TREE.textNode("/live.mp3"),
                        TREE.textNode("Node_1"), TREE.textNode("http://x"), TREE.textNode("mp3"), TREE.arrayNode(),
                        TREE.objectNode(), TREE.arrayNode().addNull(), TREE.arrayNode().add(""),
                        TREE.objectNode().putNull("/live.mp3"), TREE.objectNode().put("/live.mp3", -5),
                        TREE.textNode("x".repeat(5000)))),
                Tuple.of(2, Mutations.text(40).map(TREE::textNode)),
                Tuple.of(1, Arbitraries.integers().between(1, 3000).map(Deep::new)));
    }

    /**
     * Arrays nested {@code depth} deep: built only when written, as jqwik hashes the values it generates, and a
     * tree's hash code recurses as deep as the tree.
     */
    record Deep(int depth) {
    }

    static JsonNode nested(int depth) {
        JsonNode n = TREE.numberNode(1);
        for (int i = 0; i < depth; i++) {
            ArrayNode a = TREE.arrayNode();
            a.add(n);
            n = a;
        }
        return n;
    }

    /** A field change: which field (by its place among all, depth first), and what happens to it. */
    record FieldEdit(double which, int kind, Object replacement) {
        void apply(JsonNode root) {
            // A copy: the replacements are shared between tries, and an edit may go into one that an earlier edit placed.
            JsonNode value = replacement instanceof Deep d ? nested(d.depth()) : ((JsonNode) replacement).deepCopy();
            List<JsonNode[]> slots = new ArrayList<>(); // {container, field name as text node or index}
            collect(root, slots, 0);
            if (slots.isEmpty()) {
                return;
            }
            JsonNode[] slot = slots.get(Math.min(slots.size() - 1, (int) (which * slots.size())));
            JsonNode container = slot[0];
            if (container instanceof ObjectNode o) {
                String name = slot[1].asText();
                switch (kind) {
                    case 0 -> o.remove(name);
                    case 1 -> o.set(name + "X", value); // an unknown field
                    case 2 -> {
                        JsonNode old = o.remove(name);
                        o.set(name.toUpperCase(java.util.Locale.ROOT), old);
                    }
                    default -> o.set(name, value);
                }
            } else if (container instanceof ArrayNode a) {
                int i = slot[1].asInt();
                switch (kind) {
                    case 0 -> a.remove(i);
                    case 1 -> a.add(value);
                    default -> a.set(i, value);
                }
            }
        }

        private static void collect(JsonNode node, List<JsonNode[]> slots, int depth) {
            if (depth > 8) {
                return; // not into the deep arrays an earlier edit put there
            }
            if (node instanceof ObjectNode o) {
                for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
                    String name = it.next();
                    slots.add(new JsonNode[] {o, TREE.textNode(name)});
                    collect(o.get(name), slots, depth + 1);
                }
            } else if (node instanceof ArrayNode a) {
                for (int i = 0; i < a.size(); i++) {
                    slots.add(new JsonNode[] {a, TREE.numberNode(i)});
                    collect(a.get(i), slots, depth + 1);
                }
            }
        }
    }

    static Arbitrary<FieldEdit> fieldEdits() {
        return Combinators.combine(Arbitraries.doubles().between(0, 1), Arbitraries.integers().between(0, 6), replacement())
                .as(FieldEdit::new);
    }

    /** An example's JSON changed field by field, then perhaps as bytes; sometimes another example's value. */
    static Arbitrary<byte[]> values() {
        Arbitrary<byte[]> edited = Combinators.combine(Arbitraries.of(EXAMPLES), fieldEdits().list().ofMaxSize(4))
                .as((example, edits) -> {
                    JsonNode tree;
                    try {
                        tree = WRITER.readTree(Json.encode(example.value()));
                    } catch (java.io.IOException e) {
                        throw new IllegalStateException(e);
                    }
                    for (FieldEdit e : edits) {
                        e.apply(tree);
                    }
                    try {
                        return WRITER.writeValueAsBytes(tree);
                    } catch (JsonProcessingException e) {
                        throw new IllegalStateException(e);
                    }
                });
        Arbitrary<byte[]> seeds = Arbitraries.of(EXAMPLES).map(e -> Json.encode(e.value()));
        return Arbitraries.frequencyOf(
                Tuple.of(4, edited),
                Tuple.of(3, Combinators.combine(edited, seeds, Mutations.edits(4))
                        .as((value, other, edits) -> Mutations.apply(value, other, edits, TOKENS))),
                Tuple.of(1, Arbitraries.of("null".getBytes(StandardCharsets.UTF_8), new byte[0], "\"x\"".getBytes(StandardCharsets.UTF_8),
                        new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf, '{', '}'}, new byte[] {(byte) 0xff, '{'})));
    }

    /** The example's key, a key of another kind, a name or path that disagrees with the value, or none of radiod's. */
    static Arbitrary<String> keys() {
        return Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.of(EXAMPLES).map(Example::key)),
                Tuple.of(2, Combinators.combine(Arbitraries.of(Keys.NODES, Keys.MOUNTS, Keys.TITLES, Keys.KICKS,
                        Keys.TRANSCODERS, Keys.DRAIN), Arbitraries.of("node1", "node-2", "live.mp3", "jazz/x.ogg", "",
                        "Node_1", "../x", "a/", "live.m3u")).as(String::concat)),
                Tuple.of(1, Arbitraries.of(Keys.MASTER, "masterx", "unknown/x", "", Keys.TLS_CERTIFICATE, Keys.TLS_KEY,
                        Keys.TLS_STATUS, Keys.TLS_RENEW, Keys.ACME_HOLDER, Keys.ACME_ACCOUNT, Keys.ACME_CHALLENGES + "x",
                        Keys.ACME_CHALLENGES, "tls/certificatex", "secret/x")),
                Tuple.of(1, Mutations.text(12).map(t -> Keys.NODES + t)));
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Op> op = Arbitraries.frequencyOf(
                Tuple.of(9, Combinators.combine(keys(), values()).as((k, v) -> new Op(true, k, v))),
                Tuple.of(1, keys().map(k -> new Op(false, k, null))));
        return op.list().ofMinSize(1).ofMaxSize(6);
    }

    /** Counts the warnings of the decoder and the view (and keeps them off the console: a run makes millions). */
    static final class Warnings extends AppenderBase<ILoggingEvent> {
        final AtomicInteger count = new AtomicInteger();

        @Override
        protected void append(ILoggingEvent event) {
            if (event.getLevel().isGreaterOrEqual(Level.WARN)) {
                count.incrementAndGet();
            }
        }
    }

    static final Warnings WARNINGS = new Warnings();

    @BeforeContainer
    static void countWarnings() {
        WARNINGS.start();
        for (Class<?> c : List.of(Json.class, ViewState.class)) {
            Logger logger = (Logger) LoggerFactory.getLogger(c);
            logger.addAppender(WARNINGS);
            logger.setAdditive(false);
        }
    }

    @AfterContainer
    static void restoreLogging() {
        for (Class<?> c : List.of(Json.class, ViewState.class)) {
            Logger logger = (Logger) LoggerFactory.getLogger(c);
            logger.detachAppender(WARNINGS);
            logger.setAdditive(true);
        }
    }

    /** The record a key holds, or null for a key that is none of radiod's. */
    static Class<?> typeAt(String key) {
        if (key.startsWith(Keys.NODES)) {
            return NodeStatus.class;
        } else if (key.equals(Keys.MASTER)) {
            return MasterInfo.class;
        } else if (key.startsWith(Keys.MOUNTS)) {
            return Mount.class;
        } else if (key.startsWith(Keys.TRANSCODERS)) {
            return TranscoderOwner.class;
        } else if (key.startsWith(Keys.DRAIN)) {
            return Drain.class;
        } else if (key.startsWith(Keys.TITLES)) {
            return Title.class;
        } else if (key.startsWith(Keys.KICKS)) {
            return Kick.class;
        } else if (key.equals(Keys.TLS_CERTIFICATE)) {
            return TlsCertificate.class;
        } else if (key.equals(Keys.TLS_KEY)) {
            return TlsKey.class;
        } else if (key.equals(Keys.TLS_STATUS)) {
            return AcmeStatus.class;
        } else if (key.equals(Keys.TLS_RENEW)) {
            return RenewRequest.class;
        } else if (key.equals(Keys.ACME_HOLDER)) {
            return AcmeHolder.class;
        } else if (key.startsWith(Keys.ACME_CHALLENGES)) {
            return AcmeChallenge.class;
        }
        return null;
    }

    /** Whether the view should take the value: it decodes (to a valid value), and names the node or mount of its key. */
    static boolean acceptable(String key, byte[] value, Class<?> type) {
        Object v;
        try {
            v = Json.decodeStrict(value, type);
        } catch (IllegalArgumentException e) {
            return false;
        }
        assertValid(v);
        if (v instanceof NodeStatus n) {
            return n.name().equals(key.substring(Keys.NODES.length()));
        } else if (v instanceof Mount m) {
            return m.path().equals("/" + key.substring(Keys.MOUNTS.length()));
        }
        return true;
    }

    @Property(shrinking = ShrinkingMode.BOUNDED)
    @Label("etcd values")
    void corruptValuesAreLoggedAndSkippedAndWhatTheViewKeepsIsValid(@ForAll("operations") List<Op> ops) {
        ViewState state = new ViewState();
        long revision = 1;
        for (Op op : ops) {
            if (op.put()) {
                Class<?> type = typeAt(op.key());
                boolean acceptable = type == null || acceptable(op.key(), op.value(), type);
                int before = WARNINGS.count.get();
                state.put(op.key(), op.value(), revision++);
                assertEquals(acceptable, WARNINGS.count.get() == before,
                        acceptable ? "a good value is taken without a warning" : "a corrupt value is logged");
            } else {
                state.delete(op.key());
            }
            ClusterSnapshot snapshot = state.snapshot(revision);
            assertValid(snapshot);
        }
    }

    static void assertValid(ClusterSnapshot s) {
        s.nodes().forEach((name, node) -> {
            assertEquals(name, node.name(), "a node status kept under its own name");
            assertValid(node);
        });
        s.master().ifPresent(EtcdValuesFuzzTest::assertValid);
        s.mounts().forEach((path, mount) -> {
            assertEquals(path, mount.path(), "a mount kept under its own path");
            assertValid(mount);
        });
        s.transcoders().forEach((path, node) -> NodeName.validate(node));
        s.titles().forEach((path, title) -> assertValid(title));
        s.drains().values().forEach(d -> assertTrue(d.reason() != null));
        s.kicks().values().forEach(r -> assertTrue(r > 0));
        s.tls().certificate().ifPresent(EtcdValuesFuzzTest::assertValid);
        s.tls().key().ifPresent(EtcdValuesFuzzTest::assertValid);
        s.tls().status().ifPresent(EtcdValuesFuzzTest::assertValid);
        s.tls().holder().ifPresent(EtcdValuesFuzzTest::assertValid);
        s.tls().renew().ifPresent(EtcdValuesFuzzTest::assertValid);
        s.tls().challenges().values().forEach(EtcdValuesFuzzTest::assertValid);
        assertEquals(s.tls().certificate().isPresent(), s.tls().certificateRevision() > 0);
        assertEquals(s.tls().renew().isPresent(), s.tls().renewRevision() > 0);
        assertFalse(s.tls().toString().contains("PRIVATE KEY"), "the key is never printed");
    }

    /**
     * An address peers connect to and redirects name: an IPv4 or IPv6 literal, as the records say (a name would be
     * looked up on the hot path; anything else ends up in a Location header or a relay's URL).
     */
    static void assertIpLiteral(String address) {
        boolean v4 = address.matches("(\\d{1,3}\\.){3}\\d{1,3}");
        boolean v6 = address.contains(":") && address.matches("[0-9A-Fa-f:.]+");
        assertTrue(v4 || v6, "an IP literal: " + address);
        try {
            java.net.InetAddress.getByName(address); // a literal: parsed, never looked up
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError("an IP literal: " + address, e);
        }
    }

    /** A decoded value is one its record's constructor accepts, survives a round trip, and keeps the stated ranges. */
    static void assertValid(Object value) {
        assertEquals(value, Json.decodeStrict(Json.encode(value), value.getClass()), "a round trip keeps the value");
        if (value instanceof NodeStatus n) {
            NodeName.validate(n.name());
            assertFalse(n.addresses().isEmpty());
            n.addresses().forEach(EtcdValuesFuzzTest::assertIpLiteral);
            assertTrue(n.listeners() >= 0 && n.maxListeners() >= 0 && n.bandwidthBps() >= 0 && n.maxBandwidthBps() >= 0);
            n.listenersByMount().values().forEach(v -> assertTrue(v != null));
        } else if (value instanceof MasterInfo m) {
            NodeName.validate(m.name());
            assertFalse(m.addresses().isEmpty());
            m.addresses().forEach(EtcdValuesFuzzTest::assertIpLiteral);
        } else if (value instanceof Mount m) {
            MountPath.validate(m.path());
            assertTrue(m.bitrateKbps() >= 0 && m.bitrateKbps() <= 10_000 && m.maxListeners() >= 0);
            if (m.transcoding() != null) {
                assertValid(m.transcoding());
            }
        } else if (value instanceof Transcoding t) {
            MountPath.validate(t.sourceMount());
            assertTrue(t.channels() == 1 || t.channels() == 2);
            assertTrue(t.quality() == null || t.quality() >= -0.1 && t.quality() <= 1.0,
                    "vorbis quality between -0.1 and 1.0, got " + t.quality());
        } else if (value instanceof Title t) {
            assertNull(Title.problem(t.title()), t.title());
        } else if (value instanceof TranscoderOwner o) {
            NodeName.validate(o.node());
        } else if (value instanceof TlsCertificate c) {
            assertFalse(c.names().isEmpty());
            assertTrue(c.notAfter() > c.notBefore());
            assertTrue(c.chain().contains("-----BEGIN CERTIFICATE-----"));
        } else if (value instanceof AcmeChallenge c) {
            assertTrue(c.host().startsWith("_acme-challenge."), c.name());
            assertTrue(c.value().length() >= 1 && c.value().length() <= 255);
        } else if (value instanceof AcmeStatus st) {
            assertTrue(st.failures() >= 0 && st.error().length() <= AcmeStatus.MAX_ERROR_CHARS);
        } else if (value instanceof AcmeHolder h) {
            NodeName.validate(h.node());
        }
    }
}
