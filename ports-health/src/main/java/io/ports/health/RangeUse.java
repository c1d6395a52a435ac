package io.ports.health;

import io.ports.core.PortRange;
import io.ports.core.ServiceType;
import io.ports.core.registry.Allocation;
import io.ports.core.registry.Registry;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One port range of a registry's catalog, the types allocating from it, and how many of its ports live
 * records hold.
 *
 * <p>Counted here rather than taken from {@link Registry#ranges()}: that counts a record once per type
 * whose range contains its port, so ranges shared by several types (the default catalog's DATABASE,
 * CLUSTER, REPLICATION and {@code database}) look several times as full as they are. Here a port counts
 * once, whatever its types and protocols.
 *
 * @param range the range
 * @param types the catalog types whose range it is, in catalog order
 * @param used  ports of the range held by at least one live record
 */
public record RangeUse(PortRange range, List<String> types, int used) {
    public RangeUse {
        Objects.requireNonNull(range, "range");
        types = List.copyOf(types);
    }

    public int size() {
        return range.size();
    }

    /** used / size, 0..1. */
    public double utilization() {
        return (double) used / range.size();
    }

    /** Every distinct range of the registry's catalog, in catalog order, with its use now (one pass over the records). */
    public static List<RangeUse> of(Registry registry) {
        Map<PortRange, List<String>> types = new LinkedHashMap<>();
        for (ServiceType t : registry.catalog().types()) {
            types.computeIfAbsent(t.range(), r -> new ArrayList<>()).add(t.name());
        }
        BitSet live = new BitSet(65536);
        for (Allocation a : registry.live()) {
            live.set(a.port());
        }
        List<RangeUse> out = new ArrayList<>(types.size());
        types.forEach((r, ts) -> out.add(new RangeUse(r, ts, live.get(r.start(), r.end() + 1).cardinality())));
        return out;
    }
}
