package radiod.redirector.tls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads PEM text as certbot, ACME clients and openssl write it: a chain of {@code CERTIFICATE} blocks (leaf first),
 * and a private key as PKCS#8 ({@code PRIVATE KEY}), PKCS#1 ({@code RSA PRIVATE KEY}) or SEC 1
 * ({@code EC PRIVATE KEY}, an {@code EC PARAMETERS} block before it is skipped). The JDK takes only PKCS#8, so the
 * other two are wrapped into it here (a few bytes of DER). Text outside the blocks is ignored, as openssl does.
 */
final class Pem {
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]*?)-----END \\1-----");
    /** rsaEncryption, 1.2.840.113549.1.1.1, as DER. */
    private static final byte[] RSA_OID = {0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01};
    /** id-ecPublicKey, 1.2.840.10045.2.1, as DER. */
    private static final byte[] EC_OID = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};

    private Pem() {
    }

    record Block(String label, byte[] der) {
    }

    static List<Block> blocks(String text) throws CertificateRefused {
        List<Block> out = new ArrayList<>();
        if (text == null) {
            return out;
        }
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(m.group(2));
            } catch (IllegalArgumentException e) {
                throw new CertificateRefused(CertificateRefused.UNREADABLE, "a " + m.group(1) + " block is not valid base64");
            }
            out.add(new Block(m.group(1), der));
        }
        return out;
    }

    /** The certificates, in the order they come (leaf first). */
    static List<X509Certificate> chain(String pem) throws CertificateRefused {
        List<X509Certificate> chain = new ArrayList<>();
        CertificateFactory factory;
        try {
            factory = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("the JDK has no X.509 certificate factory", e);
        }
        for (Block b : blocks(pem)) {
            if (!b.label().equals("CERTIFICATE")) {
                if (b.label().contains("PRIVATE KEY")) {
                    throw new CertificateRefused(CertificateRefused.UNREADABLE,
                            "the certificate chain holds a private key: chain and key must be separate");
                }
                continue;
            }
            try {
                chain.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(b.der())));
            } catch (CertificateException | ClassCastException e) {
                throw new CertificateRefused(CertificateRefused.UNREADABLE, "certificate " + (chain.size() + 1)
                        + " of the chain cannot be read: " + e.getMessage());
            }
        }
        if (chain.isEmpty()) {
            throw new CertificateRefused(CertificateRefused.UNREADABLE, "no PEM CERTIFICATE block in the chain");
        }
        return chain;
    }

    /** The one private key of the text. */
    static PrivateKey key(String pem) throws CertificateRefused {
        PrivateKey key = null;
        for (Block b : blocks(pem)) {
            PrivateKey k = switch (b.label()) {
                case "PRIVATE KEY" -> pkcs8(b.der());
                case "RSA PRIVATE KEY" -> pkcs8(wrap(RSA_OID, new byte[] {0x05, 0x00}, b.der()));
                case "EC PRIVATE KEY" -> pkcs8(wrap(EC_OID, curveOf(b.der()), b.der()));
                case "ENCRYPTED PRIVATE KEY" -> throw new CertificateRefused(CertificateRefused.UNREADABLE,
                        "the private key is encrypted: give it without a passphrase (openssl pkey -in k.pem -out key.pem)");
                default -> null;
            };
            if (k != null) {
                if (key != null) {
                    throw new CertificateRefused(CertificateRefused.UNREADABLE, "more than one private key in the key file");
                }
                key = k;
            }
        }
        if (key == null) {
            throw new CertificateRefused(CertificateRefused.UNREADABLE,
                    "no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)");
        }
        return key;
    }

    private static PrivateKey pkcs8(byte[] der) throws CertificateRefused {
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException | RuntimeException e) {
                // the next algorithm
            }
        }
        throw new CertificateRefused(CertificateRefused.UNREADABLE, "the private key cannot be read (not RSA, EC or EdDSA)");
    }

    /** PrivateKeyInfo ::= SEQUENCE { version 0, AlgorithmIdentifier { oid, parameters }, OCTET STRING key }. */
    private static byte[] wrap(byte[] oid, byte[] parameters, byte[] key) {
        ByteArrayOutputStream algorithm = new ByteArrayOutputStream();
        algorithm.writeBytes(oid);
        algorithm.writeBytes(parameters);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(new byte[] {0x02, 0x01, 0x00});
        body.writeBytes(tlv(0x30, algorithm.toByteArray()));
        body.writeBytes(tlv(0x04, key));
        return tlv(0x30, body.toByteArray());
    }

    static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
        out.write(tag);
        int n = content.length;
        if (n < 0x80) {
            out.write(n);
        } else if (n < 0x100) {
            out.write(0x81);
            out.write(n);
        } else if (n < 0x10000) {
            out.write(0x82);
            out.write(n >> 8);
            out.write(n);
        } else {
            out.write(0x83);
            out.write(n >> 16);
            out.write(n >> 8);
            out.write(n);
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    /**
     * The named curve of a SEC 1 key: ECPrivateKey ::= SEQUENCE { version, OCTET STRING, [0] parameters, [1] key },
     * returned as its DER OID.
     */
    private static byte[] curveOf(byte[] sec1) throws CertificateRefused {
        try {
            Der seq = new Der(sec1, 0);
            if (seq.tag != 0x30) {
                throw new IllegalArgumentException("not a sequence");
            }
            int at = seq.contentStart;
            while (at < seq.end) {
                Der item = new Der(sec1, at);
                if (item.tag == 0xa0) {
                    Der oid = new Der(sec1, item.contentStart);
                    if (oid.tag != 0x06) {
                        break;
                    }
                    byte[] out = new byte[oid.end - item.contentStart];
                    System.arraycopy(sec1, item.contentStart, out, 0, out.length);
                    return out;
                }
                at = item.end;
            }
        } catch (RuntimeException e) {
            throw new CertificateRefused(CertificateRefused.UNREADABLE, "the EC private key cannot be read");
        }
        throw new CertificateRefused(CertificateRefused.UNREADABLE,
                "the EC private key does not name its curve (write it with openssl pkcs8 -topk8 -nocrypt)");
    }

    /** One DER element's header: tag, where its content starts and where it ends. */
    private static final class Der {
        final int tag;
        final int contentStart;
        final int end;

        Der(byte[] b, int at) {
            tag = b[at] & 0xff;
            int len = b[at + 1] & 0xff;
            int p = at + 2;
            if (len >= 0x80) {
                int bytes = len & 0x7f;
                if (bytes == 0 || bytes > 3) {
                    throw new IllegalArgumentException("unsupported length");
                }
                len = 0;
                for (int i = 0; i < bytes; i++) {
                    len = len << 8 | b[p++] & 0xff;
                }
            }
            contentStart = p;
            end = p + len;
            if (end > b.length) {
                throw new IllegalArgumentException("truncated");
            }
        }
    }
}
