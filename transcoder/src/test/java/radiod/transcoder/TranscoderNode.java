package radiod.transcoder;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import radiod.transcoder.script.LiquidsoapScript.Endpoint;

/**
 * A transcoder node in its own JVM, so that a test can kill it with SIGKILL:
 * {@code TranscoderNode <endpoints> <prefix> <name> <dir root> <ttl> <icecast host> <icecast port> <source host>
 * <source port>}. Prints READY, closes cleanly on "close".
 */
public final class TranscoderNode {
    public static void main(String[] args) throws Exception {
        TestNode node = TestNode.start(List.of(args[0].split(",")), args[1], args[2], Path.of(args[3]),
                new Endpoint(args[5], Integer.parseInt(args[6])), new Endpoint(args[7], Integer.parseInt(args[8])),
                Integer.parseInt(args[4]));
        System.out.println("READY " + node.name + " " + ProcessHandle.current().pid());
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null && !line.equals("close")) {
            // wait
        }
        node.close();
        System.exit(0);
    }
}
