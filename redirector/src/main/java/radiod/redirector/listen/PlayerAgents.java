package radiod.redirector.listen;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Recognises players that do not follow an HTTP redirect for a stream, by User-Agent; they are proxied instead.
 * Patterns are compiled into two alternations: those anchored with {@code ^} are only tried at the start of the
 * header (cheap, and every default is one), the others searched anywhere; a pattern that would mean something else
 * inside an alternation is searched on its own.
 */
public final class PlayerAgents {
    /**
     * Players with a long record of not following (or mishandling) a 302 on a stream URL: the Winamp/SHOUTcast-era
     * stacks (Winamp's in_mp3 "WinampMPEG", SHOUTcast DNAS relays, XMMS, FreeAmp), Windows Media Player's network
     * engine (NSPlayer), RealPlayer, iTunes before version 10, and the internet-radio firmware of hardware radios
     * (Reciva and Frontier Silicon modules, Roku SoundBridge). Players built on FFmpeg ("Lavf"), GStreamer, VLC,
     * mpv, mpg123, browsers and the mainstream smart speakers follow redirects and are redirected.
     */
    public static final List<String> DEFAULTS = List.of(
            "^WinampMPEG/", "^Shoutcast", "^xmms/", "^FreeAmp/", "^NSPlayer/", "^Windows-Media-Player/",
            "^RMA/", "^RealMedia Player", "^iTunes/[1-9]\\.", "^Reciva", "^Frontier[ _]Silicon", "^FSL IR",
            "^Roku SoundBridge");

    private static final Pattern BACK_REFERENCE = Pattern.compile("\\\\([1-9]|k<)");
    private static final Pattern NAMED_GROUP = Pattern.compile("\\(\\?<[A-Za-z]");

    /** Patterns that start with {@code ^} (and have no top-level choice), tried at the start only. */
    private final Pattern prefixes;
    /** The other patterns, searched anywhere. */
    private final Pattern anywhere;
    /** Patterns that would not mean the same inside an alternation, each searched on its own. */
    private final List<Pattern> alone;

    private PlayerAgents(Pattern prefixes, Pattern anywhere, List<Pattern> alone) {
        this.prefixes = prefixes;
        this.anywhere = anywhere;
        this.alone = alone;
    }

    /** @throws IllegalArgumentException naming the first pattern that does not compile */
    public static PlayerAgents of(List<String> patterns) {
        StringBuilder prefixes = new StringBuilder();
        StringBuilder anywhere = new StringBuilder();
        List<Pattern> alone = new ArrayList<>();
        for (String p : patterns) {
            Pattern own;
            try {
                own = Pattern.compile(p, Pattern.CASE_INSENSITIVE);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("proxy user agent pattern '" + p + "' is not a valid regular expression: "
                        + e.getDescription());
            }
            boolean anchored = p.startsWith("^") && p.indexOf('|') < 0;
            if (anchored && combinable(p.substring(1))) {
                append(prefixes, p.substring(1));
            } else if (!anchored && combinable(p)) {
                append(anywhere, p);
            } else {
                alone.add(own); // among them "^+x": without its anchor, "+x" is no pattern
            }
        }
        return new PlayerAgents(compile(prefixes), compile(anywhere), List.copyOf(alone));
    }

    /**
     * Whether the pattern means inside {@code (?:...)|(?:...)} what it means alone: not when its group numbers or
     * names would shift or clash (back references, named groups), nor when a {@code \Q} without {@code \E} or a
     * comment ({@code (?x)...#}) would take in the group's closing parenthesis.
     */
    private static boolean combinable(String p) {
        if (p.contains("\\Q") || p.indexOf('#') >= 0 || BACK_REFERENCE.matcher(p).find() || p.contains("(?<")
                && NAMED_GROUP.matcher(p).find()) {
            return false;
        }
        try {
            Pattern.compile("(?:" + p + ")");
            return true;
        } catch (PatternSyntaxException e) {
            return false;
        }
    }

    private static void append(StringBuilder alternation, String pattern) {
        alternation.append(alternation.length() == 0 ? "" : "|").append("(?:").append(pattern).append(')');
    }

    private static Pattern compile(StringBuilder alternation) {
        return alternation.length() == 0 ? null : Pattern.compile(alternation.toString(), Pattern.CASE_INSENSITIVE);
    }

    /** Whether a player sending this User-Agent (may be null) needs to be proxied rather than redirected. */
    public boolean needsProxy(String userAgent) {
        if (userAgent == null || userAgent.isEmpty()) {
            return false;
        }
        if (prefixes != null && prefixes.matcher(userAgent).lookingAt()
                || anywhere != null && anywhere.matcher(userAgent).find()) {
            return true;
        }
        for (Pattern p : alone) {
            if (p.matcher(userAgent).find()) {
                return true;
            }
        }
        return false;
    }
}
