package radiod.cluster.etcd;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;

import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NegotiationType;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import radiod.lifecycle.DaemonThreads;

/**
 * Asks every etcd member for its status each period, over a connection of its own per member with a deadline, and
 * has the node's {@link EtcdConnection} keep away from a member that stops answering or has no raft leader
 * ({@link MemberHealth} decides), and come back to it once it answers again.
 *
 * <p>This is what notices a member cut off without a word within about two periods (the lease TTL / 5 each), before
 * the master's lease can expire: a watch or a lease keep-alive that jetcd put on such a member hears nothing, and
 * nothing else tells it so in less than gRPC's 10 + 3 s keep-alive. A status request is answered by the member itself
 * (no raft round), needs no credentials, and costs a few hundred bytes a second per member. One thread.
 *
 * <p>It also has the connection {@link EtcdConnection#renew renew} its client when a member answers after two or more
 * rounds in which no member could be reached (every member down or cut off, or the one member of a single-member
 * etcd restarted): the client's own channel would wait out gRPC's reconnect backoff first, which grows to 2 minutes
 * (with a node's calls going on meanwhile, measured 17.4 s after a 30 s outage and 14.0 s after 60 s; 0.3-0.5 s
 * renewed). That is also why it runs with one member.
 */
public final class MemberProbe implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MemberProbe.class);

    private final EtcdConnection connection;
    private final Duration period;
    private final MemberHealth health;
    private final EtcdOptions options;
    private final Map<String, ManagedChannel> channels = new LinkedHashMap<>();
    /** Whether the last round found no good member; on the probe's thread. */
    private boolean noneGoodBefore;
    private NioEventLoopGroup loop;
    private ScheduledFuture<?> rounds;
    private volatile long roundsDone;
    private volatile boolean closed;

    /** @param period how often each member is asked, and how long it has to answer */
    public MemberProbe(EtcdConnection connection, EtcdOptions options, Duration period) {
        this.connection = connection;
        this.options = options;
        this.period = period;
        this.health = new MemberHealth(connection.allEndpoints());
    }

    /** Probes every period from now on. */
    public synchronized MemberProbe start() {
        if (loop != null) {
            return this;
        }
        loop = new NioEventLoopGroup(1, DaemonThreads.factory("radiod-etcd-probe"));
        SslContext ssl = EtcdClients.sslContext(options);
        for (String endpoint : connection.allEndpoints()) {
            URI uri = URI.create(endpoint);
            NettyChannelBuilder builder = NettyChannelBuilder.forAddress(uri.getHost(), uri.getPort())
                    .eventLoopGroup(loop).channelType(NioSocketChannel.class).directExecutor();
            if (ssl != null) {
                builder.negotiationType(NegotiationType.TLS).sslContext(ssl);
            } else {
                builder.negotiationType(NegotiationType.PLAINTEXT);
            }
            ManagedChannel channel = builder.build();
            // Connect (and shake hands over TLS) now, not at the first round: a cold JVM on a small or busy machine
            // can take longer than a round's deadline for its first handshake, and two such rounds in a row would
            // keep a node away from members that are fine.
            channel.getState(true);
            channels.put(endpoint, channel);
        }
        rounds = loop.scheduleAtFixedRate(this::round, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** The members kept away from now, and why. */
    public synchronized Map<String, String> keptAway() {
        return health.keptAway();
    }

    /** How many rounds have been judged. */
    public long rounds() {
        return roundsDone;
    }

    /** One round: a status request to each member; judged when the last one is in (each has a deadline). */
    private void round() {
        Map<String, String> failures = new HashMap<>();
        Set<String> unreached = new HashSet<>();
        List<String> members = new ArrayList<>(channels.keySet());
        int[] pending = {members.size()};
        long deadline = Math.max(100, period.toMillis() * 9 / 10);
        for (String member : members) {
            ListenableFuture<StatusResponse> answer;
            try {
                ManagedChannel channel = channels.get(member);
                if (channel.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
                    channel.resetConnectBackoff(); // a member started again is tried now, not after gRPC's backoff
                }
                answer = MaintenanceGrpc.newFutureStub(channel)
                        .withDeadlineAfter(deadline, TimeUnit.MILLISECONDS)
                        .status(StatusRequest.getDefaultInstance());
            } catch (RuntimeException e) {
                answered(failures, unreached, pending, member, new Verdict("cannot ask: " + e, false));
                continue;
            }
            answer.addListener(() -> answered(failures, unreached, pending, member, judge(answer, deadline)),
                    MoreExecutors.directExecutor());
        }
    }

    /** On the probe's one thread (gRPC's deadlines and answers come on its event loop); locked all the same. */
    private synchronized void answered(Map<String, String> failures, Set<String> unreached, int[] pending, String member,
            Verdict verdict) {
        failures.put(member, verdict.why());
        if (!verdict.reached()) {
            unreached.add(member);
        }
        if (--pending[0] > 0 || closed) {
            return; // closing fails the calls in flight: that says nothing about the members
        }
        roundsDone++;
        List<String> before = connection.endpoints();
        List<String> use = health.record(failures, unreached);
        Map<String, String> away = health.keptAway();
        boolean noneGood = away.size() == connection.allEndpoints().size();
        if (noneGood && !noneGoodBefore) {
            log.warn("no etcd member answers well {}; talking to all of them", away);
        }
        for (String m : connection.allEndpoints()) {
            if (before.contains(m) && !use.contains(m)) {
                log.warn("etcd member {}: {}; keeping away from it", m, away.get(m));
            } else if (!before.contains(m) && use.contains(m) && !noneGood) {
                log.info("etcd member {} answers again", m);
            }
        }
        noneGoodBefore = noneGood;
        if (!use.equals(before)) {
            connection.use(use, away.isEmpty() ? "every member answers"
                    : noneGood ? "no member answers well: trying them all"
                    : "keeping away from " + away.keySet());
        } else if (health.reachedAfterSilence()) {
            connection.renew("an etcd member answers again after none could be reached: not waiting for gRPC's"
                    + " reconnect backoff");
        }
    }

    /**
     * What one status request said of a member.
     *
     * @param why null when the member answered and has a raft leader; otherwise why it is not good
     * @param reached whether the member answered at all (one without a raft leader did; an unreachable one did not)
     */
    private record Verdict(String why, boolean reached) {
    }

    private static Verdict judge(ListenableFuture<StatusResponse> answer, long deadline) {
        try {
            StatusResponse status = answer.get();
            return new Verdict(status.getLeader() == 0 ? "it has no raft leader" : null, true);
        } catch (ExecutionException e) {
            Status s = Status.fromThrowable(e.getCause());
            return switch (s.getCode()) {
                case DEADLINE_EXCEEDED -> new Verdict("no status answer within " + deadline + " ms", false);
                case UNAVAILABLE -> new Verdict("unreachable (" + s.getDescription() + ")", false);
                // It answered, only not this question (an etcd that wants credentials for it): it is there.
                case UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT, UNIMPLEMENTED -> new Verdict(null, true);
                default -> new Verdict("status request failed: " + s.getCode() + " " + s.getDescription(), true);
            };
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Verdict("interrupted", false);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (loop == null) {
            return;
        }
        rounds.cancel(false);
        channels.values().forEach(ManagedChannel::shutdownNow);
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
