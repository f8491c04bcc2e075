package radiod.redirector.stream;

import java.util.Optional;

/** What the passthrough learns about a mount from the cluster rather than from its stream. */
public interface Catalog {
    /** Nothing known: titles only from the stream, the default ICY interval. */
    Catalog NONE = new Catalog() {
        @Override
        public Optional<String> title(String mount) {
            return Optional.empty();
        }

        @Override
        public long bitsPerSecond(String mount) {
            return 0;
        }
    };

    /** The mount's current song title, set by its encoder's metadata update or an operator. */
    Optional<String> title(String mount);

    /** The mount's nominal bitrate, or 0 when unknown. */
    long bitsPerSecond(String mount);
}
