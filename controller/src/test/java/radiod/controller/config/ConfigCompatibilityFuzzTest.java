package radiod.controller.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import java.util.List;

import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;

import radiod.testkit.fuzz.FuzzBudget;

/**
 * radiod.yml read by {@link ConfigBinding} against databind, which read it before issue 19, on the configurations
 * {@link ConfigFuzzTest} makes (the package's file and the documented shapes, edited field by field and as text): a
 * file radiod accepted it still accepts, as the same settings, and one it refused it still refuses. One difference
 * is meant: databind cut a fractional number to a whole one ({@code port: 80.9} was port 80); it is refused now, naming
 * the setting.
 */
@AddLifecycleHook(FuzzBudget.class)
class ConfigCompatibilityFuzzTest {
    /** How ConfigLoader read radiod.yml with databind. */
    static final ObjectMapper DATABIND = YAMLMapper.builder(new YAMLFactory())
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();
    static final AtomicInteger accepted = new AtomicInteger();
    static final AtomicInteger refused = new AtomicInteger();

    @Provide
    Arbitrary<ConfigFuzzTest.Input> configs() {
        return new ConfigFuzzTest().configs();
    }

    @Property(shrinking = ShrinkingMode.BOUNDED)
    @Label("radiod.yml, as databind read it")
    void aConfigIsReadAsDatabindReadIt(@ForAll("configs") ConfigFuzzTest.Input input) {
        String yaml = new String(input.yaml(), StandardCharsets.UTF_8);
        if (givesAKeyTwice(yaml)) {
            // databind's answer depended on where the second one stood; radiod now takes the last, accepting what
            // databind accepted (ConfigLoaderTest)
            return;
        }
        Object before;
        try {
            RadiodConfig c = yaml.isBlank() ? null : DATABIND.readValue(yaml, RadiodConfig.class);
            if (c != null) {
                c.etcd().options();
            }
            before = c == null ? "refused" : c;
        } catch (Exception e) {
            before = "refused";
        }
        Object now;
        String message = "";
        try {
            now = ConfigLoader.parse("t", yaml);
        } catch (ConfigLoader.ConfigException e) {
            now = "refused";
            message = e.getMessage();
        }
        if (before instanceof RadiodConfig && "refused".equals(now) && message.endsWith(" is not a whole number")) {
            return; // databind cut the fraction
        }
        String said = message;
        assertEquals(before, now, () -> "databind and ConfigBinding disagree on " + input + "\nnow: " + said);
        (now instanceof RadiodConfig ? accepted : refused).incrementAndGet();
    }

    /** Plain YAML scalars that the parser types as numbers or booleans: a text setting keeps them as written. */
    @Example
    void textSettingsWrittenAsNumbersOrBooleansAreReadAsDatabindReadThem() throws Exception {
        String node = "node: {name: n1, addresses: [192.0.2.1]}\n";
        for (String yaml : List.of("etcd: {username: 0x1F, password: 0123}", "etcd: {username: u, password: 1_000}",
                "etcd: {username: u, password: 1.50}", "etcd: {username: 1e3, password: +12}", "icecast: {user: yes}",
                "icecast: {user: off}",
                "dns: {enabled: on, zone: radio.example.org}", "etcd: {lease_ttl: 0x1F}", "etcd: {lease_ttl: 010}",
                "dns: {zone: 1e3}")) {
            RadiodConfig before = DATABIND.readValue(node + yaml, RadiodConfig.class);
            assertEquals(before, ConfigLoader.parse("t", node + yaml), yaml);
        }
    }

    private static boolean givesAKeyTwice(String yaml) {
        try {
            com.fasterxml.jackson.jr.ob.JSON.builder(new YAMLFactory()).build().anyFrom(yaml);
            return false;
        } catch (com.fasterxml.jackson.jr.ob.JSONObjectException e) {
            return String.valueOf(e.getMessage()).startsWith("Duplicate key");
        } catch (Exception e) {
            return false;
        }
    }

    /** The generator reaches both sides: configurations accepted and refused alike. */
    @AfterContainer
    static void bothKindsWereTried() {
        assertTrue(accepted.get() > 10 && refused.get() > 10, "accepted " + accepted + ", refused " + refused);
    }
}
