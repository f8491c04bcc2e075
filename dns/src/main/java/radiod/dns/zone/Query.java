package radiod.dns.zone;

/**
 * A query read from its wire form, strictly and without following anything the sender controls beyond the
 * packet's bounds: the header, the one question (whose name may not use compression, as nothing precedes it to
 * point at) and the EDNS OPT record. Other records in the additional section are stepped over.
 */
final class Query {
    /** Outcome of reading a packet. */
    enum Status { OK, FORMERR, NOTIMP }

    static final int HEADER = 12;
    static final int TYPE_OPT = 41;
    private static final int MAX_ADDITIONAL = 16;

    final byte[] wire;
    Status status = Status.OK;
    int opcode;
    /** End of the question name and of the whole question; 0 when the question cannot be read. */
    int nameEnd;
    int questionEnd;
    int qtype;
    int qclass;
    boolean edns;
    int udpPayload;
    int ednsVersion;
    boolean dnssecOk;

    private Query(byte[] wire) {
        this.wire = wire;
    }

    int id() {
        return u16(wire, 0);
    }

    /** The RD and CD bits, copied into the answer. */
    int rd() {
        return wire[2] & 0x01;
    }

    int cd() {
        return wire[3] & 0x10;
    }

    boolean hasQuestion() {
        return questionEnd > 0;
    }

    /**
     * Reads {@code length} bytes of {@code wire}; null when nothing may be sent back: shorter than a header,
     * or a response (answering responses would let two servers bounce packets forever).
     */
    static Query parse(byte[] wire, int length) {
        if (length < HEADER || (wire[2] & 0x80) != 0) {
            return null;
        }
        Query q = new Query(wire);
        q.opcode = (wire[2] >> 3) & 0x0f;
        int qdcount = u16(wire, 4);
        if (qdcount >= 1) {
            q.readQuestion(length);
        }
        if (q.opcode != 0) {
            q.status = Status.NOTIMP;
            return q;
        }
        if (qdcount != 1 || !q.hasQuestion() || u16(wire, 6) != 0 || u16(wire, 8) != 0) {
            q.status = Status.FORMERR;
            return q;
        }
        int arcount = u16(wire, 10);
        if (arcount > MAX_ADDITIONAL || !q.readAdditional(arcount, length) || q.qtype == TYPE_OPT) {
            q.status = Status.FORMERR;
        }
        return q;
    }

    private void readQuestion(int length) {
        int p = HEADER;
        int nameLength = 1;
        while (true) {
            if (p >= length) {
                return;
            }
            int l = wire[p] & 0xff;
            if (l == 0) {
                p++;
                break;
            }
            if ((l & 0xc0) != 0) {
                return; // compression or an extended label type: not in a question
            }
            nameLength += l + 1;
            if (nameLength > 255) {
                return;
            }
            p += l + 1;
        }
        if (p + 4 > length) {
            return;
        }
        nameEnd = p;
        questionEnd = p + 4;
        qtype = u16(wire, p);
        qclass = u16(wire, p + 2);
    }

    private boolean readAdditional(int count, int length) {
        int p = questionEnd;
        for (int i = 0; i < count; i++) {
            int owner = p;
            while (true) {
                if (p >= length) {
                    return false;
                }
                int l = wire[p] & 0xff;
                if (l == 0) {
                    p++;
                    break;
                }
                if ((l & 0xc0) == 0xc0) {
                    p += 2;
                    break;
                }
                if ((l & 0xc0) != 0) {
                    return false;
                }
                p += l + 1;
            }
            if (p + 10 > length) {
                return false;
            }
            int type = u16(wire, p);
            int rdlength = u16(wire, p + 8);
            int rdata = p + 10;
            if (rdata + rdlength > length) {
                return false;
            }
            if (type == TYPE_OPT) {
                if (edns || p != owner + 1 || wire[owner] != 0 || !optionsWellFormed(rdata, rdlength)) {
                    return false; // RFC 6891: one OPT, owned by the root, options filling its data exactly
                }
                edns = true;
                udpPayload = u16(wire, p + 2);
                ednsVersion = wire[p + 5] & 0xff;
                dnssecOk = (wire[p + 6] & 0x80) != 0;
            }
            p = rdata + rdlength;
        }
        return true;
    }

    private boolean optionsWellFormed(int p, int length) {
        int end = p + length;
        while (p < end) {
            if (p + 4 > end) {
                return false;
            }
            p += 4 + u16(wire, p + 2);
        }
        return p == end;
    }

    static int u16(byte[] b, int p) {
        return ((b[p] & 0xff) << 8) | (b[p + 1] & 0xff);
    }
}
