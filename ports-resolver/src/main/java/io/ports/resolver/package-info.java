/**
 * Asynchronous DNS resolution for a ports node: A/AAAA, {@code host:port} and SRV lookups on the
 * shared Netty event loops, behind a TTL cache with negative caching, single flight, refresh-ahead
 * and serve-stale, plus RFC 2782 endpoint selection for callers that connect.
 *
 * <p>Start with {@link io.ports.resolver.PortsResolver#builder()}. Everything not public here is an
 * implementation detail.
 */
package io.ports.resolver;
