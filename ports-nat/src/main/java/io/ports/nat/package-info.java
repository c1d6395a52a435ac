/**
 * Reachability from outside: {@link io.ports.nat.NatTraversal} opens and renews port mappings on the
 * default gateway through PCP (RFC 6887), NAT-PMP (RFC 6886) or UPnP IGD, probed side by side; the
 * {@link io.ports.nat.NatTraversalException} hierarchy says what failed and what to do. The STUN
 * client lives in {@link io.ports.nat.stun}.
 */
package io.ports.nat;
