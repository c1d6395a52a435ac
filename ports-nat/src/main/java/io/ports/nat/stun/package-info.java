/**
 * A STUN client (RFC 8489) on the shared event loops: Binding over UDP and TCP, IPv4 and IPv6, the
 * RFC retransmission schedule, failover across servers, requests from a chosen local port, and NAT
 * mapping/filtering behaviour discovery (RFC 5780, or comparing what two servers see).
 */
package io.ports.nat.stun;
