package radiod.redirector.tls;

import java.util.List;

/**
 * Certificate material that cannot be served, with a reason (a metric tag) and a sentence for the operator.
 */
public final class CertificateRefused extends Exception {
    /** A chain or key that cannot be read (not PEM, no block, bad DER, encrypted key). */
    public static final String UNREADABLE = "unreadable";
    /** The key is not the leaf certificate's. */
    public static final String KEY_MISMATCH = "key_mismatch";
    /** The leaf certificate's notAfter has passed. */
    public static final String EXPIRED = "expired";
    /** The leaf certificate's notBefore is still to come. */
    public static final String NOT_YET_VALID = "not_yet_valid";
    /** Every reason, for meters registered at zero. */
    public static final List<String> REASONS = List.of(UNREADABLE, KEY_MISMATCH, EXPIRED, NOT_YET_VALID);

    private final String reason;

    public CertificateRefused(String reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    /** One of {@link #REASONS}. */
    public String reason() {
        return reason;
    }
}
