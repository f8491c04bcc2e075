package radiod.dns.zone;

import java.util.Arrays;
import java.util.Random;

import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;

/** Mutations of valid queries, for garbage tests; deterministic for a seeded {@link Random}. */
public final class Fuzz {
    private Fuzz() {
    }

    public static byte[] mutate(byte[] seed, Random random) {
        byte[] p = seed.clone();
        switch (random.nextInt(9)) {
            case 0 -> {
                for (int i = 0, n = 1 + random.nextInt(4); i < n; i++) {
                    int bit = random.nextInt(p.length * 8);
                    p[bit / 8] ^= (byte) (1 << (bit % 8));
                }
            }
            case 1 -> p[random.nextInt(p.length)] = (byte) random.nextInt(256);
            case 2 -> p = Arrays.copyOf(p, random.nextInt(p.length));
            case 3 -> {
                int extra = 1 + random.nextInt(64);
                p = Arrays.copyOf(p, p.length + extra);
                for (int i = p.length - extra; i < p.length; i++) {
                    p[i] = (byte) random.nextInt(256);
                }
            }
            case 4 -> {
                p = new byte[random.nextInt(80)];
                random.nextBytes(p);
            }
            case 5 -> {
                int at = 12 + random.nextInt(Math.max(1, p.length - 13));
                if (at + 1 < p.length) {
                    int target = random.nextInt(at + 2);
                    p[at] = (byte) (0xc0 | (target >> 8));
                    p[at + 1] = (byte) target;
                }
            }
            case 6 -> {
                int field = 4 + 2 * random.nextInt(4);
                p[field] = (byte) random.nextInt(256);
                p[field + 1] = (byte) random.nextInt(256);
            }
            case 7 -> {
                p[2] = (byte) random.nextInt(256);
                p[3] = (byte) random.nextInt(256);
            }
            default -> {
                int at = 12 + random.nextInt(Math.max(1, p.length - 12));
                if (at < p.length) {
                    p[at] = (byte) (random.nextBoolean() ? 0x3f + random.nextInt(0xc1) : random.nextInt(64));
                }
            }
        }
        return p;
    }

    /** Whether dnsjava reads the packet as a query (a whole message with QR clear). */
    public static boolean dnsjavaParsesAsQuery(byte[] p) {
        try {
            Message m = new Message(p);
            return !m.getHeader().getFlag(Flags.QR);
        } catch (Exception e) {
            return false;
        }
    }
}
