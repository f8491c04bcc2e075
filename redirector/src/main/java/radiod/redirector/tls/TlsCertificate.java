package radiod.redirector.tls;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * A certificate chain and its private key, checked: both readable, the key is the leaf's, the leaf valid now.
 * Where the material came from ({@code origin}: a file pair, etcd) is kept for log lines and {@code radioctl status}.
 *
 * @param chain    leaf first, then the intermediates as given
 * @param key      the leaf's private key
 * @param origin   where the material came from, e.g. {@code /etc/radiod/tls/fullchain.pem}
 * @param loadedAt when it was checked
 */
public record TlsCertificate(List<X509Certificate> chain, PrivateKey key, String origin, Instant loadedAt) {
    public TlsCertificate {
        chain = List.copyOf(chain);
    }

    /**
     * Reads and checks PEM material.
     *
     * @throws CertificateRefused saying what is wrong, with a reason for the metric
     */
    public static TlsCertificate parse(String chainPem, String keyPem, String origin, Instant now) throws CertificateRefused {
        List<X509Certificate> chain = Pem.chain(chainPem);
        PrivateKey key = Pem.key(keyPem);
        X509Certificate leaf = chain.get(0);
        if (!matches(key, leaf)) {
            throw new CertificateRefused(CertificateRefused.KEY_MISMATCH, "the private key is not the key of the certificate "
                    + describe(leaf) + " (is the key file of another certificate?)");
        }
        try {
            leaf.checkValidity(Date.from(now));
        } catch (CertificateExpiredException e) {
            throw new CertificateRefused(CertificateRefused.EXPIRED, "the certificate " + describe(leaf) + " expired at "
                    + leaf.getNotAfter().toInstant());
        } catch (CertificateNotYetValidException e) {
            throw new CertificateRefused(CertificateRefused.NOT_YET_VALID, "the certificate " + describe(leaf)
                    + " is not valid before " + leaf.getNotBefore().toInstant() + " (is this machine's clock right?)");
        }
        return new TlsCertificate(chain, key, origin, now);
    }

    /** Whether the key signs what the leaf's public key verifies: works for RSA, EC and EdDSA alike. */
    private static boolean matches(PrivateKey key, X509Certificate leaf) throws CertificateRefused {
        String algorithm = switch (key.getAlgorithm().toUpperCase(Locale.ROOT)) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "ED25519", "ED448", "EDDSA" -> key.getAlgorithm();
            default -> throw new CertificateRefused(CertificateRefused.UNREADABLE, "a " + key.getAlgorithm()
                    + " private key is not supported (RSA, EC or EdDSA)");
        };
        byte[] challenge = new byte[32];
        new SecureRandom().nextBytes(challenge);
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(leaf.getPublicKey());
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false; // a key of another type than the certificate's
        }
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }

    /** The DNS names the leaf is for (subjectAltName), else its common name. */
    public List<String> names() {
        return namesOf(leaf());
    }

    static List<String> namesOf(X509Certificate cert) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> alt = cert.getSubjectAlternativeNames();
            if (alt != null) {
                for (List<?> entry : alt) {
                    Object type = entry.get(0);
                    if (type instanceof Integer t && (t == 2 || t == 7)) { // dNSName, iPAddress
                        names.add(String.valueOf(entry.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // fall back to the common name
        }
        if (names.isEmpty()) {
            String cn = commonName(cert.getSubjectX500Principal().getName());
            if (cn != null) {
                names.add(cn);
            }
        }
        return List.copyOf(names);
    }

    /** The issuer's common name (else its whole distinguished name). */
    public String issuer() {
        String dn = leaf().getIssuerX500Principal().getName();
        String cn = commonName(dn);
        return cn == null ? dn : cn;
    }

    public Instant notAfter() {
        return leaf().getNotAfter().toInstant();
    }

    public Instant notBefore() {
        return leaf().getNotBefore().toInstant();
    }

    /** The leaf's serial number, lower-case hex. */
    public String serial() {
        return leaf().getSerialNumber().toString(16);
    }

    /** SHA-256 of the leaf's DER, lower-case hex. */
    public String fingerprint() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(leaf().getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String commonName(String dn) {
        try {
            for (Rdn rdn : new LdapName(dn).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return String.valueOf(rdn.getValue());
                }
            }
        } catch (InvalidNameException e) {
            return null;
        }
        return null;
    }

    static String describe(X509Certificate cert) {
        return "for " + String.join(", ", namesOf(cert)) + " (serial " + cert.getSerialNumber().toString(16) + ")";
    }

    /** Never the key. */
    @Override
    public String toString() {
        return "certificate " + describe(leaf()) + " from " + origin + ", valid until " + notAfter();
    }
}
