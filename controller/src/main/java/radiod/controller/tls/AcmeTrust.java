package radiod.controller.tls;

import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import org.shredzone.acme4j.connector.HttpConnector;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.provider.GenericAcmeProvider;

/**
 * The CAs trusted for the ACME server's own HTTPS: the JDK's, plus those of {@code tls.acme.ca_file} (pebble's test CA,
 * a private step-ca), for acme4j's connections only. The JVM-wide trust store is never changed: acme4j 3 speaks HTTP
 * through {@code java.net.http}, and this provider hands its client builder an {@link SSLContext} of its own.
 */
final class AcmeTrust {
    private AcmeTrust() {
    }

    /** An SSL context trusting the JDK's CAs and every certificate in {@code caFile}; errors name the field. */
    static SSLContext context(Path caFile) {
        String text;
        try {
            text = Files.readString(caFile);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("tls.acme.ca_file: " + caFile + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException("tls.acme.ca_file: cannot read " + caFile + ": " + e.getMessage());
        }
        List<X509Certificate> extra;
        try {
            extra = Pem.certificates(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("tls.acme.ca_file: " + caFile + ": " + e.getMessage());
        }
        try {
            TrustManagerFactory jdk = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            jdk.init((KeyStore) null);
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            int i = 0;
            for (TrustManager tm : jdk.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    for (X509Certificate c : x.getAcceptedIssuers()) {
                        store.setCertificateEntry("jdk-" + i++, c);
                    }
                }
            }
            for (X509Certificate c : extra) {
                store.setCertificateEntry("ca-file-" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build the trust store for tls.acme.ca_file: " + e.getMessage(), e);
        }
    }

    /** acme4j's generic provider (any https directory URL) whose HTTP client trusts {@code context}. */
    static GenericAcmeProvider provider(SSLContext context) {
        return new GenericAcmeProvider() {
            @Override
            protected HttpConnector createHttpConnector(NetworkSettings settings) {
                return new HttpConnector(settings) {
                    @Override
                    public HttpClient.Builder createClientBuilder() {
                        return super.createClientBuilder().sslContext(context);
                    }
                };
            }
        };
    }
}
