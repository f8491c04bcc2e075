package radiod.redirector.source;

import java.util.concurrent.CompletableFuture;

/** Where the source front sends song titles, and says that an encoder is gone (its title goes with it). */
public interface TitleDesk {
    /** Nowhere: every update fails (a front without a cluster behind it). */
    TitleDesk NONE = new TitleDesk() {
        @Override
        public CompletableFuture<Void> set(String mount, String title, String session) {
            return CompletableFuture.failedFuture(new IllegalStateException("titles are not kept here"));
        }

        @Override
        public void gone(String mount, String session) {
        }
    };

    /**
     * Makes {@code title} the mount's title for every node.
     *
     * @param session the session of the mount's encoder on this node, or empty when it streams elsewhere
     */
    CompletableFuture<Void> set(String mount, String title, String session);

    /** The mount's encoder of {@code session} left by itself or was kicked. */
    void gone(String mount, String session);
}
