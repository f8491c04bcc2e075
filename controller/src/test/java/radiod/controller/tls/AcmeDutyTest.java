package radiod.controller.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URL;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.shredzone.acme4j.Problem;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeRateLimitedException;
import org.shredzone.acme4j.exception.AcmeRetryAfterException;
import org.shredzone.acme4j.toolbox.JSON;

/** How the duty reads the CA's failures: when it may try again, and the error in one line. */
class AcmeDutyTest {
    @Test
    void aRateLimitOrABusyServerSaysWhenToComeBack() throws Exception {
        Instant later = Instant.parse("2026-12-03T18:00:00Z");
        Problem problem = new Problem(JSON.parse("{\"type\":\"urn:ietf:params:acme:error:rateLimited\","
                + "\"detail\":\"too many failed authorizations recently\"}"), new URL("https://127.0.0.1/acme/order/1"));
        assertEquals(Optional.of(later), AcmeDuty.retryAfter(new AcmeRateLimitedException(problem, later, List.of())));
        assertEquals(Optional.of(later), AcmeDuty.retryAfter(new AcmeRetryAfterException("busy", later)));
        assertEquals(Optional.empty(), AcmeDuty.retryAfter(new AcmeException("no")));
        assertEquals("too many failed authorizations recently",
                AcmeDuty.message(new AcmeRateLimitedException(problem, later, List.of())));
    }

    @Test
    void anErrorIsOneLineWithItsCause() {
        assertEquals("the CA is unreachable: Connection refused", AcmeDuty.message(
                new AcmeException("the CA is unreachable", new java.io.IOException("Connection refused"))));
        assertEquals("line one line two", AcmeDuty.message(new IllegalStateException("line one\nline two")));
        assertEquals("NullPointerException", AcmeDuty.message(new NullPointerException()));
    }
}
