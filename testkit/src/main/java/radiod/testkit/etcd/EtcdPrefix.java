package radiod.testkit.etcd;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import radiod.testkit.EtcdCluster;

/**
 * A key prefix of its own for every test on an etcd the test class shares ({@code /<name>-<n>/}, a new n before
 * each test), so that tests neither see nor clean up each other's keys; and a plain client to write and read keys
 * under it by hand, as the test's own view of etcd, closed after each test.
 *
 * <pre>{@code
 * @RegisterExtension static final EtcdCluster etcd = EtcdCluster.single();
 * @RegisterExtension final EtcdPrefix keys = EtcdPrefix.on(etcd, "mounts-it");
 * }</pre>
 */
public final class EtcdPrefix implements BeforeEachCallback, AfterEachCallback {
    private static final AtomicInteger PREFIXES = new AtomicInteger();
    private static final long TIMEOUT_SECONDS = 10;

    private final EtcdCluster etcd;
    private final String name;
    private volatile String prefix;
    private volatile Client client;

    private EtcdPrefix(EtcdCluster etcd, String name) {
        this.etcd = etcd;
        this.name = name;
    }

    /** Prefixes {@code /<name>-<n>/} on the class's etcd. */
    public static EtcdPrefix on(EtcdCluster etcd, String name) {
        return new EtcdPrefix(etcd, name);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        prefix = "/" + name + "-" + PREFIXES.incrementAndGet() + "/";
        client = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Client c = client;
        client = null;
        if (c != null) {
            c.close();
        }
    }

    /** This test's prefix, with its leading and trailing slash. */
    public String prefix() {
        return prefix;
    }

    /** The etcd endpoints, for the code under test. */
    public List<String> endpoints() {
        return etcd.endpoints();
    }

    /** The endpoints as radioctl's {@code --endpoints} takes them. */
    public String endpointsCsv() {
        return etcd.endpointsCsv();
    }

    /** The test's own client (no prefix applied: keys are whole). */
    public Client client() {
        return client;
    }

    /** Puts {@code value} at {@code prefix + relativeKey}; the revision it made. */
    public long put(String relativeKey, String value) {
        return await(client.getKVClient().put(key(relativeKey), bytes(value))).getHeader().getRevision();
    }

    /** The value at {@code prefix + relativeKey}, if there is one. */
    public Optional<String> get(String relativeKey) {
        List<KeyValue> kvs = await(client.getKVClient().get(key(relativeKey))).getKvs();
        return kvs.isEmpty() ? Optional.empty() : Optional.of(kvs.get(0).getValue().toString(StandardCharsets.UTF_8));
    }

    /** The modification revision of the key at {@code prefix + relativeKey}, 0 when there is none. */
    public long modRevision(String relativeKey) {
        List<KeyValue> kvs = await(client.getKVClient().get(key(relativeKey))).getKvs();
        return kvs.isEmpty() ? 0 : kvs.get(0).getModRevision();
    }

    /** Deletes the key at {@code prefix + relativeKey}. */
    public void delete(String relativeKey) {
        await(client.getKVClient().delete(key(relativeKey)));
    }

    /** How many keys there are under this test's prefix. */
    public long count() {
        return await(client.getKVClient().get(key(""), GetOption.builder().isPrefix(true).withCountOnly(true).build()))
                .getCount();
    }

    private ByteSequence key(String relativeKey) {
        return bytes(prefix + relativeKey);
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("etcd: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("etcd did not answer within " + TIMEOUT_SECONDS + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
