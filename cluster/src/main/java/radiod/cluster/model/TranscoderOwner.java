package radiod.cluster.model;

/** The value of {@code transcoders/<mount>}: the node that won that transcoder's election. */
public record TranscoderOwner(String node, long since) {
    public TranscoderOwner {
        NodeName.validate(node);
    }
}
