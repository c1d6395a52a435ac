/**
 * Benchmarks of the WebSocket tunnel (ports-listener's {@code io.ports.listener.tunnel}) against
 * websockify and direct loopback TCP: throughput, small-message round trips and connection set-up,
 * each over the same echo target. See docs/BENCHMARKS.md, section Tunnel.
 */
package io.ports.bench.tunnel;
