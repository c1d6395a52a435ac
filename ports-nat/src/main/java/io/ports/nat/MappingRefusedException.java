package io.ports.nat;

/**
 * The gateway answered a mapping request with an error: a NAT-PMP or PCP result code, or a UPnP
 * error code. {@link #resultCode()} and {@link #resultName()} carry it as the protocol defines it; the
 * message says what it means and what to do.
 */
public class MappingRefusedException extends NatTraversalException {
    private static final long serialVersionUID = 1L;

    private final MappingProtocol protocol;
    private final int resultCode;
    private final String resultName;

    public MappingRefusedException(String message, MappingProtocol protocol, int resultCode, String resultName) {
        super(message);
        this.protocol = protocol;
        this.resultCode = resultCode;
        this.resultName = resultName;
    }

    public MappingProtocol protocol() {
        return protocol;
    }

    /** The NAT-PMP/PCP result code or UPnP error code, for example 8 (PCP NO_RESOURCES) or 718. */
    public int resultCode() {
        return resultCode;
    }

    /** The code's name in its RFC or the IGD specification, for example {@code NO_RESOURCES} or {@code ConflictInMappingEntry}. */
    public String resultName() {
        return resultName;
    }
}
