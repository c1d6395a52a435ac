/**
 * Micrometer binders for ports: {@link io.ports.health.metrics.PortsMetrics} (the hub other modules register
 * their meters through), {@link io.ports.health.metrics.RegistryMetrics} and
 * {@link io.ports.health.metrics.HealthMetrics}, with every meter name in {@link io.ports.health.metrics.PortsMeters}.
 */
package io.ports.health.metrics;
