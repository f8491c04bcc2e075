package radiod.redirector.carry;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import io.vertx.core.buffer.Buffer;

/**
 * Splits an encoder's byte stream, arriving in arbitrary chunks, into whole units (MPEG audio frames, ADTS frames,
 * Ogg pages), so that radiod splices streams, replays them and starts new readers only on unit boundaries.
 *
 * <p>{@link #accept} returns the units completed by each chunk, merged into {@link Piece}s: consecutive units of
 * one kind are one piece; bytes that are not a unit (garbage found while resynchronising, or the tail of an ID3v2
 * tag larger than the hold bound) are a DATA piece of their own. Nothing is ever dropped: the pieces returned so far,
 * concatenated, are always the input so far minus the {@link #pending()} bytes at its end.
 *
 * <p>A piece's bytes are, where possible, a slice of the buffer given to {@code accept} (no copy): they share its
 * memory, so neither the caller nor the reader of a piece should modify them. One framer serves one stream, on one
 * thread (not thread-safe). Per chunk it allocates at most the result list, its pieces, and (when a unit is left
 * incomplete) the copy of that unit's bytes.
 */
public final class StreamFramer {
    public enum Kind { DATA, HEADERS }

    /** Consecutive whole units of one kind. */
    public record Piece(Kind kind, Buffer bytes) {
    }

    /** Bytes held back while no unit is confirmed, at most; past it they are let through as DATA. */
    static final int MAX_HOLD = 64 * 1024;

    private enum Format { PASS, MPEG, ADTS, OGG }

    /** {@link #probe}: the bytes at the offset cannot be a unit header. */
    private static final int INVALID = -1;
    /** {@link #probe}: the bytes so far fit a header, but more are needed to tell. */
    private static final int MORE = 0;
    /** {@link #probe}: a valid header whose unit length needs more bytes (an Ogg page's segment table). */
    private static final int HEADER_OK = -2;
    /** Ogg: a header block larger than this is taken to be no header (a stream whose granule never moves). */
    static final int MAX_HEADERS = 1024 * 1024;

    private static final Buffer EMPTY = Buffer.buffer(0);
    private static final List<Piece> NONE = List.of();

    /** Bit rates in kbit/s by [MPEG-1 ? 0 : 1][layer I..III = 0..2][index]. */
    private static final int[][][] BITRATES = {
        {
            {0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
            {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
            {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
        },
        {
            {0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
            {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
            {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
        },
    };
    /** Sample rates by [version bits: 0 = MPEG-2.5, 2 = MPEG-2, 3 = MPEG-1][index]. */
    private static final int[][] SAMPLE_RATES = {
        {11025, 12000, 8000}, null, {22050, 24000, 16000}, {44100, 48000, 32000},
    };

    private final Format format;

    /** Our own copy of the bytes held back (never shared with a piece until handed out), or null for none. */
    private Buffer pending;
    /** Bytes {@link #pending} must reach before parsing can make progress (0 = try on every chunk). */
    private int need;
    /** True at a unit boundary (stream start, after a unit): one valid header there is taken as a unit. False while
     *  resynchronising: a header counts only when the one after it is valid too. */
    private boolean synced = true;
    /** Bytes of an over-long unit (an ID3v2 tag above {@link #MAX_HOLD}) still to let through unparsed. */
    private long passRemaining;

    /** Ogg: the current header block's pages, concatenated; replaced, never modified, when it changes. */
    private Buffer headers = EMPTY;
    /** Ogg: serials whose header pages are still coming (their BOS seen, no page with a granule other than 0 yet). */
    private int[] openSerials = new int[4];
    private int openCount;
    /** Ogg: a page that is not a header page came after the current block, so a BOS starts a new block. */
    private boolean blockSealed = true;

    /* The chunk being cut, and the piece being built from it (a range of units of one kind). */
    private Buffer work;
    private List<Piece> out;
    private Kind openKind;
    private int openStart;
    private int openEnd;

    private StreamFramer(Format format) {
        this.format = format;
    }

    /** audio/mpeg (and audio/mp3, audio/mpeg3): MPEG audio frames; audio/aac, audio/aacp, audio/x-aac: ADTS frames;
     *  application/ogg, audio/ogg, video/ogg, audio/opus, audio/vorbis (with or without parameters, any case): Ogg pages;
     *  anything else or null: pass-through (every chunk is one DATA piece, as it came). */
    public static StreamFramer forContentType(String contentType) {
        return new StreamFramer(formatOf(contentType));
    }

    private static Format formatOf(String contentType) {
        if (contentType == null) {
            return Format.PASS;
        }
        int semi = contentType.indexOf(';');
        String type = (semi >= 0 ? contentType.substring(0, semi) : contentType).trim().toLowerCase(Locale.ROOT);
        switch (type) {
            case "audio/mpeg":
            case "audio/mp3":
            case "audio/mpeg3":
                return Format.MPEG;
            case "audio/aac":
            case "audio/aacp":
            case "audio/x-aac":
                return Format.ADTS;
            case "application/ogg":
            case "audio/ogg":
            case "video/ogg":
            case "audio/opus":
            case "audio/vorbis":
                return Format.OGG;
            default:
                return Format.PASS;
        }
    }

    /** True when this framer splits on unit boundaries (false for pass-through). */
    public boolean framed() {
        return format != Format.PASS;
    }

    /** Bytes held back (an incomplete unit). */
    public int pending() {
        return pending == null ? 0 : pending.length();
    }

    /** The current Ogg stream's header pages (the BOS page and the following pages of its logical stream up to its
     *  first page with a granule position other than 0), concatenated; an empty buffer for other formats or before
     *  any. The buffer is replaced, not modified, when the headers change; do not modify it. */
    public Buffer headers() {
        return headers;
    }

    /** Takes the next bytes; returns the units now complete, in order, merged into pieces by kind (possibly empty list).
     *  Bytes of an incomplete unit are held back until the rest arrives. */
    public List<Piece> accept(Buffer data) {
        if (data == null || data.length() == 0) {
            return NONE;
        }
        if (format == Format.PASS) {
            return List.of(new Piece(Kind.DATA, data));
        }
        Buffer w;
        if (pending == null) {
            w = data;
        } else {
            pending.appendBuffer(data);
            if (pending.length() < need) {
                return NONE;
            }
            w = pending;
        }
        work = w;
        out = null;
        openKind = null;
        int hold = cut(w.length());
        closePiece();
        int len = w.length();
        if (hold < len) {
            if (hold > 0 || w != pending) {
                int n = len - hold;
                pending = Buffer.buffer(Math.max(n, need)).appendBuffer(w, hold, n);
            }
            // else: nothing was handed out of our own pending buffer; keep growing it.
        } else {
            pending = null;
            need = 0;
        }
        if (pending != null && !synced && pending.length() > MAX_HOLD) {
            // Safety net for the hold bound (the candidate parses cannot normally get here).
            opaque(pending, 0, pending.length());
            pending = null;
            need = 0;
        }
        List<Piece> result = out == null ? NONE : out;
        work = null;
        out = null;
        return result;
    }

    /** Cuts {@link #work}[0, len) into pieces; returns the offset from which bytes are held back (len for none). */
    private int cut(int len) {
        int pos = 0;
        need = 0;
        if (passRemaining > 0) {
            int n = (int) Math.min(passRemaining, len);
            opaque(work, 0, n);
            passRemaining -= n;
            pos = n;
        }
        while (pos < len) {
            if (synced) {
                int unit = probe(work, pos, len);
                if (unit > 0) {
                    if (pos + unit <= len) {
                        unit(pos, unit);
                        pos += unit;
                        continue;
                    }
                    if (unit > MAX_HOLD) {
                        // An ID3v2 tag longer than the hold bound: let it through as it comes, unparsed.
                        opaque(work, pos, len);
                        passRemaining = (long) unit - (len - pos);
                        return len;
                    }
                    need = unit;
                    return pos;
                }
                if (unit == MORE || unit == HEADER_OK) {
                    return pos;
                }
                synced = false;
            }
            // Resynchronise: the next offset whose header is followed by another valid header.
            int from = pos;
            for (;;) {
                if (pos >= len) {
                    opaque(work, from, len);
                    return len;
                }
                int unit = probe(work, pos, len);
                // (A candidate longer than the hold bound, less the next header, cannot be confirmed: an ID3v2
                // tag found while resynchronising is held only up to that; an Ogg page is never that long.)
                if (unit == INVALID || unit > MAX_HOLD - 16) {
                    pos++;
                    continue;
                }
                if (unit == MORE || unit == HEADER_OK) {
                    opaque(work, from, pos);
                    return pos;
                }
                int next = pos + unit >= len ? MORE : probe(work, pos + unit, len);
                if (next == INVALID) {
                    pos++;
                    continue;
                }
                opaque(work, from, pos);
                if (next == MORE) {
                    return pos;
                }
                synced = true;
                break;
            }
        }
        return len;
    }

    /**
     * The length of the unit whose header starts at {@code o} in {@code b} (bytes up to {@code len} available),
     * {@link #INVALID} when the bytes there cannot start one, {@link #MORE} when more bytes are needed to tell, or
     * {@link #HEADER_OK} when the header is valid but more bytes are needed for the unit's length.
     */
    private int probe(Buffer b, int o, int len) {
        switch (format) {
            case MPEG:
                return probeMpeg(b, o, len);
            case ADTS:
                return probeAdts(b, o, len);
            case OGG:
                return probeOgg(b, o, len);
            default:
                throw new IllegalStateException();
        }
    }

    private static int probeMpeg(Buffer b, int o, int len) {
        int avail = len - o;
        int b0 = b.getUnsignedByte(o);
        if (b0 == 'I') {
            return probeId3(b, o, len);
        }
        if (b0 != 0xFF) {
            return INVALID;
        }
        if (avail < 2) {
            return MORE;
        }
        int b1 = b.getUnsignedByte(o + 1);
        int version = (b1 >> 3) & 3;
        int layer = (b1 >> 1) & 3; // 3 = layer I, 2 = II, 1 = III
        if ((b1 & 0xE0) != 0xE0 || version == 1 || layer == 0) {
            return INVALID;
        }
        if (avail < 3) {
            return MORE;
        }
        int b2 = b.getUnsignedByte(o + 2);
        int bitrateIndex = b2 >> 4;
        int rateIndex = (b2 >> 2) & 3;
        if (bitrateIndex == 0 || bitrateIndex == 15 || rateIndex == 3) {
            return INVALID;
        }
        if (avail < 4) {
            return MORE;
        }
        int padding = (b2 >> 1) & 1;
        int bitrate = BITRATES[version == 3 ? 0 : 1][3 - layer][bitrateIndex] * 1000;
        int sampleRate = SAMPLE_RATES[version][rateIndex];
        if (layer == 3) {
            return (12 * bitrate / sampleRate + padding) * 4;
        }
        if (layer == 1 && version != 3) {
            return 72 * bitrate / sampleRate + padding;
        }
        return 144 * bitrate / sampleRate + padding;
    }

    /** An ID3v2 tag: "ID3", version (not 0xFF), flags, 4 syncsafe size bytes; 10 more bytes with a footer. */
    private static int probeId3(Buffer b, int o, int len) {
        int avail = len - o;
        for (int i = 1; i < 10; i++) {
            if (i >= avail) {
                return MORE;
            }
            int v = b.getUnsignedByte(o + i);
            boolean ok = switch (i) {
                case 1 -> v == 'D';
                case 2 -> v == '3';
                case 3, 4 -> v != 0xFF;
                case 5 -> true;
                default -> v < 0x80;
            };
            if (!ok) {
                return INVALID;
            }
        }
        int size = (b.getUnsignedByte(o + 6) << 21) | (b.getUnsignedByte(o + 7) << 14)
                | (b.getUnsignedByte(o + 8) << 7) | b.getUnsignedByte(o + 9);
        boolean footer = (b.getUnsignedByte(o + 5) & 0x10) != 0;
        return 10 + size + (footer ? 10 : 0);
    }

    private static int probeAdts(Buffer b, int o, int len) {
        int avail = len - o;
        if (b.getUnsignedByte(o) != 0xFF) {
            return INVALID;
        }
        if (avail < 2) {
            return MORE;
        }
        int b1 = b.getUnsignedByte(o + 1);
        if ((b1 & 0xF6) != 0xF0) {
            return INVALID;
        }
        if (avail < 3) {
            return MORE;
        }
        if (((b.getUnsignedByte(o + 2) >> 2) & 0xF) > 12) {
            return INVALID; // sampling frequency index 13..15: reserved or not allowed in ADTS
        }
        if (avail < 6) {
            return MORE;
        }
        int length = ((b.getUnsignedByte(o + 3) & 3) << 11) | (b.getUnsignedByte(o + 4) << 3)
                | (b.getUnsignedByte(o + 5) >> 5);
        int headerSize = (b1 & 1) != 0 ? 7 : 9;
        return length < headerSize ? INVALID : length;
    }

    private static int probeOgg(Buffer b, int o, int len) {
        int avail = len - o;
        int n = Math.min(avail, 6);
        for (int i = 0; i < n; i++) {
            int v = b.getUnsignedByte(o + i);
            boolean ok = switch (i) {
                case 0 -> v == 'O';
                case 1 -> v == 'g';
                case 2 -> v == 'g';
                case 3 -> v == 'S';
                case 4 -> v == 0; // version
                default -> (v & 0xF8) == 0; // flags: continued, BOS, EOS
            };
            if (!ok) {
                return INVALID;
            }
        }
        if (avail < 27) {
            return MORE;
        }
        int segments = b.getUnsignedByte(o + 26);
        if (avail < 27 + segments) {
            return HEADER_OK;
        }
        int body = 0;
        for (int i = 0; i < segments; i++) {
            body += b.getUnsignedByte(o + 27 + i);
        }
        return 27 + segments + body;
    }

    /** A whole unit at work[start, start + length). */
    private void unit(int start, int length) {
        Kind kind = format == Format.OGG ? oggPage(start, length) : Kind.DATA;
        if (openKind == kind && openEnd == start) {
            openEnd = start + length;
            return;
        }
        closePiece();
        openKind = kind;
        openStart = start;
        openEnd = start + length;
    }

    /** Classifies a whole Ogg page, and keeps the header block. */
    private Kind oggPage(int start, int length) {
        int flags = work.getUnsignedByte(start + 5);
        long granule = work.getLongLE(start + 6);
        int serial = work.getIntLE(start + 14);
        boolean header;
        if ((flags & 0x02) != 0) {
            if (blockSealed) {
                headers = EMPTY;
                openCount = 0;
                blockSealed = false;
            }
            if (!isOpen(serial)) {
                if (openCount == openSerials.length) {
                    openSerials = Arrays.copyOf(openSerials, openCount * 2);
                }
                openSerials[openCount++] = serial;
            }
            header = true;
        } else if (isOpen(serial)) {
            // Granule 0: a header page. -1 ("no packet ends on this page"): a page in the middle of a header
            // packet that spans pages. Anything else: the logical stream's first audio page.
            header = granule == 0 || granule == -1;
            if (!header) {
                close(serial);
            }
        } else {
            header = false;
        }
        if (header && headers.length() + length > MAX_HEADERS) {
            header = false;
            openCount = 0;
        }
        if (header) {
            headers = Buffer.buffer(headers.length() + length).appendBuffer(headers).appendBuffer(work, start, length);
            return Kind.HEADERS;
        }
        blockSealed = true;
        return Kind.DATA;
    }

    private boolean isOpen(int serial) {
        for (int i = 0; i < openCount; i++) {
            if (openSerials[i] == serial) {
                return true;
            }
        }
        return false;
    }

    private void close(int serial) {
        for (int i = 0; i < openCount; i++) {
            if (openSerials[i] == serial) {
                openSerials[i] = openSerials[--openCount];
                return;
            }
        }
    }

    /** Bytes that are not (or not all of) a unit: a DATA piece of their own. */
    private void opaque(Buffer b, int start, int end) {
        if (end <= start) {
            return;
        }
        closePiece();
        add(new Piece(Kind.DATA, slice(b, start, end)));
    }

    private void closePiece() {
        if (openKind != null) {
            add(new Piece(openKind, slice(work, openStart, openEnd)));
            openKind = null;
        }
    }

    private void add(Piece piece) {
        if (out == null) {
            out = new ArrayList<>(2);
        }
        out.add(piece);
    }

    private static Buffer slice(Buffer b, int start, int end) {
        return start == 0 && end == b.length() ? b : b.slice(start, end);
    }
}
