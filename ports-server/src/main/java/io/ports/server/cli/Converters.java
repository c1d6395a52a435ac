package io.ports.server.cli;

import io.ports.core.AllocationStrategy;
import io.ports.core.PortRange;
import io.ports.core.PortRequest;
import io.ports.core.Ports;
import io.ports.core.ServiceType;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

import java.time.Duration;
import java.util.function.Function;

/**
 * Converters that let ports-core validate what users type: its {@link IllegalArgumentException}
 * becomes picocli's {@link TypeConversionException} with the same message, which {@link ErrorHandler}
 * prints as it is.
 */
final class Converters {
    private Converters() {
    }

    static <T> T convert(String value, Function<String, T> parser) {
        try {
            return parser.apply(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }

    static final class Port implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            return Converters.convert(value, v -> Ports.parse(v, "port"));
        }
    }

    static final class Range implements ITypeConverter<PortRange> {
        @Override
        public PortRange convert(String value) {
            return Converters.convert(value, PortRange::parse);
        }
    }

    static final class Strategy implements ITypeConverter<AllocationStrategy> {
        @Override
        public AllocationStrategy convert(String value) {
            return Converters.convert(value, AllocationStrategy::parse);
        }
    }

    static final class Hold implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            return Converters.convert(value, Durations::parse);
        }
    }

    /** A whole number of ports, at least 1. */
    static final class Count implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            return Converters.convert(value, v -> {
                int n;
                try {
                    n = Integer.parseInt(v.strip());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("invalid count '" + v + "': expected a whole number of ports, at least 1", e);
                }
                if (n < 1) {
                    throw new IllegalArgumentException("invalid count '" + v + "': at least 1 port must be reserved");
                }
                return n;
            });
        }
    }

    /** A service name as {@link PortRequest} accepts it. */
    static final class Service implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            return Converters.convert(value, v -> PortRequest.builder(v, ServiceType.CUSTOM).build().service());
        }
    }

    /** A service type name as {@link ServiceType} accepts it (whether the daemon knows the type is its to say). */
    static final class TypeName implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            return Converters.convert(value, v -> ServiceType.tcp(v, 0, ServiceType.DYNAMIC_RANGE, "").name());
        }
    }

    /** An allocation id: 1-128 letters, digits, '.', '_', ':' or '-' (the registry's are UUIDs). */
    static final class AllocationId implements ITypeConverter<String> {
        private static final java.util.regex.Pattern ID = java.util.regex.Pattern.compile("[A-Za-z0-9._:-]{1,128}");

        @Override
        public String convert(String value) {
            return Converters.convert(value, v -> {
                if (!ID.matcher(v).matches()) {
                    throw new IllegalArgumentException("invalid allocation id '" + v
                            + "': expected 1-128 letters, digits, '.', '_', ':' or '-', as 'ports list' shows it (a UUID)");
                }
                return v;
            });
        }
    }
}
