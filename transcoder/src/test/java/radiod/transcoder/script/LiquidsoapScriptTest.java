package radiod.transcoder.script;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import radiod.cluster.model.Mount;
import radiod.cluster.model.Transcoding;
import radiod.transcoder.script.LiquidsoapScript.Endpoint;

/**
 * The liquidsoap script pulls from the local Icecast and pushes to the local source front with the mount's
 * credentials, encodes with the mount's codec settings, and escapes every value so that nothing in it is evaluated.
 */
class LiquidsoapScriptTest {
    /** This node's Icecast and its source front: on different addresses and ports, so that a mix-up shows. */
    private static final Endpoint ICECAST = new Endpoint("127.0.0.12", 8100);
    private static final Endpoint SOURCE_FRONT = new Endpoint("127.0.0.13", 8200);

    private static Mount transcoded(String path, String password, Transcoding t) {
        return new Mount(path, "transcoder", password, null, null, 0, 0, t);
    }

    @Test
    void quotesAndBackslashesAreEscaped() {
        assertEquals("\"a\\\"b\\\\c\"", LiquidsoapScript.string("a\"b\\c"));
    }

    @Test
    void anInterpolationIsSplitAcrossTwoLiteralsSoItIsNeverEvaluated() {
        assertEquals("(\"pass#\" ^ \"{shutdown()}\")", LiquidsoapScript.string("pass#{shutdown()}"));
        assertEquals("(\"#\" ^ \"{#\" ^ \"{\")", LiquidsoapScript.string("#{#{"));
        assertEquals("\"# {} #\"", LiquidsoapScript.string("# {} #"));
    }

    @Test
    void controlCharactersBecomeHexEscapesAndOtherTextStaysAsItIs() {
        assertEquals("\"a\\x0ab\\x09c\\x7f\"", LiquidsoapScript.string("a\nb\tc\u007f"));
        assertEquals("\"é'ü $x\"", LiquidsoapScript.string("é'ü $x"));
    }

    @Test
    void mp3EncoderCarriesBitrateSampleRateAndStereo() {
        assertEquals("%mp3(bitrate=64, samplerate=44100, stereo=true)",
                LiquidsoapScript.encoder("mp3", 64, 44100, 2, null));
        assertEquals("%mp3(bitrate=32, samplerate=22050, stereo=false)",
                LiquidsoapScript.encoder("mp3", 32, 22050, 1, null));
    }

    @Test
    void opusEncoderCarriesBitrateSampleRateAndChannels() {
        assertEquals("%opus(bitrate=48, samplerate=48000, channels=2)", LiquidsoapScript.encoder("opus", 48, 48000, 2, null));
    }

    @Test
    void vorbisUsesQualityWhenGivenAndAverageBitrateOtherwise() {
        assertEquals("%vorbis(quality=0.30, samplerate=44100, channels=1)",
                LiquidsoapScript.encoder("vorbis", 96, 44100, 1, 0.3));
        assertEquals("%vorbis(quality=-0.10, samplerate=8000, channels=2)",
                LiquidsoapScript.encoder("vorbis", 96, 8000, 2, -0.1));
        assertEquals("%vorbis.abr(bitrate=96, samplerate=44100, channels=2)",
                LiquidsoapScript.encoder("vorbis", 96, 44100, 2, null));
    }

    @Test
    void aacGoesThroughFfmpegAsAdtsAndIsAnnouncedAsAudioAac() {
        assertEquals("%ffmpeg(format=\"adts\", %audio(codec=\"aac\", b=\"64k\", ar=44100, channels=2))",
                LiquidsoapScript.encoder("aac", 64, 44100, 2, null));
        assertEquals("audio/aac", LiquidsoapScript.mime("aac"));
        assertEquals("", LiquidsoapScript.mime("mp3"));
    }

    @Test
    void anUnknownCodecIsRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LiquidsoapScript.encoder("flac", 64, 44100, 2, null));
        assertTrue(e.getMessage().contains("'flac'"), e.getMessage());
    }

    @Test
    void scriptPullsTheSourceFromTheLocalIcecastAndPushesToTheLocalSourceFrontWithTheMountsCredentials() {
        Mount m = transcoded("/live-64.mp3", "p\"a\\ss#{x}", new Transcoding("/live.mp3", "mp3", 64, 44100, 2, null));
        String script = LiquidsoapScript.render(m, ICECAST, SOURCE_FRONT, 4242);

        assertTrue(script.contains("settings.init.allow_root.set(true)"), script);
        assertTrue(script.contains("settings.log.stdout.set(true)"), script);
        assertTrue(script.contains("input.http(id=\"source\", poll_delay=1.0,"), script);
        assertTrue(script.contains("  \"http://127.0.0.12:8100/live.mp3\")"), script);
        assertTrue(script.contains("[({true}, source), ({true}, blank(id=\"silence\"))]"), script);
        assertTrue(script.contains("output.icecast(id=\"output\", %mp3(bitrate=64, samplerate=44100, stereo=true),"), script);
        assertTrue(script.contains("host=\"127.0.0.13\", port=8200,"), script);
        assertFalse(script.contains("host=\"127.0.0.12\""), "pushed to the Icecast it pulls from: " + script);
        assertFalse(script.contains("127.0.0.13:8200/"), "pulled from the source front: " + script);
        assertTrue(script.contains("user=\"transcoder\", password=(\"p\\\"a\\\\ss#\" ^ \"{x}\"),"), script);
        assertTrue(script.contains("mount=\"/live-64.mp3\""), script);
        assertFalse(script.contains("method="), "the default method (SOURCE), like any encoder: " + script);
        assertTrue(script.contains("file.exists(\"/proc/4242/exe\")"), script);
        assertTrue(script.contains("file.exists(\"/proc/4242\")"), script);
        assertTrue(script.contains("shutdown()"), script);
        assertFalse(script.contains("format="), "mp3 needs no explicit content type: " + script);
    }

    @Test
    void theScriptDependsOnTheMountAndTheLocalEndpointsOnly() {
        Mount m = transcoded("/live.opus", "secret", new Transcoding("/live.mp3", "opus", 48, 48000, 2, null));
        assertEquals(LiquidsoapScript.render(m, ICECAST, SOURCE_FRONT, 7),
                LiquidsoapScript.render(m, new Endpoint("127.0.0.12", 8100), new Endpoint("127.0.0.13", 8200), 7));
        Mount other = transcoded("/live.opus", "other", m.transcoding());
        assertFalse(LiquidsoapScript.render(m, ICECAST, SOURCE_FRONT, 7).equals(LiquidsoapScript.render(other, ICECAST, SOURCE_FRONT, 7)));
    }

    @Test
    void anIpv6IcecastIsBracketedInTheSourceUrlAndAnIpv6SourceFrontIsNotInTheHost() {
        Mount m = transcoded("/live.opus", "secret", new Transcoding("/live.mp3", "opus", 48, 48000, 2, null));
        String script = LiquidsoapScript.render(m, new Endpoint("::1", 8100), new Endpoint("::1", 8200), 1);
        assertTrue(script.contains("\"http://[::1]:8100/live.mp3\""), script);
        assertTrue(script.contains("host=\"::1\", port=8200,"), script);
    }

    @Test
    void anEndpointIsAnAddressToConnectTo() {
        assertEquals("127.0.0.1:8000", new Endpoint("127.0.0.1", 8000).authority());
        assertEquals("[::1]:8000", new Endpoint("::1", 8000).authority());
        assertEquals("node1.example:8001", new Endpoint("node1.example", 8001).authority());
        for (String bad : new String[] {null, "", " ", "0.0.0.0", "::", "[::1]", "a b", "a\"b", "host/x"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Endpoint(bad, 8000), String.valueOf(bad));
            assertTrue(e.getMessage().startsWith("host "), e.getMessage());
        }
        for (int bad : new int[] {0, -1, 65536}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Endpoint("127.0.0.1", bad));
            assertTrue(e.getMessage().startsWith("port "), e.getMessage());
        }
    }

    @Test
    void aMountWithoutTranscodingIsRefused() {
        Mount plain = new Mount("/live.mp3", "source", "secret", null, null, 0, 0, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LiquidsoapScript.render(plain, ICECAST, SOURCE_FRONT, 1));
        assertTrue(e.getMessage().contains("/live.mp3"), e.getMessage());
    }
}
