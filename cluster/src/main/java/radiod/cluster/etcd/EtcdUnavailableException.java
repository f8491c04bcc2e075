package radiod.cluster.etcd;

/** etcd could not be reached or did not answer within the timeout; the caller may retry later. */
public final class EtcdUnavailableException extends RuntimeException {
    public EtcdUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
