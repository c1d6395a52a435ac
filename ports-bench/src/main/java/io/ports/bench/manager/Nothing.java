package io.ports.bench.manager;

/** Does nothing: the JVM's own start and exit with the benchmarks' class path, the floor of {@link NodeStartMain}. */
public final class Nothing {
    private Nothing() {
    }

    public static void main(String[] args) {
        // the floor
    }
}
