package radiod.testkit.fuzz;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * Byte-level mutations of well-formed inputs, as a coverage-less fuzzer makes them: bit flips, random and
 * "interesting" bytes, insertions and deletions, duplicated runs, dictionary tokens (the syntax the parser looks for)
 * and splices with another seed. Starting from real inputs keeps most cases past a parser's first check, so that
 * the mutations land in the code behind it. Every edit is a value jqwik can shrink (towards fewer, smaller edits).
 */
public final class Mutations {
    private Mutations() {
    }

    /** What an edit does at its position. */
    public enum Kind { FLIP_BIT, SET_BYTE, INTERESTING_BYTE, INSERT_BYTE, DELETE, DUPLICATE, TOKEN_INSERT,
        TOKEN_REPLACE, SPLICE, TRUNCATE }

    private static final byte[] INTERESTING = {0, 1, 0x7f, (byte) 0x80, (byte) 0xff, (byte) 0xfe, '\r', '\n', ' ',
            '\t', ':', '/', '%', '?', '&', '=', '.', '"', '\\', '{', '}', '[', ']', ',', '#', '-', '0', '9', 'A', 'z',
            (byte) 0xc0, (byte) 0xc3, (byte) 0xe2, (byte) 0xed, (byte) 0xf0, (byte) 0xf4};

    /**
     * One edit: {@code at} picks a position as a fraction of the input's length, {@code length} how many bytes it
     * spans, {@code value} a byte, a bit or which token or seed it uses.
     */
    public record Edit(Kind kind, double at, int length, int value) {
        byte[] apply(byte[] in, byte[] other, List<byte[]> tokens) {
            int n = in.length;
            int p = Math.min(n, (int) (at * (n + 1)));
            switch (kind) {
                case FLIP_BIT -> {
                    if (n == 0) {
                        return in;
                    }
                    byte[] out = in.clone();
                    int q = Math.min(p, n - 1);
                    out[q] ^= (byte) (1 << (value & 7));
                    return out;
                }
                case SET_BYTE, INTERESTING_BYTE -> {
                    if (n == 0) {
                        return new byte[] {pick(value)};
                    }
                    byte[] out = in.clone();
                    out[Math.min(p, n - 1)] = kind == Kind.SET_BYTE ? (byte) value : pick(value);
                    return out;
                }
                case INSERT_BYTE -> {
                    return insert(in, p, new byte[] {(value & 1) == 0 ? (byte) (value >> 1) : pick(value >> 1)});
                }
                case DELETE -> {
                    int len = Math.min(length, n - p);
                    return cut(in, p, len);
                }
                case DUPLICATE -> {
                    int len = Math.min(length, n - p);
                    return insert(in, p, Arrays.copyOfRange(in, p, p + len));
                }
                case TOKEN_INSERT, TOKEN_REPLACE -> {
                    if (tokens.isEmpty()) {
                        return in;
                    }
                    byte[] token = tokens.get(Math.floorMod(value, tokens.size()));
                    byte[] base = kind == Kind.TOKEN_REPLACE ? cut(in, p, Math.min(length, n - p)) : in;
                    return insert(base, Math.min(p, base.length), token);
                }
                case SPLICE -> {
                    // This input up to p, then the other seed from a point of its own.
                    int q = Math.min(other.length, Math.floorMod(value, other.length + 1));
                    byte[] out = Arrays.copyOf(in, p + other.length - q);
                    System.arraycopy(other, q, out, p, other.length - q);
                    return out;
                }
                case TRUNCATE -> {
                    return Arrays.copyOf(in, p);
                }
                default -> throw new AssertionError(kind);
            }
        }

        private static byte pick(int value) {
            return INTERESTING[Math.floorMod(value, INTERESTING.length)];
        }

        private static byte[] insert(byte[] in, int p, byte[] what) {
            byte[] out = new byte[in.length + what.length];
            System.arraycopy(in, 0, out, 0, p);
            System.arraycopy(what, 0, out, p, what.length);
            System.arraycopy(in, p, out, p + what.length, in.length - p);
            return out;
        }

        private static byte[] cut(byte[] in, int p, int len) {
            byte[] out = new byte[in.length - len];
            System.arraycopy(in, 0, out, 0, p);
            System.arraycopy(in, p + len, out, p, in.length - p - len);
            return out;
        }
    }

    /** Up to {@code maxEdits} edits, most often few; none at all in some cases, so valid inputs are tried too. */
    public static Arbitrary<List<Edit>> edits(int maxEdits) {
        Arbitrary<Edit> edit = Combinators.combine(
                Arbitraries.of(Kind.class),
                Arbitraries.doubles().between(0, 1),
                Arbitraries.integers().between(1, 16),
                Arbitraries.integers().between(0, 255)).as(Edit::new);
        return edit.list().ofMaxSize(maxEdits);
    }

    /** Applies edits in order; {@code other} is the seed that splices take from. */
    public static byte[] apply(byte[] seed, byte[] other, List<Edit> edits, List<byte[]> tokens) {
        byte[] b = seed;
        for (Edit e : edits) {
            b = e.apply(b, other, tokens);
        }
        return b;
    }

    /** Seeds from {@code seeds} (each valid input as bytes), mutated by up to {@code maxEdits} edits. */
    public static Arbitrary<byte[]> mutated(Arbitrary<byte[]> seeds, List<byte[]> tokens, int maxEdits) {
        return Combinators.combine(seeds, seeds, edits(maxEdits)).as((seed, other, edits) -> apply(seed, other, edits, tokens));
    }

    /**
     * Random text up to {@code maxLength} characters, mostly short: printable ASCII most of all, then control
     * characters, Latin-1, other BMP characters, supplementary characters and lone surrogates. Generated in one go
     * (not shrinkable), which keeps long inputs cheap: a fuzz run makes hundreds of thousands.
     */
    public static Arbitrary<String> text(int maxLength) {
        return text(0, maxLength);
    }

    /** As {@link #text(int)}, at least {@code minLength} characters. */
    public static Arbitrary<String> text(int minLength, int maxLength) {
        return Arbitraries.randomValue(r -> {
            int span = maxLength - minLength;
            int length = minLength + (r.nextInt(4) == 0 ? r.nextInt(span + 1) : r.nextInt(Math.min(16, span) + 1));
            StringBuilder b = new StringBuilder(length);
            while (b.length() < length) {
                int kind = r.nextInt(20);
                if (kind < 13) {
                    b.append((char) (0x20 + r.nextInt(0x5f)));
                } else if (kind < 15) {
                    b.append((char) (r.nextBoolean() ? r.nextInt(0x20) : 0x7f + r.nextInt(0x21)));
                } else if (kind < 17) {
                    b.append((char) (0xa0 + r.nextInt(0x60)));
                } else if (kind < 18) {
                    b.append((char) (0x100 + r.nextInt(0xd800 - 0x100)));
                } else if (kind < 19) {
                    b.appendCodePoint(0x10000 + r.nextInt(0x100000));
                } else {
                    b.append((char) (0xd800 + r.nextInt(0x800)));
                }
            }
            return b.length() > length ? b.substring(0, length) : b.toString();
        });
    }

    /** Tokens as ISO-8859-1 bytes. */
    public static List<byte[]> tokens(String... tokens) {
        List<byte[]> out = new ArrayList<>(tokens.length);
        for (String t : tokens) {
            out.add(t.getBytes(StandardCharsets.ISO_8859_1));
        }
        return out;
    }
}
