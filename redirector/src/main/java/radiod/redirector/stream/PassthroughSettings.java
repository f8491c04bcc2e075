package radiod.redirector.stream;

import java.time.Duration;

/**
 * How the passthrough serves a node's listeners.
 *
 * @param burstBytes most audio a new listener gets at once from the mount's recent past, starting on a unit (MP3
 *                   frame, Ogg page) boundary, so that its player starts at once; 0 for none
 * @param batch      how long a mount's audio is gathered before it is written to its listeners: one write and one
 *                   flush per listener per batch, however many packets Icecast sent meanwhile
 * @param queueBytes most bytes waiting in this node for one listener's socket; a listener with more than this
 *                   queued when the next batch comes is dropped (it is not reading, or too slowly). It should hold
 *                   a few batches of the fastest mount: 64 KiB is two 250 ms batches of a 2 Mbit/s stream
 * @param holdLimit  how long a mount's listeners are held open, silent, while its ended upstream (the local Icecast
 *                   restarting, say) is asked for again; {@link Duration#ZERO} ends them with the upstream
 * @param linger     how long a mount's read of the local Icecast is kept after its last listener on an event loop
 *                   leaves, so that a listener who comes back (a player reconnecting) gets its burst at once
 */
public record PassthroughSettings(int burstBytes, Duration batch, int queueBytes, Duration holdLimit, Duration linger) {
    /** 64 KiB bursts, 250 ms batches, a 64 KiB queue per listener, 15 s holds, 5 s lingering. */
    public static final PassthroughSettings DEFAULTS = new PassthroughSettings(64 * 1024, Duration.ofMillis(250),
            64 * 1024, Duration.ofSeconds(15), Duration.ofSeconds(5));

    public PassthroughSettings {
        if (burstBytes < 0 || burstBytes > 1 << 20) {
            throw new IllegalArgumentException("passthrough burst must be 0 to 1 MiB, got " + burstBytes + " bytes");
        }
        if (batch == null || batch.toMillis() < 10 || batch.toMillis() > 1000) {
            throw new IllegalArgumentException("passthrough batch interval must be 10 ms to 1 s, got " + batch);
        }
        if (queueBytes < 4096) {
            throw new IllegalArgumentException("passthrough queue per listener must be at least 4096 bytes, got " + queueBytes);
        }
        if (holdLimit == null || holdLimit.isNegative()) {
            throw new IllegalArgumentException("passthrough hold limit must be zero or positive, got " + holdLimit);
        }
        if (linger == null || linger.isNegative()) {
            throw new IllegalArgumentException("passthrough linger must be zero or positive, got " + linger);
        }
    }

    public PassthroughSettings withBurstBytes(int bytes) {
        return new PassthroughSettings(bytes, batch, queueBytes, holdLimit, linger);
    }

    public PassthroughSettings withBatch(Duration interval) {
        return new PassthroughSettings(burstBytes, interval, queueBytes, holdLimit, linger);
    }

    public PassthroughSettings withQueueBytes(int bytes) {
        return new PassthroughSettings(burstBytes, batch, bytes, holdLimit, linger);
    }

    public PassthroughSettings withHoldLimit(Duration limit) {
        return new PassthroughSettings(burstBytes, batch, queueBytes, limit, linger);
    }

    public PassthroughSettings withLinger(Duration duration) {
        return new PassthroughSettings(burstBytes, batch, queueBytes, holdLimit, duration);
    }
}
