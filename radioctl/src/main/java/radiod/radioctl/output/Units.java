package radiod.radioctl.output;

import java.util.Locale;

/** Numbers as operators read them. */
public final class Units {
    private Units() {
    }

    /** {@code 1234567} → {@code 1.2 Mbit/s}. */
    public static String bitsPerSecond(long bps) {
        if (bps < 1000) {
            return bps + " bit/s";
        }
        String[] units = {"kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
        double v = bps;
        int i = -1;
        while (v >= 1000 && i < units.length - 1) {
            v /= 1000;
            i++;
        }
        return (v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v)) + " " + units[i];
    }

    /** Used over limit, where a limit of 0 means none. */
    public static String ofLimit(String used, long limit, String limitText) {
        return used + " / " + (limit == 0 ? "no limit" : limitText);
    }

    /** {@code 1234567} → {@code 1.2 MB} (SI units, as bit rates are). */
    public static String bytes(long bytes) {
        if (bytes < 1000) {
            return bytes + " B";
        }
        String[] units = {"kB", "MB", "GB", "TB", "PB"};
        double v = bytes;
        int i = -1;
        while (v >= 1000 && i < units.length - 1) {
            v /= 1000;
            i++;
        }
        return (v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v)) + " " + units[i];
    }
}
