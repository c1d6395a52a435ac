package io.ports.health.metrics;

import io.micrometer.common.docs.KeyName;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.docs.MeterDocumentation;

import java.util.Arrays;
import java.util.Objects;

/**
 * A meter's name, type, base unit, description and tag keys, defined once. ports-health's own meters are
 * the constants of {@link PortsMeters}; another module lists its meters the same way, in an enum of its own
 * implementing this interface, and registers them through {@link PortsMetrics}:
 *
 * <pre>{@code
 * public enum ResolverMeters implements MeterSpec {
 *     CACHE_ENTRIES("ports.resolver.cache.entries", Meter.Type.GAUGE, null, "Names in the resolver cache", ResolverKeys.KIND);
 *     ...
 * }
 * }</pre>
 *
 * <p>The rules {@link PortsMetrics#checkName} enforces: lower case, dot separated, starting with
 * {@code ports.}; no unit and no {@code total}/{@code count}/{@code sum}/{@code bucket}/{@code max} in the
 * name (the unit is the base unit, the suffixes are the registry's to add).
 */
public interface MeterSpec extends MeterDocumentation {
    /** One sentence shown as the meter's help text. */
    String description();

    /** An ad-hoc spec, for a meter that does not deserve an enum constant (a test, a tool). */
    static MeterSpec of(String name, Meter.Type type, String baseUnit, String description, String... keys) {
        PortsMetrics.checkName(name);
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(description, "description");
        KeyName[] keyNames = Arrays.stream(keys).map(k -> (KeyName) () -> k).toArray(KeyName[]::new);
        return new MeterSpec() {
            @Override
            public String getName() {
                return name;
            }

            @Override
            public Meter.Type getType() {
                return type;
            }

            @Override
            public String getBaseUnit() {
                return baseUnit;
            }

            @Override
            public KeyName[] getKeyNames() {
                return keyNames.clone();
            }

            @Override
            public String description() {
                return description;
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }
}
