/**
 * What a database node needs to get a port: {@link io.ports.core.PortAllocator} and its
 * {@link io.ports.core.PortLease}s, the value types ({@link io.ports.core.PortRange},
 * {@link io.ports.core.ServiceType}, {@link io.ports.core.PortRequest}), the reservation layers
 * ({@link io.ports.core.PortReservation} in-process, {@link io.ports.core.HostReservations} host-wide),
 * the {@link io.ports.core.BindProbe}, and the {@link io.ports.core.PortsException} hierarchy.
 */
package io.ports.core;
