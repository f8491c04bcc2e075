package radiod.controller.config;

/** Port fields: 0 or absent means the default. */
final class Ports {
    private Ports() {
    }

    static int orDefault(String field, int port, int dflt) {
        if (port == 0) {
            return dflt;
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(field + " must be between 1 and 65535, got " + port);
        }
        return port;
    }
}
