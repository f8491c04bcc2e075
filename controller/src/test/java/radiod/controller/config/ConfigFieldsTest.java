package radiod.controller.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

/**
 * Every field of {@link RadiodConfig} is in Ansible's radiod.yml template, set from a {@code radiod_*} variable that
 * the role's defaults declare (so an inventory can set it), and in the package's commented default radiod.yml. A
 * field added to the config without them fails here.
 */
class ConfigFieldsTest {
    private static final Path REPO = Path.of("..");
    private static final Path ROLE = REPO.resolve("ansible/roles/radiod");
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final Pattern EXPRESSION = Pattern.compile("\\{\\{(.*?)}}");
    private static final Pattern TAG = Pattern.compile("^\\s*\\{%-?\\s*(\\w+)(.*?)-?%}\\s*$");
    private static final Pattern VARIABLE = Pattern.compile("\\bradiod_\\w+");

    /** The YAML paths of the config's fields, e.g. {@code etcd.tls.ca_file}, as radiod reads them. */
    static Set<String> configFields() {
        Set<String> fields = new TreeSet<>();
        collect(RadiodConfig.class, "", fields);
        return fields;
    }

    private static void collect(Class<?> record, String prefix, Set<String> fields) {
        for (RecordComponent c : record.getRecordComponents()) {
            String name = prefix + new PropertyNamingStrategies.SnakeCaseStrategy().translate(c.getName());
            if (c.getType().isRecord() && c.getType().getEnclosingClass() == RadiodConfig.class) {
                collect(c.getType(), name + ".", fields);
            } else {
                fields.add(name);
            }
        }
    }

    /** Leaf paths of a YAML document and their values (mappings are followed, anything else is a leaf). */
    private static Map<String, JsonNode> leaves(JsonNode node) {
        Map<String, JsonNode> leaves = new TreeMap<>();
        leaves("", node, leaves);
        return leaves;
    }

    private static void leaves(String prefix, JsonNode node, Map<String, JsonNode> leaves) {
        if (!node.isObject()) {
            leaves.put(prefix, node);
            return;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            leaves(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), leaves);
        }
    }

    private static void assertSameFields(Set<String> expected, Set<String> actual, String where) {
        Set<String> missing = new TreeSet<>(expected);
        missing.removeAll(actual);
        Set<String> unknown = new TreeSet<>(actual);
        unknown.removeAll(expected);
        assertTrue(missing.isEmpty() && unknown.isEmpty(),
                where + ": missing " + missing + ", not radiod.yml fields " + unknown);
    }

    private static Set<String> variables(String text) {
        Set<String> names = new TreeSet<>();
        Matcher m = VARIABLE.matcher(text);
        while (m.find()) {
            names.add(m.group());
        }
        return names;
    }

    /**
     * The template as YAML: the first branch of each {@code {% if %}} (the others render the same keys), each
     * {@code {{ expression }}} replaced by a placeholder naming the expression and the conditions around it.
     */
    static JsonNode template(String text, List<String> expressions) throws IOException {
        StringBuilder yaml = new StringBuilder();
        Deque<String> conditions = new ArrayDeque<>();
        Deque<Boolean> skipping = new ArrayDeque<>();
        for (String line : text.split("\n", -1)) {
            Matcher tag = TAG.matcher(line);
            if (tag.matches()) {
                switch (tag.group(1)) {
                    case "if" -> {
                        conditions.push(tag.group(2));
                        skipping.push(false);
                    }
                    case "elif", "else" -> {
                        skipping.pop();
                        skipping.push(true);
                    }
                    case "endif" -> {
                        conditions.pop();
                        skipping.pop();
                    }
                    case "set" -> {
                        // a name for an expression of role variables, used by the conditions below it
                    }
                    default -> fail("the test does not know the template tag: " + line);
                }
                continue;
            }
            if (skipping.contains(true)) {
                continue;
            }
            Matcher m = EXPRESSION.matcher(line);
            StringBuilder replaced = new StringBuilder();
            while (m.find()) {
                expressions.add(m.group(1) + " " + String.join(" ", conditions));
                m.appendReplacement(replaced, "\"@" + (expressions.size() - 1) + "\"");
            }
            m.appendTail(replaced);
            yaml.append(replaced).append('\n');
        }
        return YAML.readTree(yaml.toString());
    }

    @Test
    void theConfigFieldsAreFoundByReflection() {
        Set<String> fields = configFields();
        assertTrue(fields.containsAll(List.of("node.name", "etcd.tls.ca_file", "limits.max_bandwidth_mbps",
                "balancer.proxy_user_agents", "transcoder.dir")), fields::toString);
        assertFalse(fields.contains("etcd.tls") || fields.contains("balancer"), "sections are not fields: " + fields);
    }

    @Test
    void everyFieldIsInTheAnsibleTemplateAndSetFromARoleVariable() throws IOException {
        List<String> expressions = new ArrayList<>();
        Map<String, JsonNode> template = leaves(template(Files.readString(ROLE.resolve("templates/radiod.yml.j2")), expressions));
        assertSameFields(configFields(), template.keySet(), "ansible/roles/radiod/templates/radiod.yml.j2");

        Set<String> defaults = new HashSet<>();
        YAML.readTree(ROLE.resolve("defaults/main.yml").toFile()).fieldNames().forEachRemaining(defaults::add);
        Map<String, String> derived = new TreeMap<>();
        JsonNode vars = YAML.readTree(ROLE.resolve("vars/main.yml").toFile());
        vars.fields().forEachRemaining(e -> derived.put(e.getKey(), e.getValue().asText()));

        Map<String, String> unreachable = new TreeMap<>();
        template.forEach((field, value) -> {
            Matcher placeholder = Pattern.compile("@(\\d+)").matcher(value.asText());
            if (!value.isTextual() || !placeholder.matches()) {
                unreachable.put(field, "a fixed value, " + value);
                return;
            }
            // The variables the value depends on, through the role's vars, must include one of the role's defaults.
            Set<String> seen = new HashSet<>();
            Deque<String> todo = new ArrayDeque<>(variables(expressions.get(Integer.parseInt(placeholder.group(1)))));
            boolean settable = false;
            while (!todo.isEmpty()) {
                String v = todo.pop();
                if (!seen.add(v)) {
                    continue;
                }
                if (defaults.contains(v)) {
                    settable = true;
                } else if (derived.containsKey(v)) {
                    todo.addAll(variables(derived.get(v)));
                } else {
                    unreachable.put(field, v + " is defined in neither defaults/main.yml nor vars/main.yml");
                }
            }
            if (!settable) {
                unreachable.putIfAbsent(field, "depends on no variable of defaults/main.yml: " + seen);
            }
        });
        assertEquals(Map.of(), unreachable, "radiod.yml fields that an inventory cannot set");
    }

    @Test
    void theTemplateParserSeesAMissingField() throws IOException {
        String text = Files.readString(ROLE.resolve("templates/radiod.yml.j2"))
                .replaceFirst("\n  cluster_url: [^\n]*", "");
        Set<String> fields = leaves(template(text, new ArrayList<>())).keySet();
        assertTrue(!fields.contains("balancer.cluster_url") && fields.contains("balancer.proxy_user_agents"), fields::toString);
    }

    @Test
    void everyFieldIsInThePackagesDefaultRadiodYml() throws Exception {
        Path file = REPO.resolve("packaging/src/deb/etc/radiod.yml");
        assertSameFields(configFields(), leaves(YAML.readTree(file.toFile())).keySet(), file.toString());
        ConfigLoader.load(file);
    }
}
