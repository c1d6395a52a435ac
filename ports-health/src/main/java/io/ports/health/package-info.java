/**
 * Port health for a node: {@link io.ports.health.PortCheck} (is a port bindable, who listens on it),
 * {@link io.ports.health.Reconciler} (the registry against what the kernel shows),
 * {@link io.ports.health.ExhaustionMonitor} (range utilization and time to exhaustion) and
 * {@link io.ports.health.HealthMonitor} (periodic checks on the shared event loops, with history and an
 * overall {@link io.ports.health.Health} status). Micrometer binders live in {@code io.ports.health.metrics}.
 */
package io.ports.health;
