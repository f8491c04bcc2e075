package radiod.radioctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import com.fasterxml.jackson.databind.JsonNode;

import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Json;
import radiod.cluster.model.Mount;
import radiod.cluster.model.NodeStatus;
import radiod.testkit.EtcdCluster;
import radiod.testkit.etcd.EtcdPrefix;

/** The mount commands against a real etcd, each test under its own key prefix. */
class MountCommandsIT {
    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();
    @RegisterExtension
    final EtcdPrefix keys = EtcdPrefix.on(etcd, "mounts-it");
    private final Radioctl radioctl = Radioctl.at(keys);

    private Radioctl.Result ok(String... args) {
        Radioctl.Result r = radioctl.run(args);
        assertEquals(0, r.exitCode(), r::toString);
        return r;
    }

    private Radioctl.Result fails(int code, String... args) {
        Radioctl.Result r = radioctl.run(args);
        assertEquals(code, r.exitCode(), r::toString);
        assertTrue(r.err().startsWith("radioctl: "), r::toString);
        return r;
    }

    private long keysUnderPrefix() {
        return keys.count();
    }

    private Mount stored(String path) {
        String json = keys.get(Keys.MOUNTS + path.substring(1)).orElseThrow();
        return Json.decodeStrict(json.getBytes(StandardCharsets.UTF_8), Mount.class);
    }

    private void putRaw(String relativeKey, String value) {
        keys.put(relativeKey, value);
    }

    @Test
    void createMountStoresItWithAStrongGeneratedPasswordAndPrintsWhatBroadcastersAndListenersUse() {
        putRaw("nodes/node1", Json.encodeString(new NodeStatus("node1", List.of("127.0.0.11"), 8080, 8000, 8100, 5353,
                true, false, true, 0, null, 0, 0, 0, null, "test", 1)));
        Radioctl.Result r = ok("create-mount", "/live.mp3", "--bitrate", "192", "--max-listeners", "500");

        Mount m = stored("/live.mp3");
        assertEquals("source", m.sourceUser());
        assertEquals(192, m.bitrateKbps());
        assertEquals(500, m.maxListeners());
        assertTrue(m.sourcePassword().matches("[A-Za-z0-9]{24}"), m.sourcePassword());
        assertTrue(r.out().startsWith("created mount /live.mp3\n"), r::toString);
        assertTrue(r.out().contains(m.sourcePassword()), "prints the password");
        assertTrue(r.out().contains("http://127.0.0.11:8000/live.mp3"), r::toString);
        assertTrue(r.out().contains("icecast://source:" + m.sourcePassword() + "@127.0.0.11:8000/live.mp3"), r::toString);
        assertTrue(r.out().contains("http://127.0.0.11:8080/live.mp3.m3u"), r::toString);

        ok("create-mount", "/other.mp3");
        assertNotEquals(m.sourcePassword(), stored("/other.mp3").sourcePassword(), "each password is new");
    }

    @Test
    void createMountTakesGivenCredentialsUpstreamAndFallbackAndUsesTheClusterUrl() {
        ok("create-mount", "/fallback.mp3");
        Radioctl.Result r = ok("create-mount", "/relay.mp3", "--user", "dj", "--password", "s3cret!",
                "--upstream", "http://stream.example.org:8000/radio", "--fallback", "/fallback.mp3",
                "--cluster-url", "http://radio.example.org/");
        Mount m = stored("/relay.mp3");
        assertEquals(new Mount("/relay.mp3", "dj", "s3cret!", "http://stream.example.org:8000/radio", "/fallback.mp3",
                0, 0, null), m);
        assertTrue(r.out().contains("http://radio.example.org/relay.mp3\n"), r::toString);
        assertTrue(r.out().contains("relays           http://stream.example.org:8000/radio"), r::toString);
    }

    @Test
    void createMountJsonParsesAndCarriesCredentialsAndUrls() {
        JsonNode j = ok("--json", "create-mount", "/live.mp3", "--cluster-url", "http://radio.example.org").json();
        assertEquals("/live.mp3", j.get("path").asText());
        assertEquals("live", j.get("type").asText());
        assertEquals(stored("/live.mp3").sourcePassword(), j.get("sourcePassword").asText());
        assertEquals("http://radio.example.org/live.mp3", j.get("urls").get("listen").get(0).asText());
        assertEquals("http://radio.example.org:8000/live.mp3", j.get("urls").get("source").get(0).asText());
        assertTrue(j.get("modRevision").asLong() > 0);
    }

    @Test
    void creatingAnExistingMountIsAConflictThatChangesNothing() {
        ok("create-mount", "/live.mp3", "--password", "first");
        Radioctl.Result r = fails(4, "create-mount", "/live.mp3", "--password", "second");
        assertEquals("radioctl: mount /live.mp3 already exists (use `radioctl edit-mount`)\n", r.err());
        assertEquals("first", stored("/live.mp3").sourcePassword());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "create-mount live.mp3                       | mount path 'live.mp3' is not valid: use a leading '/'",
            "create-mount /live.m3u                      | ends like a playlist",
            "create-mount /admin/x                       | is reserved",
            "create-mount /live.mp3 --bitrate 20000      | bitrate must be between 0 (unknown) and 10000 kbit/s, got 20000",
            "create-mount /live.mp3 --bitrate abc        | Invalid value for option '--bitrate': 'abc' is not an int",
            "create-mount /live.mp3 --max-listeners -1   | max listeners must be 0 (no limit) or more, got -1",
            "create-mount /live.mp3 --upstream ftp://x/y | upstream URL 'ftp://x/y' of /live.mp3 is not valid: use http://host[:port]/path",
            "create-mount /live.mp3 --user 'a b'         | source user 'a b' is not valid: use 1-64 letters",
            "create-mount /live.mp3 --fallback /live.mp3 | cannot be its own fallback",
            "create-mount /live.mp3 --cluster-url radio  | cluster URL 'radio' is not valid: use http://host[:port]",
            "create-transcoding-mount /l.ogg --source /live.mp3 --codec flac --bitrate 64 | codec 'flac' is not supported: use one of mp3, opus, vorbis",
            "create-transcoding-mount /l.mp3 --source /live.mp3 --codec mp3 --bitrate 999 | bitrate 999 kbit/s is not possible for mp3: use 8 to 320",
            "create-transcoding-mount /l.mp3 --source /live.mp3 --codec mp3 --bitrate 64 --samplerate 12345 | sample rate 12345 Hz is not possible for mp3",
            "create-transcoding-mount /l.mp3 --source /live.mp3 --codec mp3 --bitrate 64 --channels 6 | channels must be 1 or 2, got 6",
            "create-transcoding-mount /l.mp3 --source /live.mp3 --codec mp3 --bitrate 64 --quality 0.5 | quality applies to vorbis only, not mp3",
            "create-transcoding-mount /l.mp3 --codec mp3 --bitrate 64 | Missing required option: '--source=PATH'",
            "edit-mount /live.mp3                         | nothing to change",
            "edit-mount /live.mp3 --password a --generate-password | --password and --generate-password cannot be given together",
            "show-mount nope                              | mount path 'nope' is not valid",
            "drain Node_2                                 | node name 'Node_2' is not valid: use 1-63 lowercase letters",
            "--timeout 0s list-mounts                     | --timeout '0s' is out of range",
            "--endpoints localhost:2379 list-mounts       | --endpoints: 'localhost:2379' is not valid: use http://host:port",
    })
    void anInvalidValueIsNamedWithWhatIsAllowedExitsTwoAndWritesNothing(String command, String message) {
        ok("create-mount", "/live.mp3", "--password", "pw");
        long before = keysUnderPrefix();
        List<String> args = new ArrayList<>();
        var m = java.util.regex.Pattern.compile("'[^']*'|\\S+").matcher(command);
        while (m.find()) {
            args.add(m.group().startsWith("'") ? m.group().substring(1, m.group().length() - 1) : m.group());
        }
        Radioctl.Result r = fails(2, args.toArray(String[]::new));
        assertTrue(r.err().contains(message.trim()), r::toString);
        assertEquals("", r.out());
        assertEquals(before, keysUnderPrefix(), "nothing written");
        assertEquals("pw", stored("/live.mp3").sourcePassword());
    }

    @Test
    void aTranscodedMountNeedsAnExistingSource() {
        Radioctl.Result r = fails(3, "create-transcoding-mount", "/live-64.mp3", "--source", "/live.mp3", "--codec", "mp3",
                "--bitrate", "64");
        assertTrue(r.err().contains("source mount /live.mp3 of /live-64.mp3 does not exist"), r::toString);
        assertEquals(0, keysUnderPrefix());

        ok("create-mount", "/live.mp3");
        JsonNode j = ok("--json", "create-transcoding-mount", "/live-64.ogg", "--source", "/live.mp3", "--codec", "VORBIS",
                "--bitrate", "64", "--quality", "0.3", "--channels", "1").json();
        assertEquals("transcoded", j.get("type").asText());
        assertEquals("vorbis", j.get("transcoding").get("codec").asText());
        Mount m = stored("/live-64.ogg");
        assertEquals("/live.mp3", m.transcoding().sourceMount());
        assertEquals(1, m.transcoding().channels());
        assertEquals(44100, m.transcoding().sampleRate());
        assertEquals(0.3, m.transcoding().quality());
        assertEquals(64, m.bitrateKbps());
    }

    @Test
    void showMountHidesThePasswordUnlessAskedAndNamesItsTranscodedMounts() {
        ok("create-mount", "/live.mp3", "--password", "hunter2hunter2");
        ok("create-transcoding-mount", "/live-64.mp3", "--source", "/live.mp3", "--codec", "mp3", "--bitrate", "64");

        Radioctl.Result hidden = ok("show-mount", "/live.mp3");
        assertFalse(hidden.out().contains("hunter2hunter2"), hidden::toString);
        assertTrue(hidden.out().contains("(hidden; --show-password shows it)"), hidden::toString);
        assertTrue(hidden.out().contains("transcoded to    /live-64.mp3"), hidden::toString);
        assertTrue(ok("show-mount", "/live.mp3", "--show-password").out().contains("hunter2hunter2"));

        JsonNode j = ok("show-mount", "/live.mp3", "--json").json();
        assertTrue(j.get("sourcePassword").isNull());
        assertEquals("/live-64.mp3", j.get("transcodedMounts").get(0).asText());
        assertEquals("hunter2hunter2", ok("show-mount", "/live.mp3", "--json", "--show-password").json()
                .get("sourcePassword").asText());
    }

    @Test
    void aMissingMountIsNotFoundForShowEditAndDelete() {
        for (String[] args : List.of(new String[] {"show-mount", "/nope.mp3"},
                new String[] {"edit-mount", "/nope.mp3", "--bitrate", "64"},
                new String[] {"delete-mount", "/nope.mp3"})) {
            Radioctl.Result r = fails(3, args);
            assertEquals("radioctl: mount /nope.mp3 does not exist (see `radioctl list-mounts`)\n", r.err());
        }
        assertEquals(0, keysUnderPrefix(), "edit did not create it");
    }

    @Test
    void listMountsIsSortedLeavesPasswordsOutAndSkipsCorruptValues() {
        assertTrue(ok("list-mounts").out().startsWith("no mounts yet"));
        ok("create-mount", "/b.mp3", "--password", "secretb");
        ok("create-mount", "/a.mp3", "--password", "secreta", "--upstream", "http://up.example.org/a");
        ok("create-transcoding-mount", "/b-32.opus", "--source", "/b.mp3", "--codec", "opus", "--bitrate", "32");
        putRaw("mounts/corrupt.mp3", "{oops");

        Radioctl.Result r = ok("list-mounts");
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).startsWith("PATH"), r::toString);
        assertEquals("/a.mp3      relay       http://up.example.org/a  128 kbit/s (assumed)  no limit       -", lines.get(1));
        assertEquals("/b-32.opus  transcoded  opus 32k from /b.mp3     32 kbit/s             no limit       -", lines.get(2));
        assertEquals("/b.mp3      live        encoder                  128 kbit/s (assumed)  no limit       -", lines.get(3));
        assertEquals(4, lines.size(), r::toString);
        assertFalse(r.out().contains("secret"));

        JsonNode j = ok("list-mounts", "--json").json();
        assertEquals(3, j.size());
        assertEquals("/a.mp3", j.get(0).get("path").asText());
        assertTrue(j.get(0).get("sourcePassword").isNull());
        assertEquals("/b-32.opus", j.get(2).get("transcodedMounts").get(0).asText());
    }

    @Test
    void anUpstreamUrlsPasswordIsStoredButNeverPrintedUnlessAsked() {
        String upstream = "http://relay:up-s3cret@up.example.org:8000/a";
        String shown = "http://relay:***@up.example.org:8000/a";
        List<Radioctl.Result> printed = new ArrayList<>();
        printed.add(ok("create-mount", "/a.mp3", "--upstream", upstream, "--cluster-url", "http://radio.example.org"));
        printed.add(ok("--json", "create-mount", "/b.mp3", "--upstream", upstream));
        assertEquals(upstream, stored("/a.mp3").upstreamUrl(), "stored whole: the master needs it");
        assertTrue(printed.get(0).out().contains("  relays           " + shown + "\n"), printed.get(0)::toString);
        assertEquals(shown, printed.get(1).json().get("upstreamUrl").asText());

        Radioctl.Result list = ok("list-mounts");
        assertTrue(list.out().contains("/a.mp3  relay  " + shown + "  "), list::toString);
        printed.add(list);
        JsonNode listJson = ok("list-mounts", "--json").json();
        assertEquals(shown, listJson.get(0).get("upstreamUrl").asText());
        Radioctl.Result show = ok("show-mount", "/a.mp3");
        assertTrue(show.out().contains("  relays           " + shown + "\n"), show::toString);
        printed.add(show);
        assertEquals(shown, ok("show-mount", "/a.mp3", "--json").json().get("upstreamUrl").asText());

        Radioctl.Result edit = ok("edit-mount", "/a.mp3", "--upstream", "http://relay:n3w-secret@up.example.org:8000/b");
        assertTrue(edit.out().contains("upstream " + shown + " -> http://relay:***@up.example.org:8000/b"), edit::toString);
        printed.add(edit);
        printed.add(ok("edit-mount", "/b.mp3", "--json", "--max-listeners", "5"));
        printed.add(fails(2, "edit-mount", "/b.mp3", "--upstream", "ftp://relay:n3w-secret@up.example.org/x"));
        for (Radioctl.Result r : printed) {
            assertFalse(r.out().contains("secret") || r.err().contains("secret"), r::toString);
        }

        // Asked for: show-mount --show-password shows the mount's secrets, the upstream URL's password with them.
        Radioctl.Result secrets = ok("show-mount", "/b.mp3", "--show-password", "--json");
        assertEquals(upstream, secrets.json().get("upstreamUrl").asText());
    }

    @Test
    void editMountChangesOnlyTheNamedFields() {
        ok("create-mount", "/live.mp3", "--password", "keepme", "--bitrate", "128", "--max-listeners", "10",
                "--fallback", "/fb.mp3");
        Radioctl.Result r = ok("edit-mount", "/live.mp3", "--bitrate", "192", "--no-fallback");
        assertTrue(r.out().startsWith("updated mount /live.mp3: fallback /fb.mp3 -> -, bitrate 128 -> 192 kbit/s"),
                r::toString);
        assertEquals(new Mount("/live.mp3", "source", "keepme", null, null, 10, 192, null), stored("/live.mp3"));

        Radioctl.Result g = ok("edit-mount", "/live.mp3", "--generate-password");
        String generated = stored("/live.mp3").sourcePassword();
        assertTrue(generated.matches("[A-Za-z0-9]{24}"));
        assertTrue(g.out().contains("new source password: " + generated), g::toString);

        JsonNode j = ok("edit-mount", "/live.mp3", "--max-listeners", "20", "--json").json();
        assertEquals(20, j.get("maxListeners").asInt());
        assertTrue(j.get("sourcePassword").isNull(), "not shown unless it was changed");
        assertEquals(generated, stored("/live.mp3").sourcePassword());

        assertTrue(ok("edit-mount", "/live.mp3", "--bitrate", "192").out().contains("nothing written"));
    }

    @Test
    void editMountOfATranscodedMountChecksTheNewSourceAndLoops() {
        ok("create-mount", "/live.mp3");
        ok("create-transcoding-mount", "/a.mp3", "--source", "/live.mp3", "--codec", "mp3", "--bitrate", "96");
        ok("create-transcoding-mount", "/b.mp3", "--source", "/a.mp3", "--codec", "mp3", "--bitrate", "64");

        ok("edit-mount", "/a.mp3", "--codec", "opus", "--bitrate", "48");
        Mount a = stored("/a.mp3");
        assertEquals("opus", a.transcoding().codec());
        assertEquals(48000, a.transcoding().sampleRate(), "the new codec's default rate");
        assertEquals(48, a.bitrateKbps());

        Radioctl.Result loop = fails(2, "edit-mount", "/a.mp3", "--source", "/b.mp3");
        assertTrue(loop.err().contains("would make /a.mp3 transcode itself (/a.mp3 <- /b.mp3 <- /a.mp3)"), loop::toString);
        Radioctl.Result missing = fails(3, "edit-mount", "/a.mp3", "--source", "/gone.mp3");
        assertTrue(missing.err().contains("source mount /gone.mp3 of /a.mp3 does not exist"), missing::toString);
        Radioctl.Result notTranscoded = fails(2, "edit-mount", "/live.mp3", "--codec", "opus");
        assertTrue(notTranscoded.err().contains("apply to transcoded mounts only; /live.mp3 is a live mount"));
        assertEquals("/live.mp3", stored("/a.mp3").transcoding().sourceMount());
    }

    @Test
    void anEditBasedOnAStaleReadFailsClearlyAndWritesNothing() {
        ok("create-mount", "/live.mp3", "--bitrate", "128");
        long read = ok("show-mount", "/live.mp3", "--json").json().get("modRevision").asLong();
        ok("edit-mount", "/live.mp3", "--bitrate", "192", "--if-revision", Long.toString(read));

        Radioctl.Result r = fails(4, "edit-mount", "/live.mp3", "--bitrate", "256", "--if-revision", Long.toString(read));
        assertTrue(r.err().startsWith("radioctl: mount /live.mp3 was changed by someone else after it was read (revision "
                + read + ", now "), r::toString);
        assertTrue(r.err().contains("nothing was written"), r::toString);
        assertEquals(192, stored("/live.mp3").bitrateKbps());
    }

    @Test
    void ofTwoOperatorsEditingTheSameReadAtOnceOneWinsAndTheOtherIsTold() throws Exception {
        ok("create-mount", "/live.mp3", "--bitrate", "128");
        String read = ok("show-mount", "/live.mp3", "--json").json().get("modRevision").asText();
        CyclicBarrier start = new CyclicBarrier(2);
        ExecutorService operators = Executors.newFixedThreadPool(2);
        try {
            List<Future<Radioctl.Result>> results = new ArrayList<>();
            for (String bitrate : List.of("192", "256")) {
                results.add(operators.submit(() -> {
                    start.await(10, TimeUnit.SECONDS);
                    return radioctl.run("edit-mount", "/live.mp3", "--bitrate", bitrate, "--if-revision", read);
                }));
            }
            List<Radioctl.Result> done = new ArrayList<>();
            for (Future<Radioctl.Result> f : results) {
                done.add(f.get(20, TimeUnit.SECONDS));
            }
            List<Radioctl.Result> won = done.stream().filter(r -> r.exitCode() == 0).toList();
            List<Radioctl.Result> lost = done.stream().filter(r -> r.exitCode() == 4).toList();
            assertEquals(1, won.size(), done::toString);
            assertEquals(1, lost.size(), done::toString);
            assertTrue(lost.get(0).err().contains("was changed by someone else"), lost::toString);
            int winner = won.get(0).out().contains("-> 192") ? 192 : 256;
            assertEquals(winner, stored("/live.mp3").bitrateKbps());
        } finally {
            operators.shutdownNow();
        }
    }

    @Test
    void deleteMountRefusesASourceOfTranscodedMountsUnlessForced() {
        ok("create-mount", "/live.mp3");
        ok("create-mount", "/other.mp3", "--fallback", "/live.mp3");
        ok("create-transcoding-mount", "/live-64.mp3", "--source", "/live.mp3", "--codec", "mp3", "--bitrate", "64");

        Radioctl.Result refused = fails(4, "delete-mount", "/live.mp3");
        assertEquals("radioctl: mount /live.mp3 is the source of transcoded mount /live-64.mp3: delete it first, or use "
                + "--force to delete /live.mp3 anyway (it goes silent)\n", refused.err());
        stored("/live.mp3");

        Radioctl.Result forced = ok("delete-mount", "/live.mp3", "--force");
        assertTrue(forced.out().startsWith("deleted mount /live.mp3; /live-64.mp3 now has no source"), forced::toString);
        assertTrue(forced.err().contains("/other.mp3 still names /live.mp3 as its fallback"), forced::toString);
        fails(3, "show-mount", "/live.mp3");

        JsonNode j = ok("delete-mount", "/live-64.mp3", "--json").json();
        assertEquals("/live-64.mp3", j.get("deleted").asText());
        assertEquals(List.of("/other.mp3"), ok("list-mounts", "--json").json().findValuesAsText("path"));
    }

    @Test
    void aCorruptMountIsReportedAndCanBeDeleted() {
        putRaw("mounts/broken.mp3", "{\"path\":\"/broken.mp3\"");
        Radioctl.Result r = fails(1, "show-mount", "/broken.mp3");
        assertTrue(r.err().contains("mount /broken.mp3 is stored corrupt at " + keys.prefix() + "mounts/broken.mp3"), r::toString);
        assertTrue(ok("delete-mount", "/broken.mp3").out().contains("deleted corrupt mount /broken.mp3"));
        assertEquals(0, keysUnderPrefix());
    }
}
