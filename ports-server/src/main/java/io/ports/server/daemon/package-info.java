/**
 * The registry daemon: the REST API over the {@link io.ports.core.registry.Registry}, {@code /metrics},
 * the dashboard and its live events, served by Netty HTTP on the shared {@link io.ports.core.EventLoops}.
 * {@link io.ports.server.daemon.Daemon} is the entry point; everything else is package-private.
 */
package io.ports.server.daemon;
