package io.ports.health.metrics;

import io.micrometer.common.docs.KeyName;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.ports.core.registry.Registry;
import io.ports.health.HealthMonitor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToDoubleFunction;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

/**
 * The one place a node's ports meters go through: a {@link MeterRegistry}, the tags every ports meter
 * carries (for example {@code node=db-1}), the binders of the registry and of health, and helpers that
 * other modules (the resolver's cache, the listeners, the tunnel, NAT mappings) use to register their own
 * meters consistently.
 *
 * <pre>{@code
 * PortsMetrics metrics = PortsMetrics.of(meterRegistry, Tags.of("node", "db-1"));
 * metrics.bindRegistry(registry);         // ports.allocations, ports.reservations.active, ...
 * metrics.bindHealth(healthMonitor);      // ports.health.status, ...
 *
 * // in another module: names in an enum implementing MeterSpec, meters through the helpers
 * metrics.gauge(ResolverMeters.CACHE_ENTRIES, cache, DnsCache::size, Tags.of("kind", "positive"));
 * Counter hits = metrics.counter(ResolverMeters.CACHE_HITS, Tags.empty());
 * metrics.bind(new ListenerMetrics(listeners, metrics.tags()));   // a MeterBinder of its own
 * ...
 * metrics.close();                        // removes every meter registered through it, closes its binders
 * }</pre>
 *
 * <h2>Conventions (checked)</h2>
 * <ul>
 *   <li>Names: lower case, dot separated, {@code ports.<subject>.<what>}, plural nouns for counters
 *       ({@code ports.resolver.cache.hits}); see {@link #checkName}.</li>
 *   <li>Units: base units only ({@code seconds} via timers, {@code bytes}, {@link PortsMeters#RATIO ratio} for 0..1),
 *       given as the spec's base unit, never in the name.</li>
 *   <li>Tags: the spec's keys exactly (Prometheus needs one set of keys per name), low cardinality: a
 *       type, a range, a reason, a state; never a port number, an address or an id.</li>
 *   <li>Objects behind gauges and function counters are held weakly, as Micrometer does: keep them referenced.</li>
 * </ul>
 * Thread-safe.
 */
public final class PortsMetrics implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PortsMetrics.class);

    /** Every ports meter name starts with it. */
    public static final String PREFIX = "ports.";

    private static final Pattern NAME = Pattern.compile("ports(\\.[a-z][a-z0-9]*)+");
    private static final Set<String> RESERVED_SUFFIXES = Set.of("total", "count", "sum", "bucket", "max", "created", "info");
    private static final Set<String> UNIT_WORDS = Set.of("seconds", "second", "milliseconds", "millis", "ms", "nanoseconds", "bytes",
            "ratio", "percent");

    private final MeterRegistry registry;
    private final Tags tags;
    private final List<Meter> meters = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> closeables = new CopyOnWriteArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private PortsMetrics(MeterRegistry registry, Tags tags) {
        this.registry = registry;
        this.tags = tags;
    }

    /** @param commonTags tags every meter registered through this hub carries, for example {@code node=db-1} */
    public static PortsMetrics of(MeterRegistry registry, Iterable<Tag> commonTags) {
        return new PortsMetrics(Objects.requireNonNull(registry, "meter registry"), Tags.of(Objects.requireNonNull(commonTags, "common tags")));
    }

    public static PortsMetrics of(MeterRegistry registry) {
        return of(registry, Tags.empty());
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** The common tags; pass them to binders of your own. */
    public Tags tags() {
        return tags;
    }

    // ------------------------------------------------------------------------------------- binders

    /** Binds the registry's meters ({@link RegistryMetrics}) with the common tags; closed with this hub. */
    public RegistryMetrics bindRegistry(Registry portsRegistry) {
        return bind(new RegistryMetrics(portsRegistry, tags));
    }

    /** Binds the health meters ({@link HealthMetrics}) with the common tags; closed with this hub. */
    public HealthMetrics bindHealth(HealthMonitor monitor) {
        return bind(new HealthMetrics(monitor, tags));
    }

    /**
     * Binds a binder of another module to the registry; an {@link AutoCloseable} binder is closed with this
     * hub. The binder adds the common tags itself (take {@link #tags()} in its constructor).
     *
     * @return the binder
     */
    public <B extends MeterBinder> B bind(B binder) {
        ensureOpen();
        binder.bindTo(registry);
        if (binder instanceof AutoCloseable) {
            closeables.add((AutoCloseable) binder);
        }
        return binder;
    }

    // ------------------------------------------------------------------------------------- helpers

    /** A counter; tags are the spec's keys, the common tags are added. */
    public Counter counter(MeterSpec spec, Iterable<Tag> tags) {
        check(spec, Meter.Type.COUNTER, tags);
        return track(Counter.builder(spec.getName()).description(spec.description()).baseUnit(spec.getBaseUnit())
                .tags(this.tags.and(tags)).register(registry));
    }

    /** A counter that reads a monotonic count from {@code obj} (held weakly). */
    public <T> FunctionCounter functionCounter(MeterSpec spec, T obj, ToDoubleFunction<T> count, Iterable<Tag> tags) {
        check(spec, Meter.Type.COUNTER, tags);
        return track(FunctionCounter.builder(spec.getName(), obj, count).description(spec.description()).baseUnit(spec.getBaseUnit())
                .tags(this.tags.and(tags)).register(registry));
    }

    /** A gauge that reads {@code obj} (held weakly: keep it referenced). */
    public <T> Gauge gauge(MeterSpec spec, T obj, ToDoubleFunction<T> value, Iterable<Tag> tags) {
        check(spec, Meter.Type.GAUGE, tags);
        return track(Gauge.builder(spec.getName(), obj, value).description(spec.description()).baseUnit(spec.getBaseUnit())
                .tags(this.tags.and(tags)).register(registry));
    }

    /** A timer (seconds in Prometheus; the spec's base unit is ignored). */
    public Timer timer(MeterSpec spec, Iterable<Tag> tags) {
        check(spec, Meter.Type.TIMER, tags);
        return track(Timer.builder(spec.getName()).description(spec.description()).tags(this.tags.and(tags)).register(registry));
    }

    /** A distribution summary of amounts in the spec's base unit (for example bytes). */
    public DistributionSummary summary(MeterSpec spec, Iterable<Tag> tags) {
        check(spec, Meter.Type.DISTRIBUTION_SUMMARY, tags);
        return track(DistributionSummary.builder(spec.getName()).description(spec.description()).baseUnit(spec.getBaseUnit())
                .tags(this.tags.and(tags)).register(registry));
    }

    /** Removes a meter registered through this hub (for example when the object it reads goes away). */
    public void remove(Meter meter) {
        if (meters.remove(meter)) {
            registry.remove(meter);
        }
    }

    private <M extends Meter> M track(M meter) {
        meters.add(meter);
        return meter;
    }

    private void check(MeterSpec spec, Meter.Type type, Iterable<Tag> tags) {
        ensureOpen();
        Objects.requireNonNull(spec, "meter spec");
        Objects.requireNonNull(tags, "tags");
        checkName(spec.getName());
        if (spec.getType() != type) {
            throw new IllegalArgumentException("meter " + spec.getName() + " is specified as a " + spec.getType() + ", not a " + type
                    + ": register it with the helper of its type");
        }
        Set<String> want = Arrays.stream(spec.getKeyNames()).map(KeyName::asString).collect(Collectors.toCollection(TreeSet::new));
        Set<String> got = StreamSupport.stream(tags.spliterator(), false).map(Tag::getKey).collect(Collectors.toCollection(TreeSet::new));
        if (!want.equals(got)) {
            throw new IllegalArgumentException("meter " + spec.getName() + " takes the tags " + want + ", got " + got
                    + ": every meter of one name needs the same tag keys (Prometheus rejects the rest)");
        }
    }

    /**
     * Checks a ports meter name: lower case, dot-separated words of letters and digits, starting with
     * {@code ports.}; no unit word (units are base units) and no {@code total}, {@code count}, {@code sum},
     * {@code bucket}, {@code max}, {@code created} or {@code info} at the end (registries add those).
     *
     * @return the name
     * @throws IllegalArgumentException naming the rule broken, with an example
     */
    public static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("meter name '" + name
                    + "' is invalid: expected lower-case dot-separated words starting with 'ports.', for example ports.resolver.cache.hits");
        }
        String[] words = name.split("\\.");
        if (RESERVED_SUFFIXES.contains(words[words.length - 1])) {
            throw new IllegalArgumentException("meter name '" + name + "' ends with '" + words[words.length - 1]
                    + "', which the registries add themselves: drop it");
        }
        for (String w : words) {
            if (UNIT_WORDS.contains(w)) {
                throw new IllegalArgumentException("meter name '" + name + "' names a unit ('" + w
                        + "'): give the base unit in the spec instead, and use seconds and bytes, never milliseconds");
            }
        }
        return name;
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("these ports metrics are closed");
        }
    }

    /**
     * Removes every meter registered through the helpers and closes every closeable binder bound here
     * (which remove their own meters), once. The meter registry itself stays open.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<AutoCloseable> binders = new ArrayList<>(closeables);
        java.util.Collections.reverse(binders);
        for (AutoCloseable c : binders) {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("closing the metrics binder {} failed: {}", c, e.toString());
            }
        }
        for (Meter m : meters) {
            registry.remove(m);
        }
        meters.clear();
        closeables.clear();
    }
}
