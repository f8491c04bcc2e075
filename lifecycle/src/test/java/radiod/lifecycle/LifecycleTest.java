package radiod.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The state guard refuses a second start and a start after close; closing works once; the stack closes in reverse. */
class LifecycleTest {

    @Test
    void startsOnceAndClosesOnce() {
        Lifecycle l = new Lifecycle("thing");
        assertEquals(Lifecycle.State.LATENT, l.state());
        l.start();
        assertTrue(l.isStarted());
        IllegalStateException twice = assertThrows(IllegalStateException.class, l::start);
        assertTrue(twice.getMessage().contains("thing"), twice.getMessage());
        assertTrue(l.close());
        assertFalse(l.close());
        assertThrows(IllegalStateException.class, l::start);
    }

    @Test
    void aLatentComponentClosesWithoutStarting() {
        Lifecycle l = new Lifecycle("thing");
        assertTrue(l.close());
        assertThrows(IllegalStateException.class, l::start);
    }

    private static final class Part implements Component {
        final String name;
        final List<String> log;
        final boolean failStart;

        Part(String name, List<String> log, boolean failStart) {
            this.name = name;
            this.log = log;
            this.failStart = failStart;
        }

        @Override
        public void start() {
            log.add("start " + name);
            if (failStart) {
                throw new IllegalStateException("no " + name);
            }
        }

        @Override
        public void close() {
            log.add("close " + name);
            if (name.equals("b")) {
                throw new IllegalStateException("b will not close");
            }
        }
    }

    @Test
    void componentsCloseInReverseStartOrderEvenWhenOneFailsToClose() throws Exception {
        List<String> log = new ArrayList<>();
        Components c = new Components("node");
        c.start(new Part("a", log, false));
        c.start(new Part("b", log, false));
        c.adopt(() -> log.add("close process"));
        c.start(new Part("d", log, false));
        c.close();
        c.close();
        assertEquals(List.of("start a", "start b", "start d", "close d", "close process", "close b", "close a"), log);
        assertThrows(IllegalStateException.class, () -> c.start(new Part("late", log, false)));
    }

    @Test
    void aComponentWhoseStartFailsIsClosedAndNotPushed() throws Exception {
        List<String> log = new ArrayList<>();
        Components c = new Components("node");
        c.start(new Part("a", log, false));
        assertThrows(IllegalStateException.class, () -> c.start(new Part("x", log, true)));
        c.close();
        assertEquals(List.of("start a", "start x", "close x", "close a"), log);
    }
}
