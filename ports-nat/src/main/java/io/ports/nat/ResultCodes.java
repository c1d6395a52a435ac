package io.ports.nat;

/**
 * NAT-PMP (RFC 6886 section 3.5) and PCP (RFC 6887 section 7.4) result codes, UPnP IGD error codes,
 * each with what it means and what to do.
 */
final class ResultCodes {
    private ResultCodes() {
    }

    static String natPmpName(int code) {
        switch (code) {
            case 0: return "SUCCESS";
            case 1: return "UNSUPPORTED_VERSION";
            case 2: return "NOT_AUTHORIZED";
            case 3: return "NETWORK_FAILURE";
            case 4: return "OUT_OF_RESOURCES";
            case 5: return "UNSUPPORTED_OPCODE";
            default: return "UNKNOWN_" + code;
        }
    }

    static String natPmpAdvice(int code) {
        switch (code) {
            case 1: return "the gateway does not speak NAT-PMP version 0";
            case 2: return "the gateway supports NAT-PMP but refuses mappings (disabled by its administrator, or not allowed for this"
                    + " client or port by its rules): enable NAT-PMP port mapping on the router, or open the port by hand";
            case 3: return "the gateway has no working external connection yet (no WAN link or no address from the ISP): retry later";
            case 4: return "the gateway's mapping table is full: close mappings you no longer need, or retry later";
            case 5: return "the gateway does not support this request (some NAT-PMP servers only report the external address)";
            default: return "a result code RFC 6886 does not define: treat it as a refusal";
        }
    }

    static String pcpName(int code) {
        switch (code) {
            case 0: return "SUCCESS";
            case 1: return "UNSUPP_VERSION";
            case 2: return "NOT_AUTHORIZED";
            case 3: return "MALFORMED_REQUEST";
            case 4: return "UNSUPP_OPCODE";
            case 5: return "UNSUPP_OPTION";
            case 6: return "MALFORMED_OPTION";
            case 7: return "NETWORK_FAILURE";
            case 8: return "NO_RESOURCES";
            case 9: return "UNSUPP_PROTOCOL";
            case 10: return "USER_EX_QUOTA";
            case 11: return "CANNOT_PROVIDE_EXTERNAL";
            case 12: return "ADDRESS_MISMATCH";
            case 13: return "EXCESSIVE_REMOTE_PEERS";
            default: return "UNKNOWN_" + code;
        }
    }

    static String pcpAdvice(int code) {
        switch (code) {
            case 1: return "the server speaks another PCP version; NAT-PMP is used when it answers with version 0";
            case 2: return "the gateway's policy does not allow this mapping for this client (or the nonce does not match the"
                    + " mapping's owner): allow it on the router, or open the port by hand";
            case 3: return "the gateway could not parse the request: a client or server bug, please report it";
            case 4: return "the gateway does not support this opcode";
            case 5: return "the gateway does not support an option of the request";
            case 6: return "the gateway found an option of the request malformed";
            case 7: return "the gateway has no working external connection: retry later";
            case 8: return "the gateway cannot create the mapping now (table full, or no usable public address: miniupnpd answers"
                    + " this when its external address is private): retry later or use another protocol";
            case 9: return "the gateway does not support mapping this transport protocol";
            case 10: return "this client exceeded its mapping quota on the gateway: close mappings you no longer need";
            case 11: return "the gateway cannot provide the suggested external port or address: ask without a suggestion";
            case 12: return "the gateway saw another source address than the one in the request: another NAT sits between this"
                    + " host and the PCP server (double NAT), so PCP cannot open a port here";
            case 13: return "too many remote peers for this mapping";
            default: return "a result code RFC 6887 does not define: treat it as a refusal";
        }
    }

    static String upnpName(int code) {
        switch (code) {
            case 401: return "InvalidAction";
            case 402: return "InvalidArgs";
            case 501: return "ActionFailed";
            case 606: return "ActionNotAuthorized";
            case 714: return "NoSuchEntryInArray";
            case 715: return "WildCardNotPermittedInSrcIP";
            case 716: return "WildCardNotPermittedInExtPort";
            case 718: return "ConflictInMappingEntry";
            case 724: return "SamePortValuesRequired";
            case 725: return "OnlyPermanentLeasesSupported";
            case 726: return "RemoteHostOnlySupportsWildcard";
            case 727: return "ExternalPortOnlySupportsWildcard";
            case 728: return "NoPortMapsAvailable";
            case 729: return "ConflictWithOtherMechanisms";
            case 732: return "WildCardNotPermittedInIntPort";
            default: return "UPnPError" + code;
        }
    }

    static String upnpAdvice(int code) {
        switch (code) {
            case 402: return "the gateway rejected an argument (old IGDs reject finite leases this way; retried as permanent)";
            case 501: return "the gateway could not do it (miniupnpd says this when its external address is private): check the router";
            case 606: return "the gateway's rules do not allow this mapping for this client or port: allow it on the router";
            case 714: return "no such mapping on the gateway";
            case 718: return "another client holds this external port: another port was tried";
            case 724: return "the gateway requires the external and internal ports to be equal";
            case 725: return "the gateway only supports permanent leases (retried with lease 0)";
            case 728: return "the gateway's mapping table is full: close mappings you no longer need";
            case 729: return "the port is taken by another mechanism on the gateway (PCP, NAT-PMP or a static rule)";
            default: return "see the UPnP IGD WANIPConnection specification";
        }
    }
}
