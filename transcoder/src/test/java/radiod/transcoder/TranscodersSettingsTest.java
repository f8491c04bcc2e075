package radiod.transcoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import radiod.transcoder.process.RestartPolicy;
import radiod.transcoder.script.LiquidsoapScript.Endpoint;

/**
 * The transcoders' settings take the local Icecast and source front as endpoints of their own and refuse a missing
 * or invalid field by name.
 */
class TranscodersSettingsTest {
    private static final Path LIQUIDSOAP = Path.of("/usr/bin/liquidsoap");
    private static final Path DIR = Path.of("/var/lib/radiod/transcoders");

    @Test
    void theLocalIcecastAndSourceFrontAreEndpointsOfTheirOwn() {
        Transcoders.Settings s = new Transcoders.Settings(LIQUIDSOAP, DIR, "127.0.0.1", 8100, "::1", 8001);
        assertEquals(new Endpoint("127.0.0.1", 8100), s.icecast());
        assertEquals(new Endpoint("::1", 8001), s.sourceFront());
        assertEquals(RestartPolicy.DEFAULT, s.restarts());
        assertEquals(RestartPolicy.DEFAULT, new Transcoders.Settings(LIQUIDSOAP, DIR, "127.0.0.1", 8100, "127.0.0.1", 8001, null).restarts());
    }

    @Test
    void aMissingOrInvalidFieldIsRefusedByName() {
        refused("liquidsoap", () -> new Transcoders.Settings(null, DIR, "127.0.0.1", 8100, "127.0.0.1", 8001));
        refused("dir", () -> new Transcoders.Settings(LIQUIDSOAP, null, "127.0.0.1", 8100, "127.0.0.1", 8001));
        refused("icecastHost", () -> new Transcoders.Settings(LIQUIDSOAP, DIR, null, 8100, "127.0.0.1", 8001));
        refused("icecastHost", () -> new Transcoders.Settings(LIQUIDSOAP, DIR, "0.0.0.0", 8100, "127.0.0.1", 8001));
        refused("icecastPort", () -> new Transcoders.Settings(LIQUIDSOAP, DIR, "127.0.0.1", 0, "127.0.0.1", 8001));
        refused("sourceHost", () -> new Transcoders.Settings(LIQUIDSOAP, DIR, "127.0.0.1", 8100, " ", 8001));
        refused("sourceHost", () -> new Transcoders.Settings(LIQUIDSOAP, DIR, "127.0.0.1", 8100, "[::1]", 8001));
        refused("sourceHost", () -> new Transcoders.Settings(LIQUIDSOAP, DIR, "127.0.0.1", 8100, "::", 8001));
        refused("sourcePort", () -> new Transcoders.Settings(LIQUIDSOAP, DIR, "127.0.0.1", 8100, "127.0.0.1", 70000));
    }

    /** Longer than any failover: with a long lease TTL the next master comes only after it. */
    @Test
    void theGraceWithoutALinkToTheMasterOutlastsAFailover() {
        assertEquals(Duration.ofSeconds(10), Transcoders.noLinkGrace(Duration.ofSeconds(3)));
        assertEquals(Duration.ofSeconds(10), Transcoders.noLinkGrace(Duration.ofSeconds(5)));
        assertEquals(Duration.ofSeconds(35), Transcoders.noLinkGrace(Duration.ofSeconds(30)));
        assertEquals(Duration.ofSeconds(65), Transcoders.noLinkGrace(Duration.ofSeconds(60)));
    }

    private static void refused(String field, Executable e) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e, field);
        assertTrue(x.getMessage().startsWith("transcoder settings: " + field + " "), x.getMessage());
    }
}
