package radiod.lifecycle.process;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import radiod.lifecycle.DaemonThreads;

/** Reads a child's output (stderr merged in by its builder, or not) line by line into a sink until it ends. */
final class OutputPump {
    private static final Logger log = LoggerFactory.getLogger(OutputPump.class);

    private OutputPump() {
    }

    static Thread start(String name, Process process, OutputSink sink) {
        return DaemonThreads.start(name + " output (pid " + process.pid() + ")", () -> pump(process, sink));
    }

    private static void pump(Process process, OutputSink sink) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                try {
                    sink.line(process.pid(), line.strip());
                } catch (RuntimeException e) {
                    log.warn("output of pid {}: the sink failed: {}", process.pid(), e.toString());
                }
            }
        } catch (IOException e) {
            // the process is gone
        }
    }
}
