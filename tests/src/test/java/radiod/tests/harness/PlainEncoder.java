package radiod.tests.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A broadcaster's plain encoder: one ffmpeg sending the {@link MarkedAudio} programme in real time to an Icecast
 * URL ({@code ffmpeg -re … -c copy -content_type audio/mpeg -f mp3 icecast://user:pass@node:port/mount}), with no
 * retry of any kind. ffmpeg opens one connection and exits when it ends, so "did it ever reconnect" is "did it ever
 * exit": {@link #connections} is 1 for as long as it runs, and it never comes back on its own.
 */
public final class PlainEncoder implements Source {
    private final String url;
    private final Process process;
    private final Path log;
    private final long started = System.currentTimeMillis();

    public PlainEncoder(String icecastUrl) {
        this(icecastUrl, List.of());
    }

    /** @param commandPrefix run ffmpeg under this (e.g. {@code ip netns exec <ns>}) */
    public PlainEncoder(String icecastUrl, List<String> commandPrefix) {
        this.url = icecastUrl;
        try {
            log = Files.createTempFile("radiod-encoder-", ".log");
            List<String> cmd = new ArrayList<>(commandPrefix);
            cmd.addAll(Streams.programmeCommand(icecastUrl));
            process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String url() {
        return url;
    }

    /** Still connected: ffmpeg exits as soon as its connection fails or is closed. */
    @Override
    public boolean alive() {
        return process.isAlive();
    }

    /** Connections opened: always 1, since a plain ffmpeg never opens another. */
    @Override
    public int connections() {
        return 1;
    }

    /** Connections lost: 1 once ffmpeg exited (the station is off the air), else 0. */
    @Override
    public int drops() {
        return process.isAlive() ? 0 : 1;
    }

    /** Why it exited (its exit code and last lines), for a failure message; empty while it runs. */
    @Override
    public String story() {
        if (process.isAlive()) {
            return "ffmpeg to " + url + " running since " + (System.currentTimeMillis() - started) / 1000 + " s";
        }
        String out;
        try {
            out = Files.readString(log).strip();
        } catch (IOException e) {
            out = "";
        }
        return "ffmpeg to " + url + " exited with " + process.exitValue() + " (started "
                + (System.currentTimeMillis() - started) / 1000 + " s ago): " + out.substring(Math.max(0, out.length() - 400));
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            Files.deleteIfExists(log);
        } catch (IOException e) {
            // a temp file
        }
    }
}
