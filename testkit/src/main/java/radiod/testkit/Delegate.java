package radiod.testkit;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * A stand-in for an interface that passes every call to a real object, except those the test takes over: a fault or
 * a held answer injected into a real client (a jetcd {@code Client}, its {@code KV} or {@code Lease}).
 */
public final class Delegate {
    private Delegate() {
    }

    /** The call as the real object makes it. */
    @FunctionalInterface
    public interface Real {
        Object call() throws Throwable;
    }

    /** What the stand-in does with one call: {@code real.call()} for what the real object does. */
    @FunctionalInterface
    public interface Handler {
        Object handle(Method method, Object[] args, Real real) throws Throwable;
    }

    /**
     * The stand-in. A call that returns the real object itself (a builder's chaining: a jetcd {@code Txn}'s {@code If},
     * {@code Then}, {@code Else}) returns the stand-in instead, so that the rest of the chain still comes through it.
     */
    public static <T> T of(Class<T> type, T real, Handler handler) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (proxy, method, args) -> {
            Object r = handler.handle(method, args, () -> {
                try {
                    return method.invoke(real, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
            return r == real ? proxy : r;
        }));
    }
}
