package radiod.dns.zone;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import org.xbill.DNS.Type;

/**
 * The answer to one (name, type) of one snapshot's zone, rendered once: the bytes after the question (answer,
 * authority and additional records, glue included, no OPT), whose compression pointers point into the question.
 * They hold for every query for that name and type, whatever its ID, flags, letter case (only the case differs, so
 * the question has the same length and the pointers the same targets) or EDNS: those come from the query when the
 * answer is put together. Where the slow path picks a random subset and order of a pool's addresses, every
 * possible pick is rendered, and one is chosen at random per query: the same distribution.
 */
final class Rendered {
    /** The types answered from a rendered answer; any other type takes the slow path. */
    private static final int[] TYPES = {Type.A, Type.AAAA, Type.NS, Type.SOA, Type.TXT, Type.CNAME, Type.ANY,
            Type.MX, Type.HTTPS};
    static final int SLOTS = TYPES.length;
    /** More picks than this (a pool larger than four addresses): not rendered, the slow path answers. */
    static final int MAX_VARIANTS = 24;

    /** Rendered records and their counts per section. */
    record Body(byte[] bytes, int answers, int authority, int additional) {
    }

    private final Body[] variants;

    Rendered(Body[] variants) {
        this.variants = variants;
    }

    /** One of the bodies; at random when there are several. */
    Body pick() {
        return variants.length == 1 ? variants[0] : variants[ThreadLocalRandom.current().nextInt(variants.length)];
    }

    int variants() {
        return variants.length;
    }

    /** The slot of {@code qtype} in {@link ZoneRecords.Entry#rendered}, -1 for a type not rendered. */
    static int slot(int qtype) {
        for (int i = 0; i < TYPES.length; i++) {
            if (TYPES[i] == qtype) {
                return i;
            }
        }
        return -1;
    }

    /** Every ordered pick of {@code k} of {@code 0..n-1}; null when there are more than {@link #MAX_VARIANTS}. */
    static List<int[]> picks(int n, int k) {
        long count = 1;
        for (int i = 0; i < k; i++) {
            count *= n - i;
            if (count > MAX_VARIANTS) {
                return null;
            }
        }
        List<int[]> out = new ArrayList<>();
        pick(new int[k], 0, new boolean[n], out);
        return out;
    }

    private static void pick(int[] order, int depth, boolean[] used, List<int[]> out) {
        if (depth == order.length) {
            out.add(order.clone());
            return;
        }
        for (int i = 0; i < used.length; i++) {
            if (!used[i]) {
                used[i] = true;
                order[depth] = i;
                pick(order, depth + 1, used, out);
                used[i] = false;
            }
        }
    }
}
