package radiod.radioctl.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import radiod.cluster.model.Mount;
import radiod.cluster.view.ClusterSnapshot;

/** A relayed mount's upstream URL as radioctl prints it: never with its password, in text or JSON. */
class MountOutputTest {
    private static final String UPSTREAM = "http://relay:up-s3cret@up.example.org:8000/radio";
    private static final String SHOWN = "http://relay:***@up.example.org:8000/radio";
    private static final Mount RELAY = new Mount("/relay.mp3", "dj", "source-pw", UPSTREAM, null, 0, 128, null);

    private static MountReport report(boolean withPassword) {
        return MountReport.of(RELAY, 7, withPassword, List.of(),
                MountUrls.of(RELAY.path(), "http://radio.example.org", ClusterSnapshot.EMPTY));
    }

    private static String json(Object value) {
        StringWriter out = new StringWriter();
        new Printer(new PrintWriter(out), new PrintWriter(new StringWriter()), true).json(value);
        return out.toString();
    }

    @Test
    void theTextFormHasTheUpstreamUrlWithoutItsPassword() {
        for (boolean withSourcePassword : new boolean[] {false, true}) {
            String text = MountText.render(report(withSourcePassword), RELAY);
            assertTrue(text.contains("  relays           " + SHOWN + "\n"), text);
            assertFalse(text.contains("up-s3cret"), text);
        }
        assertEquals(SHOWN, MountReport.origin(RELAY), "list-mounts' FROM column");
    }

    @Test
    void theJsonFormHasTheUpstreamUrlWithoutItsPassword() throws Exception {
        for (boolean withSourcePassword : new boolean[] {false, true}) {
            String json = json(report(withSourcePassword));
            assertEquals(SHOWN, new ObjectMapper().readTree(json).get("upstreamUrl").asText(), json);
            assertFalse(json.contains("up-s3cret"), json);
        }
        String list = json(List.of(report(false)));
        assertFalse(list.contains("up-s3cret"), list);
    }

    @Test
    void askingForTheSecretsShowsThemWhole() throws Exception {
        MountReport r = report(false).withSecrets(RELAY);
        JsonNode j = new ObjectMapper().readTree(json(r));
        assertEquals(UPSTREAM, j.get("upstreamUrl").asText());
        assertEquals("source-pw", j.get("sourcePassword").asText());
        assertTrue(MountText.render(r, RELAY).contains("  relays           " + UPSTREAM + "\n"));
    }

    @Test
    void aLiveMountsReportIsUnchanged() {
        Mount live = new Mount("/live.mp3", null, "pw", null, null, 0, 0, null);
        assertEquals(null, MountReport.of(live, 1, false, List.of(), null).upstreamUrl());
        assertEquals("encoder", MountReport.origin(live));
    }
}
