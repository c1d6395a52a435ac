/**
 * <em>Internal-use-only</em> helpers shared by the {@code io.ports.nat} packages; not an API, may
 * change without notice.
 */
package io.ports.nat.internal;
