package radiod.controller.config;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

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
import radiod.controller.icecast.IcecastSettings;
import radiod.dns.zone.DnsSettings;
import radiod.redirector.listen.HttpFrontSettings;
import radiod.redirector.source.SourceFrontSettings;
import radiod.testkit.fuzz.FuzzBudget;
import radiod.testkit.fuzz.Mutations;

/**
 * radiod.yml, fuzzed: the package's commented configuration and the documented shapes, changed field by field
 * (other types, bounds, nulls, removed, renamed and unknown keys, regexes, URLs, names) and then as text (YAML's own
 * syntax among the edits), read from a file as radiod reads it. A bad configuration gives a
 * {@link ConfigLoader.ConfigException} of one line, which names the field that was changed; a configuration that is
 * accepted is one every part of a node can be built from, so {@code radiod --check-config} never passes a file that
 * radiod then refuses at start.
 */
@AddLifecycleHook(FuzzBudget.class)
class ConfigFuzzTest {
    static final String ORIGIN = "fuzz.yml";
    static final YAMLMapper YAML = new YAMLMapper(YAMLFactory.builder()
            .streamWriteConstraints(StreamWriteConstraints.builder().maxNestingDepth(10_000).build()).build());
    static final JsonNodeFactory TREE = JsonNodeFactory.instance;
    static final List<String> SEEDS = seeds();
    static final List<byte[]> TOKENS = Mutations.tokens(": ", "- ", "\n", "\n  ", "  ", "\t", "#", "&a ", "*a", "<<: *a\n",
            "!!binary ", "!!int ", "!!str ", "!!map ", "!foo ", "|\n", ">-\n", "'", "\"", "{", "}", "[", "]", ",", "? ",
            "%YAML 1.1\n", "---\n", "...\n", "~", "null", "0x1F", "0o17", "1_000", ".inf", ".nan", "\u0000", "\\u",
            "@", "`", "port: ", "node:\n  name: n1\n  addresses: [192.0.2.1]\n", "etcd:\n", "dns: {zone: ", "\u00c3",
            "\u00ff");
    static Path file;

    static List<String> seeds() {
        try {
            return List.of(
                    Files.readString(Path.of("../packaging/src/deb/etc/radiod.yml")),
                    "node:\n  name: node1\n  addresses: [127.0.0.11]\n",
                    """
                    node:
                      name: node1
                      addresses: [203.0.113.10, "2001:db8::10"]
                      bind: 0.0.0.0
                    etcd:
                      endpoints: [http://127.0.0.1:2379, https://127.0.0.2:2379]
                      prefix: /radio/
                      lease_ttl: 3
                      username: radiod
                      password: secret
                      tls: {ca_file: null, cert_file: null, key_file: null}
                    http: {port: 8080}
                    source: {port: 8001}
                    dns:
                      enabled: true
                      port: 5353
                      zone: radio.example.org
                      nameservers: [ns1.radio.example.org=203.0.113.10, ns.example.net]
                      ttl: 5
                      max_answers: 8
                      alias: stream
                    icecast: {binary: /usr/bin/icecast2, port: 8100, dir: /var/lib/radiod/icecast, user: icecast2}
                    limits: {max_listeners: 500, max_bandwidth_mbps: 100}
                    balancer:
                      pipeline: "icecast_active,not_drained,bandwidth_score,best"
                      proxy_user_agents: ["^WinampMPEG/", "NSPlayer", "(?i)roku"]
                      cluster_url: https://radio.example.org/
                    transcoder: {liquidsoap: /usr/bin/liquidsoap, dir: /var/lib/radiod/transcoders}
                    """);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @BeforeContainer
    static void createFile() throws IOException {
        file = Files.createTempFile("radiod-fuzz", ".yml");
    }

    @AfterContainer
    static void deleteFile() throws IOException {
        Files.deleteIfExists(file);
    }

    /** Values a field may be given instead of its own. */
    static Arbitrary<JsonNode> replacement() {
        return Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.of(TREE.nullNode(), TREE.booleanNode(true), TREE.booleanNode(false),
                        TREE.numberNode(0), TREE.numberNode(-1), TREE.numberNode(1), TREE.numberNode(65535),
                        TREE.numberNode(65536), TREE.numberNode(99_999_999_999L), TREE.numberNode(1.5),
                        TREE.numberNode(new java.math.BigInteger("99999999999999999999999")), TREE.numberNode(8000),
                        TREE.textNode(""), TREE.textNode("x"), TREE.textNode("node1"), TREE.textNode("Node_1"),
                        TREE.textNode("0.0.0.0"), TREE.textNode("::"), TREE.textNode("203.0.113.10"),
                        TREE.textNode("2001:db8::10"), TREE.textNode("radio.example.org"), TREE.textNode("a..b"),
                        TREE.textNode("."), TREE.textNode("-a.example.org"), TREE.textNode("ns1.radio.example.org=192.0.2.1"),
                        TREE.textNode("ns1.radio.example.org="), TREE.textNode("ns9.radio.example.org=example.org"),
                        TREE.textNode("stream"), TREE.textNode("ns1"), TREE.textNode("http://127.0.0.1:2379"),
                        TREE.textNode("https://radio.example.org/live?x=1"), TREE.textNode("ftp://x"), TREE.textNode("http://"),
                        TREE.textNode("http://[::1"), TREE.textNode("/radiod/"), TREE.textNode("radiod"),
                        TREE.textNode("icecast_active,nope"), TREE.textNode("weighted,best"), TREE.textNode(","),
                        TREE.textNode("^WinampMPEG/"), TREE.textNode("("), TREE.textNode("\\Qabc"), TREE.textNode("(?x)a#"),
                        TREE.textNode("a|^b"), TREE.textNode("^(?i"), TREE.textNode("/nonexistent/ca.pem"),
                        TREE.textNode("icecast2"), TREE.textNode("root"), TREE.textNode("a b"), TREE.textNode("<x>&"),
                        TREE.textNode("x".repeat(3000)), TREE.arrayNode(), TREE.arrayNode().add(""), TREE.arrayNode().addNull(),
                        TREE.arrayNode().add("^xmms/").add("("), TREE.arrayNode().add("icecast_active").add("weighted"),
                        TREE.objectNode(), TREE.objectNode().put("port", 80), TREE.objectNode().putNull("name"))),
                Tuple.of(2, Mutations.text(40).map(TREE::textNode)),
                Tuple.of(1, Arbitraries.integers().between(-70_000, 70_000).map(TREE::numberNode)));
    }

    /** A change to one field, chosen by its place among all fields (depth first); what it does depends on {@code kind}. */
    record FieldEdit(double which, int kind, JsonNode replacement) {
        /** Applies the edit; returns the changed field's path (dotted, YAML's names), or null when nothing changed. */
        String apply(JsonNode root) {
            List<Slot> slots = new ArrayList<>();
            collect(root, "", slots, 0);
            if (slots.isEmpty()) {
                return null;
            }
            Slot slot = slots.get(Math.min(slots.size() - 1, (int) (which * slots.size())));
            JsonNode value = replacement.deepCopy(); // replacements are shared between tries
            if (slot.container instanceof ObjectNode o) {
                switch (kind) {
                    case 0 -> o.remove(slot.name);
                    case 1 -> {
                        o.set(slot.name + "x", value); // an unknown key
                        return slot.path + "x";
                    }
                    case 2 -> {
                        String upper = slot.name.toUpperCase(Locale.ROOT);
                        if (upper.equals(slot.name)) {
                            return null;
                        }
                        o.set(upper, o.remove(slot.name)); // keys are case-sensitive
                        return slot.path.substring(0, slot.path.length() - slot.name.length()) + upper;
                    }
                    default -> o.set(slot.name, value);
                }
            } else if (slot.container instanceof ArrayNode a) {
                int i = Integer.parseInt(slot.name);
                switch (kind) {
                    case 0 -> a.remove(i);
                    case 1 -> a.add(value);
                    default -> a.set(i, value);
                }
            }
            return slot.path;
        }

        record Slot(JsonNode container, String name, String path) {
        }

        private static void collect(JsonNode node, String path, List<Slot> slots, int depth) {
            if (depth > 6) {
                return;
            }
            if (node instanceof ObjectNode o) {
                for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
                    String name = it.next();
                    String p = path.isEmpty() ? name : path + "." + name;
                    slots.add(new Slot(o, name, p));
                    collect(o.get(name), p, slots, depth + 1);
                }
            } else if (node instanceof ArrayNode a) {
                for (int i = 0; i < a.size(); i++) {
                    slots.add(new Slot(a, Integer.toString(i), path)); // a list's items are named by the list
                    collect(a.get(i), path, slots, depth + 1);
                }
            }
        }
    }

    /** A configuration as bytes, and the field that was changed when only one was and the text is otherwise intact. */
    record Input(byte[] yaml, String changedField) {
        @Override
        public String toString() {
            return (changedField == null ? "" : "[" + changedField + "] ") + new String(yaml, StandardCharsets.UTF_8);
        }
    }

    @Provide
    Arbitrary<Input> configs() {
        Arbitrary<FieldEdit> edit = Combinators.combine(Arbitraries.doubles().between(0, 1), Arbitraries.integers().between(0, 6),
                replacement()).as(FieldEdit::new);
        Arbitrary<Input> edited = Combinators.combine(Arbitraries.of(SEEDS), edit.list().ofMinSize(1).ofMaxSize(3))
                .as((seed, edits) -> {
                    try {
                        JsonNode tree = YAML.readTree(seed);
                        List<String> changed = new ArrayList<>();
                        for (FieldEdit e : edits) {
                            String path = e.apply(tree);
                            if (path != null) {
                                changed.add(path);
                            }
                        }
                        return new Input(YAML.writeValueAsBytes(tree), changed.size() == 1 ? changed.get(0) : null);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
        Arbitrary<byte[]> seeds = Arbitraries.of(SEEDS).map(s -> s.getBytes(StandardCharsets.UTF_8));
        Arbitrary<Input> text = Combinators.combine(Arbitraries.oneOf(edited.map(Input::yaml), seeds), seeds, Mutations.edits(5))
                .as((yaml, other, edits) -> new Input(Mutations.apply(yaml, other, edits, TOKENS), null));
        return Arbitraries.frequencyOf(Tuple.of(3, edited), Tuple.of(2, text));
    }

    @Property(shrinking = ShrinkingMode.BOUNDED)
    @Label("radiod.yml")
    void aBadConfigIsOneLineNamingItsFieldAndAGoodOneStartsANode(@ForAll("configs") Input input) throws IOException {
        Files.write(file, input.yaml());
        RadiodConfig config;
        try {
            config = ConfigLoader.load(file);
        } catch (ConfigLoader.ConfigException e) {
            String m = e.getMessage();
            String prefix = "config " + file + ": ";
            assertTrue(m != null && m.startsWith(prefix) && m.length() > prefix.length(), m);
            assertFalse(m.contains("\n") || m.contains("\r"), "one line: " + m);
            if (m.startsWith(prefix + "not valid YAML: ")) {
                // The parser's own words (they may name a Java exception), and where: a syntax error has no field.
                assertTrue(m.matches(".*\\(line \\d+\\)"), "a syntax error names its line: " + m);
                return;
            }
            assertFalse(m.endsWith(": null") || m.contains("Exception"), "a worded message: " + m);
            if (input.changedField() != null) {
                assertNamesField(m, input.changedField());
            }
            return;
        }
        startsANode(config);
    }

    /**
     * The message names the changed field: its dotted path, or (for an error found in a section or list as a whole)
     * the section, list or key it is in. Letter case aside: a renamed {@code NODE} is reported as a missing {@code node}.
     */
    static void assertNamesField(String message, String path) {
        String[] parts = path.toLowerCase(Locale.ROOT).split("\\.");
        String lower = message.toLowerCase(Locale.ROOT);
        for (int i = parts.length; i > 0; i--) {
            String prefix = String.join(".", java.util.Arrays.copyOf(parts, i));
            if (lower.contains(prefix)) {
                return;
            }
        }
        throw new AssertionError("the message names " + path + ": " + message);
    }

    /** Builds every part's settings from the configuration, as a node does at start. */
    static void startsANode(RadiodConfig c) {
        String bind = c.node().bind();
        String localIcecast = IcecastSettings.bindFor(bind);
        c.etcd().options();
        new HttpFrontSettings(c.node().name(), bind, c.http().port(), c.balancer().pipeline(), c.balancer().proxyUserAgents(),
                c.balancer().clusterUrl(), 5, localIcecast, c.icecast().port());
        SourceFrontSettings.of(bind, c.source().port(), c.node().addresses().get(0), c.http().port());
        IcecastSettings.of(c.icecast().dir(), localIcecast, c.icecast().port(), c.node().addresses().get(0))
                .withBinary(c.icecast().binary()).withLimits(20_000, 100).withRunAs(c.icecast().user(), c.icecast().user());
        if (c.dns().enabled()) {
            RadiodConfig.Dns d = c.dns();
            DnsSettings.defaults(d.zone()).withNameservers(d.nameservers()).withNodeTtl(d.ttl())
                    .withMaxAnswers(d.maxAnswers()).withAlias(d.alias()).withListen(bind, d.port());
        }
    }
}
