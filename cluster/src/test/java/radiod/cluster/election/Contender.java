package radiod.cluster.election;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import io.etcd.jetcd.Client;
import radiod.cluster.etcd.EtcdClients;
import radiod.cluster.etcd.EtcdOptions;
import radiod.cluster.etcd.EtcdSession;
import radiod.cluster.etcd.Keys;

/**
 * A contender in its own JVM, so tests can kill -9 a master: prints ELECTED / DEPOSED with a timestamp,
 * and closes cleanly when its standard input says "close".
 */
public final class Contender {
    public static void main(String[] args) throws Exception {
        String endpoints = args[0];
        String name = args[1];
        EtcdOptions options = EtcdOptions.of(List.of(endpoints.split(",")));
        Client client = EtcdClients.connect(options);
        EtcdSession session = new EtcdSession(client, Duration.ofSeconds(Long.parseLong(args[2])));
        Election election = new Election(session, options.keys().master(), () -> name.getBytes(StandardCharsets.UTF_8),
                new Election.Listener() {
                    @Override
                    public void elected() {
                        System.out.println("ELECTED " + name + " " + System.currentTimeMillis());
                        System.out.flush();
                    }

                    @Override
                    public void deposed() {
                        System.out.println("DEPOSED " + name + " " + System.currentTimeMillis());
                        System.out.flush();
                    }
                });
        session.start();
        election.start();
        System.out.println("READY " + name);
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.equals("close")) {
                break;
            }
        }
        election.close();
        System.out.println("RESIGNED " + name + " " + System.currentTimeMillis());
        System.out.flush();
        session.close();
        client.close();
        System.out.println("CLOSED " + name);
        System.exit(0);
    }
}
