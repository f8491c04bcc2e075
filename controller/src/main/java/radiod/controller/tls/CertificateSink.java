package radiod.controller.tls;

/**
 * Where a node's certificate goes once it is read from etcd and checked: the TLS servers, which take it without a
 * restart and without dropping a connection. Called on the loader's own thread, one call at a time, only with a chain
 * that parses, has not expired, and whose leaf matches the key.
 */
@FunctionalInterface
public interface CertificateSink {
    /**
     * @param chainPem the certificate chain, PEM, leaf first
     * @param keyPem   its private key, PKCS#8 PEM
     * @param origin   where it came from, for logs and errors (e.g. {@code etcd /radiod/tls/certificate, serial …})
     * @throws Exception when the servers cannot take it; they keep the certificate they had
     */
    void apply(String chainPem, String keyPem, String origin) throws Exception;
}
