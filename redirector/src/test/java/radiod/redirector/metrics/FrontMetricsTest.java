package radiod.redirector.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import radiod.cluster.view.ClusterSnapshot;
import radiod.redirector.FrontFixture;
import radiod.redirector.metrics.FrontMetrics.Outcome;

/**
 * The front's metrics count redirects, direct streams and refusals apart, follow the view, and leave nothing
 * registered once closed.
 */
class FrontMetricsTest {
    @Test
    void countsRedirectsDirectStreamsAndRefusalsApartFollowsTheViewAndLeavesNothingBehindWhenClosed() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        AtomicReference<ClusterSnapshot> view = new AtomicReference<>(FrontFixture.cluster(true, true, true));
        AtomicBoolean master = new AtomicBoolean(true);
        FrontMetrics metrics = new FrontMetrics(registry, view::get, master::get);
        metrics.count(Outcome.REDIRECT, "node2");
        metrics.count(Outcome.REDIRECT, "node2");
        metrics.count(Outcome.PROXY, "node3");
        metrics.count(Outcome.UNAVAILABLE, null);
        assertEquals(2.0, registry.get("radiod.redirects").tags("node", "node2").counter().count());
        assertEquals(1.0, registry.get("radiod.direct.streams").tags("via", "proxy", "node", "node3").counter().count());
        assertEquals(1.0, registry.get("radiod.requests.refused").tags("reason", "unavailable").counter().count());
        assertEquals(0.0, registry.get("radiod.requests.refused").tags("reason", "not_found").counter().count(),
                "refusals are there from the start");
        assertEquals(1, registry.find("radiod.redirects").counters().size(), "a redirect is not counted with refusals");
        assertEquals(1.0, registry.get("radiod.master").gauge().value());
        master.set(false);
        assertEquals(0.0, registry.get("radiod.master").gauge().value());
        assertEquals(12.0, registry.get("radiod.cluster.listeners").tags("mount", "/live.mp3").gauge().value());
        // A mount that is no longer defined disappears at the next refresh.
        view.set(new ClusterSnapshot(43, view.get().nodes(), view.get().master(),
                Map.of(FrontFixture.LIVE.path(), FrontFixture.LIVE), Map.of(), Map.of()));
        metrics.refreshClusterGauges();
        assertNull(registry.find("radiod.cluster.listeners").tags("mount", "/jazz/other.ogg").gauge());
        metrics.close();
        assertEquals(List.of(), registry.getMeters().stream().map(m -> m.getId().getName()).filter(n -> n.startsWith("radiod")).toList());
        FrontMetrics again = new FrontMetrics(registry, view::get, master::get);
        again.count(Outcome.LOCAL, "node1");
        assertEquals(1.0, registry.get("radiod.direct.streams").tags("via", "local", "node", "node1").counter().count());
        assertNull(registry.find("radiod.redirects").counter());
        assertTrue(registry.find("radiod.master").gauge() != null);
        again.close();
    }
}
