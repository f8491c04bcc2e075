package radiod.cluster.model;

/** Port range checks shared by the records. */
final class Ports {
    private Ports() {
    }

    static void check(String field, int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(field + " must be between 1 and 65535, got " + port);
        }
    }
}
