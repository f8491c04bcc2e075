package radiod.redirector.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import radiod.cluster.admin.AdminTokens;
import radiod.redirector.access.ListenerSessions;

/** The admin endpoint's token check: the data only with the right bearer token, compared in constant time. */
class AdminApiTest {
    /** Reads the JSON documents the tests look into. */
    static final com.fasterxml.jackson.databind.ObjectMapper TREES = new com.fasterxml.jackson.databind.ObjectMapper();
    static final String TOKEN = AdminTokens.generate();
    static final AtomicReference<String> known = new AtomicReference<>(TOKEN);
    static Vertx vertx;
    static HttpServer server;
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        AdminApi api = new AdminApi("node1", known::get, ListenerSessions.unlogged("node1"));
        server = vertx.createHttpServer().requestHandler(api::listeners).listen(0, "127.0.0.1")
                .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    static HttpResponse<String> get(String query, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.actualPort()
                + AdminApi.LISTENERS + query));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theRightTokenGetsTheListeners() throws Exception {
        HttpResponse<String> r = get("", "Bearer " + TOKEN);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""));
        assertEquals("no-store", r.headers().firstValue("Cache-Control").orElse(""));
        JsonNode body = TREES.readTree(r.body());
        assertEquals("node1", body.path("node").asText());
        assertTrue(body.path("listeners").isArray());
        assertEquals(200, get("?mount=/live.mp3", "bearer  " + TOKEN + " ").statusCode());
        assertEquals(400, get("?mount=../etc", "Bearer " + TOKEN).statusCode());
        // A query that does not decode (java.net.URI refuses to send it): was 500 and a logged error.
        String raw = radiod.redirector.FrontFixture.rawOn("127.0.0.1", server.actualPort(), "GET " + AdminApi.LISTENERS
                + "?mount=%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN + "\r\nConnection: close\r\n\r\n");
        assertTrue(raw.startsWith("HTTP/1.1 400 "), raw);
    }

    @Test
    void noTokenOrAnotherTokenGets401AndNoData() throws Exception {
        for (String auth : new String[] {null, "", "Bearer", "Bearer ", "Basic " + TOKEN, "Bearer " + TOKEN + "x",
                "Bearer " + TOKEN.substring(1), "Bearer " + AdminTokens.generate(), TOKEN}) {
            HttpResponse<String> r = get("", auth);
            assertEquals(401, r.statusCode(), "Authorization: " + auth);
            assertEquals("Bearer realm=\"radiod admin\"", r.headers().firstValue("WWW-Authenticate").orElse(""));
            assertFalse(r.body().contains("listeners\""), r.body());
        }
    }

    @Test
    void beforeTheNodeHasTheTokenNothingIsAnswered() throws Exception {
        known.set(null);
        try {
            HttpResponse<String> r = get("", "Bearer " + TOKEN);
            assertEquals(503, r.statusCode());
            assertEquals(503, get("", null).statusCode());
            assertFalse(r.body().contains("listeners\""), r.body());
        } finally {
            known.set(TOKEN);
        }
    }

    @Test
    void tokensAre256RandomBitsAndCompareOnlyWhenEqual() {
        String a = AdminTokens.generate();
        assertTrue(a.matches("[0-9a-f]{64}"), a);
        assertFalse(a.equals(AdminTokens.generate()));
        assertTrue(AdminTokens.matches(a, new String(a.toCharArray())));
        assertFalse(AdminTokens.matches(a, a.toUpperCase()));
        assertFalse(AdminTokens.matches(a, a + "0"));
        assertFalse(AdminTokens.matches(a, ""));
        assertFalse(AdminTokens.matches(a, null));
        assertFalse(AdminTokens.matches(null, null));
        assertFalse(AdminTokens.matches("", ""));
    }

    @Test
    void onlyABearerHeaderCarriesAToken() {
        assertEquals("abc", AdminApi.bearer("Bearer abc"));
        assertEquals("abc", AdminApi.bearer("  BEARER   abc  "));
        assertNull(AdminApi.bearer("Basic abc"));
        assertNull(AdminApi.bearer("Bearerabc"));
        assertNull(AdminApi.bearer("Bearer    "));
        assertNull(AdminApi.bearer(null));
    }
}
