package io.ports.nat;

/** The port-mapping protocols {@link NatTraversal} speaks to a gateway, in the order it prefers them. */
public enum MappingProtocol {
    /** Port Control Protocol, RFC 6887: UDP 5351, version 2. */
    PCP("PCP"),
    /** NAT Port Mapping Protocol, RFC 6886: UDP 5351, version 0. */
    NAT_PMP("NAT-PMP"),
    /** UPnP Internet Gateway Device (v1 or v2): SSDP discovery, then SOAP over HTTP. */
    UPNP("UPnP IGD");

    private final String displayName;

    MappingProtocol(String displayName) {
        this.displayName = displayName;
    }

    /** How people write it: {@code PCP}, {@code NAT-PMP}, {@code UPnP IGD}. */
    public String displayName() {
        return displayName;
    }
}
