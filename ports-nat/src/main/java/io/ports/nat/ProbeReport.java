package io.ports.nat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What {@link NatTraversal#probe()} found on the gateway.
 *
 * @param gateway    the gateway probed
 * @param source     where the gateway came from: {@code configured}, or the route file and interface
 * @param available  protocols that answered, best first; mappings use the first, then the next on failure
 * @param findings   what each probed protocol found (an external address, or why it is not usable)
 * @param elapsed    how long the probe took
 */
public record ProbeReport(InetAddress gateway, String source, List<MappingProtocol> available,
                          Map<MappingProtocol, String> findings, Duration elapsed) {
    public ProbeReport {
        Objects.requireNonNull(gateway, "gateway");
        Objects.requireNonNull(source, "source");
        available = List.copyOf(available);
        findings = Map.copyOf(findings);
        Objects.requireNonNull(elapsed, "elapsed");
        if (available.isEmpty()) {
            throw new IllegalArgumentException("a probe report lists at least one available protocol");
        }
    }

    /** The protocol new mappings use first. */
    public MappingProtocol preferred() {
        return available.get(0);
    }
}
