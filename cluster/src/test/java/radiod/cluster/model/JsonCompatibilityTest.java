package radiod.cluster.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import radiod.cluster.tls.AcmeAccount;
import radiod.cluster.view.EtcdValuesFuzzTest;

/**
 * radiod's values in etcd used to be written and read with databind; nodes of both kinds meet in one cluster during an
 * upgrade. For every kind of value: this {@link Json} writes the same document databind wrote (keys in another order),
 * each reads what the other wrote to the same value, and with any one field missing (a node older than that field)
 * or an unknown one added (a newer node), both read the same value or both refuse it.
 */
class JsonCompatibilityTest {
    /** How radiod's mapper was set up before jackson-jr. */
    static final String REFUSED = "refused";
    static final ObjectMapper DATABIND = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .build();

    static Stream<Object> values() {
        List<Object> all = new ArrayList<>();
        EtcdValuesFuzzTest.examples().forEach(all::add);
        all.add(new AcmeAccount("-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n",
                "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n", "node1",
                1_767_000_000_000L));
        all.add(new ListenerSession("node1", "/live.mp3", "198.51.100.7", "mpv 0.35.1", null, 1_767_000_000_000L,
                960_000L));
        return all.stream();
    }

    @ParameterizedTest
    @MethodSource("values")
    void theSameDocumentAsDatabindWroteAndEachReadsTheOthers(Object value) throws Exception {
        byte[] old = DATABIND.writeValueAsBytes(value);
        byte[] now = Json.encode(value);
        assertEquals(DATABIND.readTree(old), DATABIND.readTree(now), new String(now, java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(value, Json.decodeStrict(old, value.getClass()), "databind's document read now");
        assertEquals(value, DATABIND.readValue(now, value.getClass()), "this document read by databind");
    }

    @ParameterizedTest
    @MethodSource("values")
    void aMissingOrUnknownFieldIsReadAlikeByBoth(Object value) throws Exception {
        ObjectNode whole = (ObjectNode) DATABIND.readTree(DATABIND.writeValueAsBytes(value));
        for (String name : names(whole)) {
            ObjectNode without = whole.deepCopy();
            without.remove(name);
            sameOutcome(value.getClass(), DATABIND.writeValueAsBytes(without), "without " + name);
        }
        ObjectNode more = whole.deepCopy();
        more.put("addedByANewerNode", 1).putObject("nested").putArray("deeper").add("x");
        sameOutcome(value.getClass(), DATABIND.writeValueAsBytes(more), "with unknown fields");
    }

    /** What a corrupt value may hold where a field belongs. */
    static final List<String> OTHER_KINDS = List.of("null", "true", "0", "-1", "2147483648", "9223372036854775808",
            "1.5", "1e300", "\"\"", "\"12\"", "\"x\"", "\"NaN\"", "[]", "{}", "[null]", "[1]", "{\"since\":99}",
            "{\"a\":{\"b\":[1,{}]}}");

    /**
     * Any one field given another kind of value: what databind refused is refused (a corrupt value is skipped, never
     * half read), and what both read is the same value. Refusing what databind coerced (a fraction where a whole
     * number belongs) is allowed: radiod never writes such values.
     */
    @ParameterizedTest
    @MethodSource("values")
    void aFieldOfAnotherKindIsRefusedWhereDatabindRefusedIt(Object value) throws Exception {
        ObjectNode whole = (ObjectNode) DATABIND.readTree(DATABIND.writeValueAsBytes(value));
        for (String name : names(whole)) {
            for (String other : OTHER_KINDS) {
                ObjectNode changed = whole.deepCopy();
                changed.set(name, DATABIND.readTree(other));
                byte[] document = DATABIND.writeValueAsBytes(changed);
                Object now = now(document, value.getClass());
                Object byDatabind = byDatabind(document, value.getClass());
                if (!REFUSED.equals(now) || REFUSED.equals(byDatabind)) {
                    assertEquals(byDatabind, now, value.getClass().getSimpleName() + "." + name + " = " + other);
                }
            }
        }
    }

    private static List<String> names(ObjectNode document) {
        List<String> names = new ArrayList<>();
        document.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** What databind made of a document, or {@link #REFUSED}. */
    private static Object byDatabind(byte[] document, Class<?> type) {
        try {
            return DATABIND.readValue(document, type);
        } catch (Exception e) {
            return REFUSED;
        }
    }

    /** What {@link Json} makes of it, or {@link #REFUSED} with a worded reason. */
    private static Object now(byte[] document, Class<?> type) {
        try {
            return Json.decodeStrict(document, type);
        } catch (IllegalArgumentException e) {
            assertTrue(!e.getMessage().contains("Exception") && !e.getMessage().endsWith(": null"),
                    "a worded reason: " + e.getMessage());
            return REFUSED;
        }
    }

    private static void sameOutcome(Class<?> type, byte[] document, String what) {
        assertEquals(byDatabind(document, type), now(document, type), type.getSimpleName() + " " + what + ": "
                + new String(document, java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void aRecordsOwnCheckIsTheReasonGivenAndGarbageIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.decodeStrict(
                "{\"name\":\"Not A Label!\",\"addresses\":[\"192.0.2.1\"],\"icecastPort\":1,\"sourcePort\":1,\"httpPort\":1}"
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8), MasterInfo.class));
        assertEquals(true, e.getMessage().contains("Not A Label!"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Json.decodeStrict("{".getBytes(), MasterInfo.class));
        assertThrows(IllegalArgumentException.class, () -> Json.decodeStrict("null".getBytes(), MasterInfo.class));
        assertThrows(IllegalArgumentException.class, () -> Json.decodeStrict(new byte[0], MasterInfo.class));
    }
}
