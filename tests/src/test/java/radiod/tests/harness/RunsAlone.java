package radiod.tests.harness;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;

/**
 * A test class that measures what a failure costs the audio (gaps, elections, reconnections) against bounds, and so
 * runs by itself: the tests module runs its other classes two at a time, then these one after another with nothing
 * beside them (tests/pom.xml), as a station's machine would be.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag("alone")
public @interface RunsAlone {
}
