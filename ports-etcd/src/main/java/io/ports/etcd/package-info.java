/** The registry store on etcd: transactions for allocation, leases for heartbeats and expiry, a watch for the shared view, and migration from and to the file store. */
package io.ports.etcd;
