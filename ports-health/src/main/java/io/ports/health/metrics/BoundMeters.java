package io.ports.health.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.ToDoubleFunction;

/** The meters a binder registered, in the registries it was bound to, to remove them on close. */
final class BoundMeters {
    private record Bound(MeterRegistry registry, Meter meter) {
    }

    private final List<Bound> meters = new CopyOnWriteArrayList<>();

    <T> Gauge gauge(MeterRegistry r, PortsMeters spec, T obj, ToDoubleFunction<T> fn, Tags tags) {
        Gauge g = Gauge.builder(spec.getName(), obj, fn).description(spec.description()).baseUnit(spec.getBaseUnit()).tags(tags).register(r);
        meters.add(new Bound(r, g));
        return g;
    }

    <T> FunctionCounter counter(MeterRegistry r, PortsMeters spec, T obj, ToDoubleFunction<T> fn, Tags tags) {
        FunctionCounter c = FunctionCounter.builder(spec.getName(), obj, fn).description(spec.description()).baseUnit(spec.getBaseUnit())
                .tags(tags).register(r);
        meters.add(new Bound(r, c));
        return c;
    }

    Timer timer(MeterRegistry r, PortsMeters spec, Tags tags) {
        Timer t = Timer.builder(spec.getName()).description(spec.description()).tags(tags).register(r);
        meters.add(new Bound(r, t));
        return t;
    }

    void removeAll() {
        for (Bound b : meters) {
            b.registry().remove(b.meter());
        }
        meters.clear();
    }
}
