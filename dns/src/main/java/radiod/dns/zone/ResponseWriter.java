package radiod.dns.zone;

import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes one response into a reusable buffer (one per thread): the header, the question copied from the
 * query, then records in section order, and finally fits the whole into the transport's size limit.
 */
final class ResponseWriter {
    static final int ANSWER = 1;
    static final int AUTHORITY = 2;
    static final int ADDITIONAL = 3;
    static final int OPT_LENGTH = 11;

    private byte[] buf = new byte[4096];
    private int[] order = new int[64];
    private int pos;
    private final int[] counts = new int[4];
    private int section;
    private int questionEnd;
    private int glueStart = -1;

    /** Starts a response to {@code q}: its ID, opcode, RD and CD, and its question when it could be read. */
    void begin(Query q) {
        byte[] w = q.wire;
        Arrays.fill(counts, 0);
        section = ANSWER;
        glueStart = -1;
        buf[0] = w[0];
        buf[1] = w[1];
        buf[2] = (byte) (0x80 | (q.opcode << 3) | q.rd());
        buf[3] = (byte) q.cd();
        pos = Query.HEADER;
        if (q.hasQuestion()) {
            int length = q.questionEnd - Query.HEADER;
            ensure(length);
            System.arraycopy(w, Query.HEADER, buf, pos, length);
            pos += length;
            counts[0] = 1;
        }
        questionEnd = pos;
    }

    void authoritative() {
        buf[2] |= 0x04;
    }

    void rcode(int rcode) {
        buf[3] = (byte) ((buf[3] & 0xf0) | (rcode & 0x0f));
    }

    int count(int s) {
        return counts[s];
    }

    /** A record whose owner is the name at {@code ownerOffset} in this message and whose rest is {@code tail}. */
    void record(int s, int ownerOffset, byte[] tail) {
        enter(s);
        ensure(2 + tail.length);
        buf[pos++] = (byte) (0xc0 | (ownerOffset >> 8));
        buf[pos++] = (byte) ownerOffset;
        System.arraycopy(tail, 0, buf, pos, tail.length);
        pos += tail.length;
        counts[s]++;
    }

    /** At most {@code max} of the records, a fresh random pick and order each time. */
    void shuffled(int s, int ownerOffset, byte[][] tails, int max) {
        int n = tails.length;
        if (n <= 1) {
            if (n == 1) {
                record(s, ownerOffset, tails[0]);
            }
            return;
        }
        if (order.length < n) {
            order = new int[n];
        }
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int k = Math.min(n, max);
        for (int i = 0; i < k; i++) {
            int j = i + random.nextInt(n - i);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
            record(s, ownerOffset, tails[order[i]]);
        }
    }

    /** The first {@code k} records of {@code tails} in the order {@code order}. */
    void ordered(int s, int ownerOffset, byte[][] tails, int[] order, int k) {
        for (int i = 0; i < k; i++) {
            record(s, ownerOffset, tails[order[i]]);
        }
    }

    /** The records written so far (everything after the question), and their counts per section. */
    Rendered.Body body() {
        return new Rendered.Body(Arrays.copyOfRange(buf, questionEnd, pos), counts[ANSWER], counts[AUTHORITY],
                counts[ADDITIONAL]);
    }

    /**
     * Appends a pre-rendered body (see {@link Rendered}) after the question; false, writing nothing, when it would
     * not fit {@code limit} with {@code reserve} bytes to spare (the caller then renders it the slow way, which
     * drops glue or truncates).
     */
    boolean body(Rendered.Body b, int limit, int reserve) {
        if (pos + b.bytes().length + reserve > limit) {
            return false;
        }
        ensure(b.bytes().length);
        System.arraycopy(b.bytes(), 0, buf, pos, b.bytes().length);
        pos += b.bytes().length;
        counts[ANSWER] = b.answers();
        counts[AUTHORITY] = b.authority();
        counts[ADDITIONAL] = b.additional();
        section = ADDITIONAL;
        return true;
    }

    /** Complete records (owner included) for the additional section; dropped first when the answer is too big. */
    void glue(byte[] records, int count) {
        if (count == 0) {
            return;
        }
        enter(ADDITIONAL);
        glueStart = pos;
        ensure(records.length);
        System.arraycopy(records, 0, buf, pos, records.length);
        pos += records.length;
        counts[ADDITIONAL] += count;
    }

    /**
     * The finished response within {@code limit} bytes. When it does not fit, the glue goes first (optional in
     * an authoritative answer); if it still does not fit, all records go and TC tells the client to ask over TCP.
     *
     * @param opt      whether to add an OPT record (the query had one)
     * @param payload  the UDP payload size the OPT advertises
     * @param extended the upper 8 bits of the rcode, carried by the OPT
     * @param dnssecOk the DO bit, copied from the query
     */
    byte[] finish(int limit, boolean opt, int payload, int extended, boolean dnssecOk) {
        return Arrays.copyOf(buf, complete(limit, opt, payload, extended, dnssecOk));
    }

    /** As {@link #finish}, but leaves the response in {@link #buffer()}; its length. */
    int complete(int limit, boolean opt, int payload, int extended, boolean dnssecOk) {
        int reserve = opt ? OPT_LENGTH : 0;
        if (pos + reserve > limit && glueStart >= 0) {
            pos = glueStart;
            counts[ADDITIONAL] = 0;
        }
        if (pos + reserve > limit) {
            pos = questionEnd;
            counts[ANSWER] = 0;
            counts[AUTHORITY] = 0;
            counts[ADDITIONAL] = 0;
            buf[2] |= 0x02;
        }
        if (opt) {
            ensure(OPT_LENGTH);
            buf[pos++] = 0;
            buf[pos++] = 0;
            buf[pos++] = (byte) Query.TYPE_OPT;
            buf[pos++] = (byte) (payload >> 8);
            buf[pos++] = (byte) payload;
            buf[pos++] = (byte) extended;
            buf[pos++] = 0;
            buf[pos++] = (byte) (dnssecOk ? 0x80 : 0);
            buf[pos++] = 0;
            buf[pos++] = 0;
            buf[pos++] = 0;
            counts[ADDITIONAL]++;
        }
        for (int s = 0; s < 4; s++) {
            buf[4 + 2 * s] = (byte) (counts[s] >> 8);
            buf[5 + 2 * s] = (byte) counts[s];
        }
        return pos;
    }

    /** The response {@link #complete} wrote, valid until the next {@link #begin}. */
    byte[] buffer() {
        return buf;
    }

    boolean truncated() {
        return (buf[2] & 0x02) != 0;
    }

    private void enter(int s) {
        if (s < section) {
            throw new IllegalStateException("records must be written in section order");
        }
        section = s;
    }

    private void ensure(int n) {
        if (pos + n > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n));
        }
    }
}
