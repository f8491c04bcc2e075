package radiod.cluster.etcd;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.etcd.jetcd.Client;
import radiod.testkit.EtcdCluster;

/**
 * The session's fencing by time, with a clock the test moves: the lease is vouched for until the send time of the
 * last keep-alive that succeeded plus the TTL less the margin (2×TTL/5), not a nanosecond longer, whatever the session's
 * own thread is doing. Nothing here sleeps: the clock jumps.
 */
class EtcdSessionFencingIT {
    private static final Duration TTL = Duration.ofSeconds(5);
    private static final long MARGIN = TimeUnit.SECONDS.toNanos(2); // 2 × TTL/5

    @RegisterExtension
    static final EtcdCluster etcd = EtcdCluster.single();

    /** A clock that moves only when told (from 1 s, so that 0 stays "never"). */
    private final AtomicLong now = new AtomicLong(TimeUnit.SECONDS.toNanos(1));

    /** What the session tells a listener, in order: "granted ID", "lost ID". */
    private static ConcurrentLinkedQueue<String> told(EtcdSession session) {
        ConcurrentLinkedQueue<String> told = new ConcurrentLinkedQueue<>();
        session.addListener(new EtcdSession.Listener() {
            @Override
            public void leaseGranted(long leaseId) {
                told.add("granted " + leaseId);
            }

            @Override
            public void leaseLost(long leaseId) {
                told.add("lost " + leaseId);
            }
        });
        return told;
    }

    @Test
    void theLeaseIsVouchedForUntilTheGrantsSendTimePlusTheTtlLessTheMarginAndNotAfter() {
        try (Client client = EtcdClients.connect(EtcdOptions.of(etcd.endpoints()))) {
            long grantSent = now.get(); // the clock stands still, so the grant is sent at this instant
            EtcdSession session = new EtcdSession(client, TTL, now::get).start();
            await().atMost(Duration.ofSeconds(5)).until(() -> session.validLease().isPresent());
            long lease = session.validLease().getAsLong();
            long deadline = grantSent + TTL.toNanos() - MARGIN;

            now.set(deadline - 1);
            assertTrue(session.isValid(lease), "one nanosecond before the deadline");
            now.set(deadline);
            assertEquals(OptionalLong.empty(), session.validLease(), "at the deadline, at once, from any thread");
            assertFalse(session.isValid(lease));
            session.close();
        }
    }

    @Test
    void aSuccessfulKeepAliveMovesTheDeadlineToItsOwnSendTime() {
        try (Client client = EtcdClients.connect(EtcdOptions.of(etcd.endpoints()))) {
            EtcdSession session = new EtcdSession(client, TTL, now::get).start();
            await().atMost(Duration.ofSeconds(5)).until(() -> session.validLease().isPresent());
            long lease = session.validLease().getAsLong();
            // Move the clock one keep-alive period (TTL/5) on: the session's next keep-alive is due and is sent at
            // this instant (the clock then stands still until the test moves it again).
            long keepAliveSent = now.addAndGet(TimeUnit.SECONDS.toNanos(1));
            long deadline = keepAliveSent + TTL.toNanos() - MARGIN;
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
                    .until(() -> session.vouchedUntilNanos() == deadline);
            now.set(deadline - 1);
            assertTrue(session.isValid(lease), "one nanosecond before the new deadline");
            now.set(deadline);
            assertFalse(session.isValid(lease));
            session.close();
        }
    }

    @Test
    void whenTheDeadlinePassesListenersAreToldTheLeaseIsLostAndANewOneIsGranted() {
        try (Client client = EtcdClients.connect(EtcdOptions.of(etcd.endpoints()))) {
            EtcdSession session = new EtcdSession(client, TTL, now::get);
            ConcurrentLinkedQueue<String> told = told(session);
            session.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> session.validLease().isPresent());
            long first = session.validLease().getAsLong();
            // As a process paused for the whole TTL wakes: the lease may have expired in etcd; it is not trusted again.
            now.addAndGet(TTL.toNanos());
            await().atMost(Duration.ofSeconds(5)).until(() -> told.size() >= 3);
            assertEquals("granted " + first, told.poll());
            assertEquals("lost " + first, told.poll());
            long second = Long.parseLong(told.poll().substring("granted ".length()));
            assertTrue(second != first && session.isValid(second));
            assertEquals(2, session.leasesGranted());
            session.close();
        }
    }

    @Test
    void fencedButNotExpiredTheSameLeaseIsVouchedForAgainOnceAKeepAliveSucceeds() {
        try (Client client = EtcdClients.connect(EtcdOptions.of(etcd.endpoints()))) {
            EtcdSession session = new EtcdSession(client, TTL, now::get);
            ConcurrentLinkedQueue<String> told = told(session);
            session.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> session.validLease().isPresent());
            long first = session.validLease().getAsLong();
            // Past the margin, not past the TTL (an etcd leader election, a stalled disk): fenced at once...
            now.addAndGet(TTL.toNanos() - MARGIN + TimeUnit.MILLISECONDS.toNanos(500));
            assertFalse(session.isValid(first), "not vouched for past the margin, from any thread, at once");
            // ...then the next keep-alive succeeds (etcd held the lease throughout): the same lease again.
            await().atMost(Duration.ofSeconds(5)).until(() -> told.size() >= 3);
            assertEquals(List.of("granted " + first, "lost " + first, "granted " + first), List.copyOf(told));
            assertTrue(session.isValid(first));
            assertEquals(1, session.leasesGranted(), "no new lease");
            session.close();
        }
    }
}
