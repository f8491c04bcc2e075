package radiod.controller;

import java.nio.file.Path;

/**
 * radiod's command line: {@code [-c FILE | --config FILE | --config=FILE] [--check-config] [-h | --help]
 * [-V | --version]}.
 *
 * <p>Parsed by hand rather than with picocli (radioctl's parser): picocli's jar is Java 5 class files, which the
 * class-data-sharing archive cannot hold, so every start of a node loaded and verified its ~170 classes from the jar
 * (~110 ms of a start of ~2 s, and their metadata in memory; bench/RESULTS.md), for four options.
 */
record Args(Path config, boolean checkOnly, boolean help, boolean version) {
    static final Path DEFAULT_CONFIG = Path.of("/etc/radiod/radiod.yml");

    static final String USAGE = """
            Usage: radiod [-hV] [--check-config] [-c=FILE]
            Runs one node of a fault-tolerant Icecast cluster coordinated through etcd.
              -c, --config=FILE   Node configuration (YAML). Default: %s
                  --check-config  Check the configuration file and exit (0 if valid).
              -h, --help          Show this help message and exit.
              -V, --version       Print version information and exit.
            """.formatted(DEFAULT_CONFIG);

    /** A command line radiod does not take; the message names what is wrong. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    static Args parse(String... args) throws UsageException {
        Path config = null;
        boolean checkOnly = false;
        boolean help = false;
        boolean version = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            if (a.startsWith("--config=")) {
                value = a.substring("--config=".length());
            } else if (a.startsWith("-c=")) {
                value = a.substring("-c=".length());
            } else if (a.equals("-c") || a.equals("--config")) {
                if (i + 1 == args.length) {
                    throw new UsageException("Missing required parameter for option '--config' (FILE)");
                }
                value = args[++i];
            }
            if (value != null) {
                if (config != null) {
                    throw new UsageException("option '--config' (FILE) should be specified only once");
                }
                if (value.isEmpty()) {
                    throw new UsageException("option '--config' needs a file name");
                }
                config = Path.of(value);
                continue;
            }
            switch (a) {
                case "--check-config" -> checkOnly = true;
                case "-h", "--help" -> help = true;
                case "-V", "--version" -> version = true;
                case "-hV", "-Vh" -> {
                    help = true;
                    version = true;
                }
                default -> throw new UsageException(a.startsWith("-") ? "Unknown option: '" + a + "'"
                        : "Unmatched argument at index " + i + ": '" + a + "'");
            }
        }
        return new Args(config == null ? DEFAULT_CONFIG : config, checkOnly, help, version);
    }
}
