package radiod.radioctl.command;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import radiod.cluster.etcd.Keys;
import radiod.cluster.model.Json;
import radiod.cluster.model.ListenerSession;
import radiod.cluster.model.MountPath;
import radiod.cluster.model.NodeStatus;
import radiod.cluster.mounts.MountNotFoundException;
import radiod.cluster.view.ClusterSnapshot;
import radiod.radioctl.ExitCode;
import radiod.radioctl.Failure;
import radiod.radioctl.connect.Connection;
import radiod.radioctl.output.ListenersReport;
import radiod.radioctl.output.Printer;

/**
 * {@code radioctl listeners [MOUNT]}: who listens now, on every live node. The nodes are asked at once, each on its
 * HTTP port ({@code /_admin/listeners}, with the cluster's admin token from etcd); a node that does not answer within
 * the timeout is named on standard error and the exit code is {@link ExitCode#PARTIAL}.
 */
@Command(name = "listeners", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Lists the listeners connected now: node, mount, address, user agent, connected since, bytes sent.",
                "Every live node is asked on its HTTP port (GET /_admin/listeners) with the cluster's admin token, "
                        + "which radioctl reads from etcd (admin/token under the prefix). A listener's address is the "
                        + "client's, also behind the nodes' trusted proxies. A node that does not answer within "
                        + "--timeout is named on standard error; what the others said is printed, and radioctl exits 7.",
                "Listener addresses are personal data: keep the output where the access log is kept."})
public final class Listeners extends EtcdCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "MOUNT", description = "only this mount, e.g. /live.mp3")
    String mount;

    /** What {@code /_admin/listeners} answers. */
    public record NodeListeners(String node, List<ListenerSession> listeners) {
    }

    @Override
    void validate() {
        if (mount != null) {
            MountPath.validate(mount);
        }
    }

    @Override
    int run(Connection etcd, Printer out) {
        ClusterSnapshot snapshot = etcd.snapshot();
        if (mount != null && !snapshot.mounts().containsKey(mount)) {
            throw new MountNotFoundException(mount);
        }
        String token = etcd.adminTokens().get().orElseThrow(() -> new Failure(ExitCode.OTHER,
                "there is no admin token in etcd (" + etcd.options().keys().prefix() + Keys.ADMIN_TOKEN
                        + "): it is made by the first radiod node that starts; is any node running?"));
        Duration timeout = etcd.settings().timeout();
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout).build();
        Map<String, CompletableFuture<NodeListeners>> asked = new TreeMap<>();
        Map<String, String> urls = new TreeMap<>();
        for (NodeStatus node : snapshot.nodes().values()) {
            String url = "http://" + host(node.address()) + ":" + node.httpPort() + "/_admin/listeners"
                    + (mount == null ? "" : "?mount=" + URLEncoder.encode(mount, StandardCharsets.UTF_8));
            urls.put(node.name(), url);
            HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(timeout)
                    .header("Authorization", "Bearer " + token).header("Accept", "application/json").GET().build();
            asked.put(node.name(), http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
                    .thenApply(r -> decode(node.name(), r)));
        }
        List<ListenerSession> sessions = new ArrayList<>();
        List<ListenersReport.Unanswered> unanswered = new ArrayList<>();
        asked.forEach((name, answer) -> {
            try {
                sessions.addAll(answer.join().listeners());
            } catch (CompletionException e) {
                unanswered.add(new ListenersReport.Unanswered(name, urls.get(name), why(e.getCause(), timeout)));
            }
        });
        ListenersReport report = ListenersReport.of(sessions, unanswered);
        if (out.wantsJson()) {
            out.json(report);
        } else {
            out.lines(report.render());
        }
        for (ListenersReport.Unanswered u : report.unanswered()) {
            out.error("node " + u.node() + " (" + u.url() + ") did not answer: " + u.error());
        }
        if (snapshot.nodes().isEmpty()) {
            out.note("no radiod node is up");
        }
        return unanswered.isEmpty() ? ExitCode.OK : ExitCode.PARTIAL;
    }

    private static NodeListeners decode(String node, HttpResponse<String> r) {
        switch (r.statusCode()) {
            case 200 -> {
                NodeListeners answer = Json.decodeStrict(r.body().getBytes(StandardCharsets.UTF_8), NodeListeners.class);
                return new NodeListeners(node, answer.listeners() == null ? List.of() : answer.listeners());
            }
            case 401 -> throw new IllegalStateException("it refused the admin token (HTTP 401); a token changed in "
                    + "etcd reaches the nodes within 10 s");
            case 503 -> throw new IllegalStateException("it has not read the admin token from etcd yet (HTTP 503)");
            default -> throw new IllegalStateException("it answered HTTP " + r.statusCode());
        }
    }

    private static String why(Throwable cause, Duration timeout) {
        if (cause instanceof HttpConnectTimeoutException || cause instanceof HttpTimeoutException) {
            return "no answer within " + timeout.toMillis() + " ms";
        }
        if (cause instanceof ConnectException) {
            return "connection refused";
        }
        if (cause instanceof IllegalArgumentException) {
            return "its answer is not what radiod sends: " + cause.getMessage().lines().findFirst().orElse("");
        }
        if (cause instanceof IllegalStateException) {
            return cause.getMessage();
        }
        if (cause instanceof IOException) {
            return cause.toString();
        }
        return String.valueOf(cause);
    }

    /** An address as the host of a URL: IPv6 in brackets. */
    private static String host(String address) {
        return address.indexOf(':') >= 0 ? "[" + address + "]" : address;
    }
}
