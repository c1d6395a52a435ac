/**
 * Internals of ports shared between its modules ({@code /proc} readers, socket binding). Not API:
 * anything here may change without notice.
 */
package io.ports.core.internal;
